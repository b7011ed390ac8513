"""Benchmarks on one full lab (18 towns, 22 routers, 29 servers, 2 execution nodes), brought up once for all:

provisioning: from bare containers (target < 5 min on 2 cores; each town's servers on its region's
execution node, set up first from the wheelhouse), the idempotent re-run (< 90 s) through the two
nodes beside the same re-run with `--local` (the ratio), `verify` (< 60 s), `verify --isolation`
(every segment of the 18 town halls against every target, every town's certificate against every
tenant: < 60 s); the federation lag of the SLA minutes through `monitor up --regional` (< 60 s);
the fiscal-year hand-over of the 18 towns (handover_full: export, package, deliver, beside pg_dump);
drills: one town's silent primary-circuit cut recovered in under 500 ms (median of 5 drills, BFD),
all 18 towns cut at once recovered in under 1 s at the 95th percentile, DC1 loss: reads served from
DC2 within 10 s, writes within 10 s, no further outage after a town's first recovery (issue 19's
targets), and the committed writes lost (zero is the target with synchronous replication; the
inventory's replication mode is printed beside the figure); point-in-time recovery with the residents
in place (restore_full: one town by the data-destruction drill, the whole cluster); the DC drill
ten times over (dc_soak: the runs that passed clean, target 10 of 10). The DC
drill's probes speak HTTPS with each town's certificate, as the lab's service does (what TLS costs
the probe itself, beside plain HTTP, is tenant_tls's figure).

Brings up its own full lab (prefix `mcb`, like the lab figures), routes it with `net plan` and
`net apply`, then times the commands as an operator runs them, each in its own process, and takes
the lab down at the end, also on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from inventory.check import load_inventory
from inventory.environment import BINDING_ENV_VAR
from inventory.model.environment import EXECUTION_NODE_ROLE
from lab.binding import write_lab_binding
from lab.derive import profile_towns
from monitoring.federation import federation_lags
from monitoring.promapi import PrometheusAPI

from .dc_soak import soak_rows
from .handover_full import handover_rows
from .lab_figures import STATE_DIR, bench_lab, row, topology
from .restore_full import restore_rows

OPS_STATE_DIR = STATE_DIR.with_name(STATE_DIR.name + "-ops")
MONITOR_PORT = 19490  # the regional servers on + 5 and up (monitoring/server.py); apart from the tests' ports
WATCH_S = 150  # two recorded minutes at least
TARGETS = {"provision": 300.0, "rerun": 90.0, "verify": 60.0, "isolation": 60.0}


def municloud(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "municloud.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    return time.monotonic() - started, result


def run() -> list[dict[str, object]]:
    inventory = load_inventory()
    full = topology(inventory, "full")
    nodes = sum(c.role == EXECUTION_NODE_ROLE for c in full.containers)
    shape = f"full: {len(full.routers)} routers, {len(full.containers) - nodes} servers, {nodes} execution nodes"
    shutil.rmtree(OPS_STATE_DIR, ignore_errors=True)
    with bench_lab() as lab:
        lab.up(full)
        binding = STATE_DIR / "binding.yaml"
        write_lab_binding(lab, [t.id for t in profile_towns(inventory, "full")], binding, "full")
        env = {**os.environ, BINDING_ENV_VAR: str(binding), "MUNICLOUD_STATE_DIR": str(OPS_STATE_DIR)}
        _, planned = municloud(env, "net", "plan", "--json")
        if planned.returncode != 0:
            raise RuntimeError(f"net plan failed: {planned.stderr[-1000:]}")
        _, applied = municloud(env, "net", "apply", json.loads(planned.stdout)["path"], "--yes")
        if applied.returncode != 0:
            raise RuntimeError(f"net apply failed: {applied.stdout[-1000:]}")
        nodes_s, nodes = municloud(env, "nodes", "setup")
        if nodes.returncode != 0:
            raise RuntimeError(f"nodes setup failed: {nodes.stdout[-2000:]}{nodes.stderr[-1000:]}")
        first, provisioned = municloud(env, "provision", "--json")
        if provisioned.returncode != 0:
            raise RuntimeError(f"provision failed: {provisioned.stdout[-2000:]}{provisioned.stderr[-1000:]}")
        rerun, again = municloud(env, "provision", "--json")  # through the lab's two execution nodes
        changed = json.loads(again.stdout)["changed"] if again.stdout.strip() else "?"
        local_s, local = municloud(env, "provision", "--json", "--local")  # the same re-run, all from here
        node_runs = json.loads(again.stdout).get("nodes", []) if again.stdout.strip() else []
        verify_s, verified = municloud(env, "verify", "--json")
        checks = json.loads(verified.stdout)["checks"] if verified.stdout.strip() else []
        passed = sum(c["passed"] for c in checks)
        isolation_s, isolated = municloud(env, "verify", "--isolation", "--json", "--out", str(OPS_STATE_DIR / "iso"))
        isolation = json.loads(isolated.stdout) if isolated.stdout.strip() else {"summary": {}}
        federation = federation_row(env, shape)
        handover = handover_rows(inventory, env, shape)  # before the drills: the primary where it was seeded
        drills = drill_rows(env, shape, inventory.datacenters_file.replication.mode)
        restores = restore_rows(inventory, env, shape, _drill, municloud)
        soak = soak_rows(env, shape, _drill)
    return [
        row("provision full lab from bare", "< 5 min", f"{first:.0f} s", first < TARGETS["provision"], shape),
        row(
            "provision re-run (idempotent)",
            "< 90 s",
            f"{rerun:.0f} s, changed={changed}",
            rerun < TARGETS["rerun"] and again.returncode == 0 and changed == 0,
            shape,
        ),
        row(
            "provision re-run through 2 execution nodes / local re-run",
            "ratio, printed",
            f"{rerun:.0f} s / {local_s:.0f} s = {rerun / local_s:.2f} ("
            + ", ".join(f"{n['node']}: {len(n['towns'])} towns {n['seconds']:.0f} s" for n in node_runs)
            + f"; nodes setup {nodes_s:.0f} s)",
            again.returncode == 0 and local.returncode == 0 and len(node_runs) == 2,
            shape,
        ),
        row(
            "verify full lab",
            "< 60 s",
            f"{verify_s:.0f} s, {passed}/{len(checks)} checks passed",
            verify_s < TARGETS["verify"] and verified.returncode == 0,
            shape,
        ),
        row(
            "verify --isolation full lab (every segment, every tenant)",
            "< 60 s, as the policy",
            f"{isolation_s:.0f} s, {isolation['summary'].get('probes', '?')} probes, "
            f"{isolation['summary'].get('tenant_requests', '?')} tenant requests, "
            f"{'as the policy' if isolated.returncode == 0 else 'DEVIATIONS'}",
            isolation_s < TARGETS["isolation"] and isolated.returncode == 0,
            shape,
        ),
        federation,
        *handover,
        *drills,
        *restores,
        *soak,
    ]


def federation_row(env: dict[str, str], shape: str) -> dict[str, object]:
    """`monitor up --regional` on the provisioned lab: how long after its timestamp each recorded SLA
    minute reaches the global view (monitoring/federation.py), over the minutes of WATCH_S; the
    monitoring stopped again before the drills (their CPU figures are measured without it)."""
    ports = ["--port", str(MONITOR_PORT), "--wan-port", str(MONITOR_PORT + 1)]
    ports += ["--alertmanager-port", str(MONITOR_PORT + 2), "--mail-port", str(MONITOR_PORT + 3)]
    try:
        _, up = municloud(env, "monitor", "up", "--regional", *ports)
        if up.returncode != 0:
            raise RuntimeError(f"monitor up --regional failed: {up.stdout[-1000:]}{up.stderr[-1000:]}")
        deadline = time.monotonic() + 180
        while municloud(env, "monitor", "status", "--json")[1].returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("monitoring not healthy 180 s after monitor up --regional")
            time.sleep(5)
        lags = federation_lags(PrometheusAPI(f"http://127.0.0.1:{MONITOR_PORT}"), WATCH_S)
    finally:
        municloud(env, "monitor", "down")
    measured = f"{min(lags):.1f}-{max(lags):.1f} s over {len(lags)} minutes" if lags else "no minute federated"
    return row("federation lag of a recorded SLA minute", "< 60 s", measured, bool(lags) and max(lags) < 60, shape)


def _drill(env: dict[str, str], name: str, *args: str) -> dict:
    _, result = municloud(env, "drill", "run", name, "--json", *args)
    if not result.stdout.strip():
        raise RuntimeError(f"drill {name} failed to run: {result.stderr[-1000:]}")
    return json.loads(result.stdout)


def drill_rows(env: dict[str, str], shape: str, replication: str) -> list[dict[str, object]]:
    one = [_drill(env, "wan-primary-circuit-loss", "--town", "ina")["outage_ms_by_town"]["ina"] for _ in range(5)]
    one_ms = [ms for ms in one if ms is not None]
    median = statistics.median(one_ms) if one_ms else None
    everyone = _drill(env, "wan-primary-circuit-loss")
    p95 = everyone["outage_ms_p95"]
    dc = _drill(env, "dc-site-loss")
    reads_ms = max((ms for ms in dc["outage_ms_by_town"].values() if ms is not None), default=None)
    rpo = dc["rpo"] or {}
    writes_ms = rpo.get("writes_refused_ms")
    further = dc.get("further_outages_by_town") or {}
    return [
        row(
            "one town's primary circuit cut: recovery (median of 5)",
            "< 500 ms",
            f"{median:.0f} ms (runs: {', '.join(f'{m:.0f}' for m in one_ms)})"
            if median is not None
            else "no outage measured",
            median is not None and median < 500,
            shape,
        ),
        row(
            "all 18 towns' primary circuits cut at once: recovery p95",
            "< 1 s",
            f"{p95:.0f} ms (median {everyone['outage_ms_median']:.0f} ms)" if p95 is not None else "no outage measured",
            p95 is not None and p95 < 1000,
            shape,
        ),
        row(
            "DC1 loss: reads served from DC2",
            "< 10 s",
            f"{reads_ms / 1000:.1f} s (worst town)" if reads_ms is not None else "no outage measured",
            reads_ms is not None and reads_ms < 10_000,
            shape,
        ),
        row(
            "DC1 loss: writes accepted again (promotion)",
            "< 10 s",
            f"{writes_ms / 1000:.1f} s" if writes_ms is not None else "not measured",
            writes_ms is not None and writes_ms < 10_000,
            shape,
        ),
        row(
            "DC1 loss: further outages after a town's first recovery",
            "0",
            f"{sum(further.values())} in all, at most {max(further.values(), default=0)} per town; {dc['verdict']}",
            bool(further) and sum(further.values()) == 0,
            shape,
        ),
        row(
            f"DC1 loss: committed writes lost ({replication} replication)",
            "0 with synchronous replication",
            f"{rpo.get('writes_lost', '?')} of {rpo.get('writes_acked', '?')} (span {rpo.get('lost_span_ms', '?')} ms)",
            rpo.get("writes_lost") == 0,
            shape,
        ),
    ]
