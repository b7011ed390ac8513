"""The drills' activities: Chaos Toolkit python providers named by the scenario files' `do:`.
Each acts on the running drill (`drill.current()`); a failure raises, which fails the step and
sends the drill to its rollbacks."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from provisioning.db_state import primary_site
from provisioning.failover import failback, failover
from provisioning.restore import Restorer, jst_text, psql_command, schema_of
from provisioning.runner import Events

from .drill import current
from .probes import SERVICE_PORT

# ---- faults and their restoration (the lab's fault API) ------------------------------------------------


def _circuit_link(town: str, circuit: str) -> str:
    links = current().binding.plan.towns[town]
    if circuit not in ("primary", "backup"):
        raise ValueError(f"circuit must be primary or backup, not '{circuit}'")
    return (links.primary if circuit == "primary" else links.backup).name


def cut_circuits(circuit: str = "primary", silent: bool = True) -> list[str]:
    """Cut the `circuit` of every selected town: silently (the link stays up: BFD must notice)."""
    drill = current()
    lab = drill.need_lab()
    done = []
    for town in drill.selected:
        link = _circuit_link(town, circuit)
        drill.faulted([town])  # the moment of injection: the outage can start as the rule lands
        lab.fault_cut_link(link, hard=not silent)
        done.append(link)
    return done


def restore_circuits(circuit: str = "primary") -> list[str]:
    lab = current().need_lab()
    links = [_circuit_link(town, circuit) for town in current().selected]
    for link in links:
        lab.restore_link(link)
    return links


def _edge_router(edge: str) -> str:
    drill = current()
    for e in drill.inventory.wan.carrier.edges:
        if e.id == edge or e.name == edge:
            return e.name
    raise ValueError(f"no carrier edge '{edge}' in wan.yaml")


def stop_carrier_edge(edge: str = "pe1") -> str:
    drill = current()
    router = _edge_router(edge)
    drill.faulted(drill.towns)
    drill.need_lab().fault_stop_router(router)
    return router


def start_carrier_edge(edge: str = "pe1") -> str:
    router = _edge_router(edge)
    current().need_lab().fault_start_router(router)
    return router


def _site_links(site: str, part: str) -> list[str]:
    """The links joining `site` to the rest: `interconnect` (to the other DC), `wan` (to the
    carrier) or `all`."""
    topology = current().need_lab().topology()
    if topology is None:
        raise RuntimeError("the lab has no topology: is it up?")
    links = topology.links_of_site(site)
    if not links:
        raise ValueError(f"site '{site}' has no links in the lab")
    chosen = [lk.name for lk in links if part == "all" or (lk.kind == "interconnect") == (part == "interconnect")]
    if part not in ("all", "interconnect", "wan"):
        raise ValueError(f"part must be all, interconnect or wan, not '{part}'")
    return chosen


def isolate_site(site: str = "dc1") -> list[str]:
    """Cut every link of the site silently, each its own fault, so that the way back can restore
    the interconnect first and the WAN last (a recovered site stays drained until it is ready)."""
    drill = current()
    links = _site_links(site, "all")
    drill.faulted(drill.towns)
    for link in links:
        drill.need_lab().fault_cut_link(link)
    return links


def restore_site(site: str = "dc1", part: str = "all") -> list[str]:
    links = _site_links(site, part)
    for link in links:
        current().need_lab().restore_link(link)
    return links


def _town_servers(role: str) -> list[str]:
    drill = current()
    return [h.name for h in drill.binding.servers() if h.town in drill.selected and h.role == role]


def stop_town_servers(role: str = "probe") -> list[str]:
    drill = current()
    names = _town_servers(role)
    drill.faulted(drill.selected)
    for name in names:
        drill.need_lab().fault_stop_container(name)
    return names


def start_town_servers(role: str = "probe") -> list[str]:
    names = _town_servers(role)
    for name in names:
        current().need_lab().fault_start_container(name)
    return names


def heal() -> int:
    """Every fault of the lab removed (the rollbacks' safety net)."""
    drill = current()
    return len(drill.lab.heal()) if drill.lab is not None else 0


# ---- the database between the data centers ---------------------------------------------------------------


def db_failover(to: str = "dc2") -> str:
    """The failover, with where its time went: the promotion (one SSH round trip; writes are
    accepted when it returns) and the playbook after it (Ansible's start-up, the app servers'
    configuration, the new primary's full settings)."""
    drill = current()
    began = time.time()
    plays: list[float] = []
    result = failover(
        drill.inventory, drill.binding, to, Events(play_started=lambda _name, _hosts: plays.append(time.time()))
    )
    ended = time.time()
    if not result.ok:
        failures = [f"{f.host}: {f.task}: {f.message}" for f in result.playbook.failures]
        raise RuntimeError(f"dc_failover.yml failed: {failures}")
    if result.promoted_after is None:
        why = result.promotion_error
        return (
            f"primary in {to} after {ended - began:.1f} s; the direct promotion failed ({why}), the playbook promoted"
        )
    timings = f"primary in {to}: writes accepted after {result.promoted_after:.1f} s (the promotion)"
    if plays:
        playbook_began = began + result.promoted_after
        timings += (
            f", then the playbook {ended - playbook_began:.1f} s (ansible start-up {plays[0] - playbook_began:.1f} s, "
            f"configuration and settings {ended - plays[0]:.1f} s)"
        )
    return timings


def db_failback(to: str = "dc1") -> str:
    drill = current()
    try:
        result = failback(drill.inventory, drill.binding, to)
    except ValueError:  # failback() refuses when the primary is already there: nothing to roll back
        return f"primary already in {to}"
    if not result.ok:
        raise RuntimeError(f"dc_failback.yml failed: {[f'{f.host}: {f.task}: {f.message}' for f in result.failures]}")
    return f"primary back in {to} after {result.seconds:.1f} s"


# ---- waiting and checking --------------------------------------------------------------------------------


def wait(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def await_recovery(timeout_seconds: float = 10, stable_seconds: float = 0.5, since: str = "fault") -> dict[str, float]:
    """Wait until every affected town's probes have been good for `stable_seconds`, counted after
    the fault (`since: fault`, the recovery from it) or after this step began (`since: now`, steady
    again after a restoration); fail naming the towns still out after `timeout_seconds`."""
    drill = current()
    if since not in ("fault", "now"):
        raise ValueError(f"since must be fault or now, not '{since}'")
    began = time.time()
    deadline = began + timeout_seconds
    while True:
        drill.refresh()
        now = time.time()
        out = [
            t
            for t in drill.affected
            if not drill.streams[t].good_since(
                stable_seconds, now, after=began if since == "now" else drill.fault_at.get(t)
            )
        ]
        if not out:
            return {t: drill.streams[t].failing_for(now) for t in drill.affected}
        if now > deadline:
            raise RuntimeError(f"no steady service after {timeout_seconds:.0f} s from: {', '.join(out)}")
        time.sleep(0.05)


def await_probe_gap(timeout_seconds: float = 10) -> dict[str, str]:
    """The selected towns' probe exporters stop answering (a gap in the SLA data) while the towns'
    own fast probes keep reaching every system (the business systems are not out)."""
    drill = current()
    hosts = [h for h in drill.binding.servers() if h.town in drill.selected and h.role == "probe"]
    deadline = time.time() + timeout_seconds
    silent: dict[str, str] = {}
    while time.time() < deadline and len(silent) < len(hosts):
        for h in hosts:
            try:
                urllib.request.urlopen(f"http://{h.mgmt_address}:9469/metrics", timeout=0.5).read()
            except OSError as error:
                silent[h.name] = type(error).__name__
        time.sleep(0.2)
    missing = [h.name for h in hosts if h.name not in silent]
    if missing:
        raise RuntimeError(f"the probe exporters of {missing} still answer: no gap")
    drill.refresh()
    out = [t for t in drill.selected if drill.streams[t].failing_for(time.time()) > 0]
    if out:
        raise RuntimeError(f"the business systems are out for {out}: a server loss must not take them down")
    return silent


def measure_rpo(site: str = "dc2") -> dict[str, object]:
    """After the promotion: which heartbeat writes the towns saw committed are missing from the new
    primary (read through `site`'s app server from the operations center)."""
    drill = current()
    app = next(h for h in drill.binding.servers() if h.site == site and h.role == "app")
    cut = drill.first_fault_at or time.time()
    drill.refresh()
    by_town: dict[str, dict[str, int]] = {}
    lost_at: list[float] = []
    sent = acked = 0
    operations = drill.operations_tls()  # read once, not per town
    for town, stream in drill.writes.items():
        acks = {int(s.detail): s.at for s in stream.samples if s.ok and s.detail.isdigit()}
        sent += len(stream.samples)
        acked += len(acks)
        if not acks:
            by_town[town] = {"acked": 0, "lost": 0}
            continue
        with urllib.request.urlopen(
            f"https://{app.mgmt_address}:{SERVICE_PORT}/writes/{town}/ids?since={min(acks) - 1}",
            timeout=10,
            context=operations,
        ) as answer:
            present = set(json.loads(answer.read())["ids"])
        lost = [i for i in acks if i not in present]
        lost_at += [acks[i] for i in lost]
        by_town[town] = {"acked": len(acks), "lost": len(lost)}
    refused = max(
        [(o.ms or (time.time() - o.start) * 1000) for s in drill.writes.values() for o in s.outages(cut)] or [0.0]
    )
    drill.rpo = {
        "writes_sent": sent,
        "writes_acked": acked,
        "writes_lost": len(lost_at),
        "lost_span_ms": round((max(lost_at) - min(lost_at)) * 1000, 1) if lost_at else 0.0,
        "writes_refused_ms": round(refused, 1),
        "by_town": by_town,
    }
    return drill.rpo


def manual(instruction: str) -> str:
    """A step a person performs in production (call the carrier, confirm on site). In the lab it is
    recorded as simulated; in production the operator confirms it at the terminal."""
    drill = current()
    if drill.lab is not None:
        return f"simulated in the lab: {instruction}"
    sys.stderr.write(f"\nMANUAL STEP ({drill.operator}): {instruction}\nPress Enter when done... ")
    sys.stderr.flush()
    sys.stdin.readline()
    return f"confirmed by {drill.operator}: {instruction}"


# ---- steady-state probes ---------------------------------------------------------------------------------

_REACH_SCRIPT = r"""
import http.client, sys, time
from urllib.parse import urlsplit
from bcp_drills.fastprobe import client_context
base, town, systems, ca, cert = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5]
target = urlsplit(base)
tls = client_context(ca, cert)
connection = None
bad = []
for s in systems:
    # one kept-alive connection for the town's systems (a TLS handshake per request, 18 towns at once,
    # starved the service); a broken one is replaced and the request tried once more, as is an answer
    # lost to a route moving
    for attempt in (1, 2):
        try:
            if connection is None:
                connection = http.client.HTTPSConnection(target.hostname, target.port, timeout=5, context=tls)
            connection.request("GET", f"/health/{town}/{s}")
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                bad.append(f"{s}: HTTP {answer.status}")
            break
        except Exception as e:
            connection.close()
            connection = None
            if attempt == 2:
                bad.append(f"{s}: {e}")
            time.sleep(0.5)
print("\n".join(bad))
"""


def every_town_reaches_every_system() -> bool:
    """From every town of the drill (its client segment), every system it subscribes answers."""
    drill = current()
    base = f"https://{drill.binding.plan.service_address}:{SERVICE_PORT}"

    def town_ok(town: str) -> str:
        netns = drill.binding.clients[f"{town}-pcs"].netns
        systems = ",".join(s.id for s in drill.inventory.subscribed_systems(drill.inventory.town(town)))
        ca, cert = drill.town_tls(town)
        proc = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                netns,
                sys.executable,
                "-c",
                _REACH_SCRIPT,
                base,
                town,
                systems,
                str(ca),
                str(cert),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.stdout.strip() if proc.returncode == 0 else (proc.stderr.strip() or "probe failed")

    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = dict(zip(drill.towns, pool.map(town_ok, drill.towns), strict=True))
    failing = {t: p for t, p in problems.items() if p}
    for town, problem in failing.items():
        drill.observe(f"steady state: {town} does not reach every system: {problem.splitlines()[0]}")
    return not failing


def replication_streaming() -> bool:
    """The database primary streams to its standby (as `municloud verify` checks it)."""
    drill = current()
    site = primary_site(drill.inventory, drill.binding.name).site
    primary = next(h for h in drill.binding.servers() if h.site == site and h.role == "db")
    key = ["-i", str(drill.binding.key_file)] if drill.binding.key_file else []
    known = (
        ["-o", f"UserKnownHostsFile={drill.binding.known_hosts}", "-o", "StrictHostKeyChecking=yes"]
        if drill.binding.known_hosts
        else []
    )
    proc = subprocess.run(
        [
            "ssh",
            *key,
            *known,
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            f"{primary.ssh_user}@{primary.mgmt_address}",
            'cd / && runuser -u postgres -- psql -XtAc "SELECT state FROM pg_stat_replication"',
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    ok = proc.returncode == 0 and "streaming" in proc.stdout.split()
    if not ok:
        why = proc.stdout.strip() or proc.stderr.strip()
        drill.observe(f"steady state: replication from {primary.name} is not streaming ({why})")
    return ok


def no_fault_in_force() -> bool:
    drill = current()
    faults = drill.lab.faults() if drill.lab is not None else []
    if faults:
        drill.observe(f"steady state: faults in force: {[f['id'] for f in faults]}")
    return not faults


# ---- the town's data destroyed, and restored from the WAL archive ----------------------------------------

DESTRUCTIONS = {
    # every table of the town's schema dropped (the schema left empty)
    "drop": "DO $$ DECLARE t record; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '{s}' "
    "LOOP EXECUTE format('DROP TABLE %I.%I CASCADE', '{s}', t.tablename); END LOOP; END $$;",
    # every table of the town's schema emptied (what an encrypting attacker leaves is as useless)
    "truncate": "DO $$ DECLARE t record; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '{s}' "
    "LOOP EXECUTE format('TRUNCATE %I.%I CASCADE', '{s}', t.tablename); END LOOP; END $$;",
}


def _the_town() -> str:
    drill = current()
    if len(drill.selected) != 1:
        raise ValueError(f"this step acts on one town's data, not on {len(drill.selected)}: choose it with --town")
    return drill.selected[0]


def _restorer() -> Restorer:
    drill = current()
    return Restorer(drill.inventory, drill.binding, drill.out_dir / "restore")


def destroy_town_data(how: str = "drop") -> str:
    """The town's tables dropped or emptied on the primary, in one statement, while the probes and
    the heartbeat writes run (what ransomware or a wrong migration does)."""
    if how not in DESTRUCTIONS:
        raise ValueError(f"how must be one of {', '.join(DESTRUCTIONS)}, not '{how}'")
    drill = current()
    town = _the_town()
    restorer = _restorer()
    drill.faulted([town])
    drill.incident_at = time.time()
    restorer.sql(DESTRUCTIONS[how].format(s=schema_of(town)))
    tables = restorer.sql(f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema_of(town)}'")
    return f"{schema_of(town)} on {restorer.primary.name}: {how} ({tables} table(s) left)"


def await_damage_on_standby(timeout_seconds: float = 10) -> str:
    """The damage is on the standby too (streaming replication copies it): replication is no
    backup. Fails if the standby still holds the town's heartbeat rows after `timeout_seconds`."""
    drill = current()
    restorer = _restorer()
    if restorer.standby is None:
        raise RuntimeError("no standby to look at: the primary has no partner site in this binding")
    table = f"{schema_of(_the_town())}.writes"
    deadline = time.time() + timeout_seconds
    while True:
        rows = restorer.standby.run(psql_command(), "psql on the standby", input=f"SELECT to_regclass('{table}')")
        if rows.strip():  # the table is there: is it emptied?
            rows = restorer.standby.run(psql_command(), "psql on the standby", input=f"SELECT count(*) FROM {table}")
        if rows.strip() in ("", "0"):
            after = time.time() - (drill.incident_at or 0)
            return f"the standby ({restorer.standby.name}) holds the damage {after:.1f} s after it"
        if time.time() > deadline:
            raise RuntimeError(f"the standby still holds {rows} heartbeat row(s) after {timeout_seconds:.0f} s")
        time.sleep(0.2)


def restore_town_before_incident(margin_seconds: float = 1.0) -> str:
    """Point-in-time recovery of the town's schema to `margin_seconds` before the damage, from the
    primary site's repository; the other towns are not touched. Also the drill's rollback: it does
    nothing when no data was destroyed or the method restored it already."""
    drill = current()
    if drill.incident_at is None:
        return "nothing to restore: no town's data was destroyed"
    if drill.restore is not None:
        return f"already restored to {jst_text(dt.datetime.fromtimestamp(drill.restore['restore_point'], dt.UTC))}"
    target = dt.datetime.fromtimestamp(drill.incident_at - margin_seconds, dt.UTC)
    result = _restorer().restore_town(_the_town(), target)
    drill.restore = {
        "town": result.scope,
        "restore_point": result.target.timestamp(),
        "repository": result.repo,
        "repository_site": result.site,
        "available_from": result.window.earliest.timestamp(),
        "damaged_schema_kept_as": result.damaged_schema,
        "seconds": round(result.seconds, 1),
        "steps": [{"step": s, "seconds": round(t, 1)} for s, t in result.steps],
    }
    return (
        f"{result.scope} restored to {jst_text(result.target)} in {result.seconds:.1f} s "
        f"(the damaged schema kept as {result.damaged_schema})"
    )


def measure_restore_rpo() -> dict[str, object]:
    """After the restore: which heartbeat writes the town saw committed before the damage are in its
    restored schema. RPO: from the damage back to the newest of them that survived."""
    drill = current()
    if drill.incident_at is None:
        raise RuntimeError("no incident recorded: destroy_town_data did not run")
    town = _the_town()
    app = next(
        h
        for h in drill.binding.servers()
        if h.site == primary_site(drill.inventory, drill.binding.name).site and h.role == "app"
    )
    drill.refresh()
    stream = drill.writes[town]
    acks = {int(s.detail): s.at for s in stream.samples if s.ok and s.detail.isdigit() and s.at < drill.incident_at}
    with urllib.request.urlopen(
        f"https://{app.mgmt_address}:{SERVICE_PORT}/writes/{town}/ids?since={min(acks, default=1) - 1}",
        timeout=10,
        context=drill.operations_tls(),
    ) as answer:
        present = set(json.loads(answer.read())["ids"])
    kept = [at for i, at in acks.items() if i in present]
    lost = [i for i in acks if i not in present]
    rpo_ms = (drill.incident_at - max(kept)) * 1000 if kept else None
    refused = max([(o.ms or (time.time() - o.start) * 1000) for o in stream.outages(drill.incident_at)] or [0.0])
    drill.rpo = {
        "writes_sent": len(stream.samples),
        "writes_acked": len(acks),
        "writes_lost": len(lost),
        # here the span is the RPO itself: the damage back to the newest write the restore kept
        "lost_span_ms": round(rpo_ms, 1) if rpo_ms is not None else None,
        "writes_refused_ms": round(refused, 1),
        "by_town": {town: {"acked": len(acks), "lost": len(lost)}},
        "restore": drill.restore,
    }
    if rpo_ms is None:
        raise RuntimeError(f"none of {town}'s {len(acks)} acknowledged writes before the damage came back")
    return drill.rpo
