"""The demo: the whole shared cloud deployed, measured, drilled and reported on this machine.

The chain an operator would run by hand, stage by stage, each stage the real command in its own
process (so the demo proves the commands, not a private shortcut):

  1. lab        the lab of the chosen profile (built, or repaired when it is already up)
  2. deploy     `municloud deploy --yes --all-towns`: network, provisioning, verification, isolation
  3. monitor    `municloud monitor up`, then every scrape target healthy
  4. drills     `municloud drill run` wan-primary-circuit-loss (every town), carrier-edge-loss,
                dc-site-loss (with its fail-back), while the probes run
  5. reports    the SLA report of the demo's period (every minute counted, the drills in it), the
                drills' reports and the annual report, network compliance, cost allocation
  6. handover   every town's residents exported in the hand-over layouts (one snapshot each),
                packaged encrypted to the town's key with its 納品書, delivered over SFTP to each
                town's server with the 年度末データ納品報告書 written, one package verified

A stage that fails stops the chain with the stage and the failing nodes named; the lab is left as it
is (`municloud lab status` explains it, `municloud lab down` removes it). The commands' progress
goes to the terminal as they run (their stderr); their results come back as JSON (their stdout),
kept in the demo's folder with a log of every command.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inventory.environment import BINDING_ENV_VAR
from inventory.model.environment import EXECUTION_NODE_ROLE
from lab.binding import write_lab_binding
from lab.engine import Lab
from lab.topology import Topology
from monitoring.alerting import DRILL_NOTICE
from monitoring.mail_templates import alert_texts
from monitoring.mailbox import MAIL_PORT
from monitoring.server import ALERTMANAGER_PORT

DRILLS = ("wan-primary-circuit-loss", "carrier-edge-loss", "dc-site-loss")
NODES_UP_TIMEOUT_S = 60  # every node answering after `lab up` (sshd banners on a loaded machine)
TARGETS_TIMEOUT_S = 180  # every scrape target up after `monitor up` (a new target waits for its first scrape)
RULE_SETTLE_S = 5  # after a minute ends, its recorded sample is there within this (rules run on the minute)


class DemoFailed(Exception):
    """A stage failed: `stage` and the `failing` nodes (routers, hosts, towns, targets) name where."""

    def __init__(self, stage: str, detail: str, failing: Sequence[str] = ()) -> None:
        self.stage = stage
        self.detail = detail
        self.failing = list(failing)
        where = f" (failing: {', '.join(self.failing)})" if self.failing else ""
        super().__init__(f"stage '{stage}' failed: {detail}{where}")


@dataclass
class DemoTarget:
    """Where the demo runs: a lab (engine, topology), the binding the commands reach it through, the
    state directory they keep their records in, and the monitoring ports."""

    lab: Lab
    topology: Topology
    towns: list[str]
    binding_path: Path
    state_dir: Path
    prometheus_port: int = 9090
    wan_port: int = 9091
    alertmanager_port: int = ALERTMANAGER_PORT
    mail_port: int = MAIL_PORT
    # a progress display for `lab up`: a context yielding update(what, done, total), or None for none
    lab_progress: Callable[[], AbstractContextManager[Callable[[str, int, int], None] | None]] = nullcontext

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            BINDING_ENV_VAR: str(self.binding_path),
            "MUNICLOUD_STATE_DIR": str(self.state_dir),
            "COLUMNS": os.environ.get("COLUMNS", "160"),
        }


@dataclass
class StageRecord:
    key: str
    title: str
    seconds: float
    summary: str


@dataclass
class Report:
    what: str
    files: dict[str, str]  # format (html, pdf, json, csv) -> path


@dataclass
class DemoResult:
    profile: str
    started: str
    ended: str = ""
    stages: list[StageRecord] = field(default_factory=list)
    figures: list[dict[str, str]] = field(default_factory=list)  # figure, measured
    reports: list[Report] = field(default_factory=list)
    prometheus: str = ""
    sla_period: tuple[str, str] | None = None
    journals: dict[str, str] = field(default_factory=dict)
    # the alert e-mails sent from the drills' start to the reports' end: how many, the drills' own
    # notices among them, the subjects of any other, and the command that shows them
    alert_mail: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 1)}


Announce = Callable[[str], None]


class Demo:
    """Runs the chain on `target`, writing everything under `out_dir`; `announce` tells the operator
    what starts (the commands' own progress bars follow on the terminal)."""

    def __init__(self, target: DemoTarget, profile: str, out_dir: Path, announce: Announce) -> None:
        self.target = target
        self.profile = profile
        self.out = out_dir
        self.announce = announce
        self.result = DemoResult(profile=profile, started=_now_iso())
        self.log = out_dir / "demo.log"
        self._drill_results: dict[str, dict[str, Any]] = {}
        self._measuring_since: datetime | None = None
        self._drills_started: datetime | None = None

    # ---- running the real commands -------------------------------------------------------------------
    def cli(self, stage: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """`municloud ARGS` in its own process: stderr (progress) to the terminal, stdout kept and logged."""
        command = [sys.executable, "-m", "municloud.cli.main", *args]
        started = time.monotonic()
        try:
            result = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                text=True,
                env=self.target.environ(),
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            raise DemoFailed(stage, f"`municloud {shlex.join(args)}` did not finish in {timeout:.0f} s") from error
        with self.log.open("a", encoding="utf-8") as log:
            log.write(
                f"\n$ municloud {shlex.join(args)}   # exit {result.returncode}, "
                f"{time.monotonic() - started:.1f} s\n{result.stdout}"
            )
        return result

    def cli_json(self, stage: str, *args: str, ok_codes: tuple[int, ...] = (0,)) -> Any:
        result = self.cli(stage, *args)
        try:
            data = json.loads(result.stdout) if result.stdout.strip() else None
        except json.JSONDecodeError:
            data = None
        if result.returncode not in ok_codes or data is None:
            raise DemoFailed(
                stage,
                f"`municloud {shlex.join(args)}` exited {result.returncode}"
                + ("" if data is not None else " without its JSON result")
                + f" (its output: {self.log})",
                _failing_nodes(data),
            )
        return data

    # ---- the chain -------------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        self.out.mkdir(parents=True, exist_ok=True)
        self.log.write_text(f"municloud demo, profile {self.profile}, started {self.result.started}\n")
        stages: list[tuple[str, str, Callable[[], str]]] = [
            ("lab", f"lab up --profile {self.profile}", self.stage_lab),
            ("deploy", "deploy: network, provisioning, verification, isolation", self.stage_deploy),
            ("monitor", "monitor up: Prometheus scraping every town's probes", self.stage_monitor),
            ("drills", f"BCP drills: {', '.join(DRILLS)}", self.stage_drills),
            ("reports", "reports: SLA, drills, network compliance, cost allocation", self.stage_reports),
            ("handover", "fiscal-year hand-over: export, package, deliver and its report, verify", self.stage_handover),
        ]
        key = stages[0][0]
        try:
            for number, (key, title, stage) in enumerate(stages, 1):
                self.announce(f"[{number}/{len(stages)}] {title}")
                started = time.monotonic()
                summary = stage()
                self.result.stages.append(StageRecord(key, title, time.monotonic() - started, summary))
        except DemoFailed as failure:
            self.result.failure = {"stage": failure.stage, "detail": failure.detail, "failing": failure.failing}
            raise
        except KeyboardInterrupt:  # Ctrl-C: a running drill rolls itself back (it got the signal too)
            self.result.failure = {"stage": key, "detail": "interrupted (Ctrl-C)", "failing": []}
            raise
        finally:
            self.result.ended = _now_iso()
            (self.out / "demo-summary.json").write_text(
                json.dumps(self.result.to_json(), ensure_ascii=False, indent=2, default=str) + "\n"
            )
        return self.result

    def stage_lab(self) -> str:
        from lab.util import LabError  # the engine's own error: the node it names is the failing one

        try:
            with self.target.lab_progress() as progress:
                self.target.lab.up(self.target.topology, progress=progress)
        except LabError as error:
            raise DemoFailed("lab", str(error), _down_nodes(self.target.lab)) from error
        # every later command reaches the lab through this binding (addresses, keys, host keys)
        write_lab_binding(self.target.lab, self.target.towns, self.target.binding_path, self.profile)
        # `lab up` returns when every node was built; a server's sshd may still be starting (status asks
        # for its banner with a short timeout), so a node counts as down only if it stays down a while
        deadline = time.monotonic() + NODES_UP_TIMEOUT_S
        while (down := _down_nodes(self.target.lab)) and time.monotonic() < deadline:
            time.sleep(2)
        if down:
            raise DemoFailed("lab", f"nodes not up {NODES_UP_TIMEOUT_S} s after `lab up`", down)
        t = self.target.topology
        nodes = [c for c in t.containers if c.role == EXECUTION_NODE_ROLE]
        return (
            f"{len(self.target.towns)} towns, {len(t.routers)} routers, {len(t.containers) - len(nodes)} servers, "
            f"{len(nodes)} execution nodes"
        )

    def stage_deploy(self) -> str:
        # every town the lab has, the planned one too: the demo rehearses the whole cloud, and
        # monitoring and the SLA report cover every town of the environment
        # the lab's execution nodes first: the deploy provisions each town's servers on its node
        nodes = self.cli("nodes", "nodes", "setup")
        if nodes.returncode != 0:
            raise DemoFailed("deploy/nodes", f"`municloud nodes setup` exited {nodes.returncode} (see {self.log})")
        result = self.cli("deploy", "deploy", "--yes", "--all-towns", "--json")
        data = _json_or_none(result.stdout)
        if result.returncode != 0 or data is None or not data.get("ok"):
            stages = (data or {}).get("stages", [])
            bad = next((s for s in stages if not s.get("ok")), None)
            if bad is None:
                raise DemoFailed("deploy", f"`municloud deploy` exited {result.returncode} (see {self.log})")
            raise DemoFailed(f"deploy/{bad['stage']}", bad.get("summary", ""), bad.get("failing", []))
        return "; ".join(f"{s['stage']} {s['seconds']:.0f} s: {s['summary']}" for s in data["stages"])

    def stage_monitor(self) -> str:
        t = self.target
        ports = ["--port", str(t.prometheus_port), "--wan-port", str(t.wan_port)]
        ports += ["--alertmanager-port", str(t.alertmanager_port), "--mail-port", str(t.mail_port)]
        up = self.cli("monitor", "monitor", "up", *ports)
        if up.returncode != 0:
            raise DemoFailed("monitor", f"`municloud monitor up` exited {up.returncode} (see {self.log})")
        deadline = time.monotonic() + TARGETS_TIMEOUT_S
        while True:
            status = self.cli("monitor", "monitor", "status", "--json")
            data = _json_or_none(status.stdout) or {}
            if data.get("healthy"):
                break
            if time.monotonic() > deadline:
                down = [
                    f"{x.get('job')}:{x.get('town') or x.get('instance')}"
                    for x in data.get("targets", [])
                    if x.get("health") != "up"
                ]
                raise DemoFailed("monitor", f"scrape targets not up within {TARGETS_TIMEOUT_S} s", down)
            time.sleep(3)
        # The SLA period starts at the first whole minute every probe is scraped in; the drills wait for it,
        # so that each of them lies inside the period the SLA report covers.
        self._measuring_since = _next_minute(datetime.now(UTC))
        self.announce(f"  the SLA period starts at {self._measuring_since:%H:%M} UTC, the first whole minute measured")
        _sleep_until(self._measuring_since)
        self.result.prometheus = f"http://127.0.0.1:{t.prometheus_port}"
        targets = len(data.get("targets", []))
        return f"{targets} scrape targets up at {self.result.prometheus}"

    def stage_drills(self) -> str:
        self._drills_started = datetime.now(UTC)
        lines = []
        for name in DRILLS:
            self.announce(f"  drill {name}")
            folder = self.out / "drills" / name
            result = self.cli("drills", "drill", "run", name, "--json", "--out", str(folder))
            record = _json_or_none(result.stdout)
            if record is None:
                raise DemoFailed(f"drills/{name}", f"the drill did not run (exit {result.returncode}; see {self.log})")
            self._drill_results[name] = record
            self.result.journals[name] = record["journal"]
            if result.returncode != 0 or record.get("verdict") == "failed":
                not_back = sorted({o["town"] for o in record.get("outages", []) if not o.get("recovered")})
                raise DemoFailed(
                    f"drills/{name}",
                    f"verdict {record.get('verdict')}: " + "; ".join(record.get("observations", [])[:3]),
                    not_back,
                )
            lines.append(f"{name}: {record['verdict']}")
        self.result.figures = drill_figures(self._drill_results)
        return "; ".join(lines)

    def stage_reports(self) -> str:
        reports = self.out / "reports"
        # The drill reports need only the journals: they are written (their PDFs are most of this
        # stage's time) while the SLA report waits for its last minute and runs, on the other core.
        self.announce("  drill reports and the annual report (beside the SLA report)")
        with ThreadPoolExecutor(max_workers=1) as background:
            drills = background.submit(
                self.cli_json,
                "reports/drills",
                "drill",
                "report",
                *self.result.journals.values(),
                "--out",
                str(reports / "drills"),
                "--json",
            )
            self._sla_report(reports)
            for entry in drills.result().get("reports", []):
                self.result.reports.append(Report(entry["what"], entry["files"]))
        self.announce("  network compliance")
        compliance = self.cli_json(
            "reports/compliance", "net", "compliance", "--json", "--out", str(reports / "compliance")
        )
        self.result.reports.append(Report("network compliance", _files_of(compliance)))
        self.announce("  cost allocation")
        costs = self.cli_json("reports/costs", "cost", "allocate", "--json", "--out", str(reports / "costs"))
        self.result.reports.append(Report("cost allocation", _files_of(costs)))
        self._count_alert_mail()
        return f"{len(self.result.reports)} reports in {reports}"

    def _count_alert_mail(self) -> None:
        """The alert e-mails since the drills began (their notices' ends come a group interval after
        them, during the reports): a drill pages nobody, so any other is a finding to read."""
        since = (self._drills_started or datetime.now(UTC)).isoformat(timespec="seconds")
        inbox = self.cli_json("reports/alerts", "alerts", "inbox", "--since", since, "--json")
        notice = alert_texts()[DRILL_NOTICE]["title"]
        others = [m["subject"] for m in inbox["messages"] if notice not in m["subject"]]
        self.result.alert_mail = {
            "messages": inbox["count"],
            "drill_notices": inbox["count"] - len(others),
            "others": others,
            "read_with": f"municloud alerts inbox --since {since} --show",
        }

    def _sla_report(self, reports: Path) -> None:
        # ... and ends with the minute the last drill ended in, once that minute's sample is recorded
        start = self._measuring_since or _next_minute(datetime.now(UTC))
        end = _next_minute(datetime.now(UTC))
        self.announce(f"  waiting for the minute the drills ended in to be recorded ({end:%H:%M:%S} UTC)")
        _sleep_until(end + timedelta(seconds=RULE_SETTLE_S))
        self.result.sla_period = (start.isoformat(), end.isoformat())
        self.announce(f"  SLA report {start:%H:%M}-{end:%H:%M} UTC")
        sla = self.cli_json(
            "reports/sla",
            "sla",
            "report",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--every-minute",  # the demo runs at any hour: every minute counted, not the office calendar
            "--drills",
            str(self.out / "drills"),
            "--out",
            str(reports / "sla"),
            "--json",
        )
        self.result.reports.append(Report("SLA report (summary)", sla_summary_files(sla)))

    def stage_handover(self) -> str:
        self.announce("  export: every town from one snapshot, in every layout")
        started = time.monotonic()
        exported = self.cli_json("handover/export", "handover", "export", "--json")
        export_s = time.monotonic() - started
        towns = exported["towns"]
        records = sum(f["records"] for t in towns for f in t["files"].values())
        self.announce("  package: encrypted to each town's key, with its 納品書")
        packaged = self.cli_json("handover/package", "handover", "package", "--json")
        self.announce("  deliver: over SFTP to each town's receiving account, checked on the far side; the report")
        delivered = self.cli_json(
            "handover/deliver", "handover", "deliver", "--json", "--out", str(self.out / "reports" / "handover")
        )
        report = delivered.get("report") or {}
        files = report.get("files") or {}
        self.result.reports.append(Report("年度末データ納品報告書 fiscal-year hand-over report", files))
        first = packaged["packages"][0]
        key = self.target.state_dir / "handover" / "keys" / "lab" / f"{first['town']}.key"
        verified = self.cli_json("handover/verify", "handover", "verify", first["path"], "--key", str(key), "--json")
        self.result.figures.append(
            {
                "figure": f"fiscal-year hand-over: {len(towns)} towns exported",
                "measured": f"{records:,} records in {export_s:.0f} s",
            }
        )
        folder = Path(first["path"]).parent
        summary = report.get("summary") or {}
        return (
            f"{len(towns)} towns, {records:,} records exported, packaged in {folder} and delivered to "
            f"{sum(t['ok'] for t in delivered['towns'])} towns' servers "
            f"({summary.get('bytes_delivered', 0):,} bytes); "
            f"{first['town']}'s package verified with its key ({verified['records']:,} records); "
            f"the report: {files.get('pdf', 'not written')}"
        )


# ---- figures and helpers -----------------------------------------------------------------------------
def drill_figures(results: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The measured failover figures of the drills' JSON results (as `municloud drill run --json`)."""
    figures: list[dict[str, str]] = []
    wan = results.get("wan-primary-circuit-loss")
    if wan:
        figures.append(
            {
                "figure": "every town's primary circuit cut: recovery",
                "measured": _ms_spread(wan),
            }
        )
    edge = results.get("carrier-edge-loss")
    if edge:
        figures.append({"figure": "carrier edge PE1 lost: every town on its backup", "measured": _ms_spread(edge)})
    dc = results.get("dc-site-loss")
    if dc:
        reads = [ms for ms in dc.get("outage_ms_by_town", {}).values() if ms is not None]
        figures.append(
            {
                "figure": "DC1 lost: reads served from DC2 (worst town)",
                "measured": f"{max(reads) / 1000:.1f} s" if reads else "no outage measured",
            }
        )
        rpo = dc.get("rpo") or {}
        refused = rpo.get("writes_refused_ms")
        figures.append(
            {
                "figure": "DC1 lost: writes accepted again",
                "measured": f"{refused / 1000:.1f} s" if refused is not None else "not measured",
            }
        )
        figures.append(
            {
                "figure": "DC1 lost: committed writes lost",
                "measured": f"{rpo.get('writes_lost', '?')} of {rpo.get('writes_acked', '?')}",
            }
        )
    return figures


def _ms_spread(record: dict[str, Any]) -> str:
    values = [ms for ms in record.get("outage_ms_by_town", {}).values() if ms is not None]
    if not values:
        return "no outage measured"
    return (
        f"median {statistics.median(values):.0f} ms, p95 {record.get('outage_ms_p95') or max(values):.0f} ms, "
        f"worst {max(values):.0f} ms ({len(values)} towns)"
    )


def sla_summary_files(data: dict[str, Any]) -> dict[str, str]:
    """The summary's files among those `sla report --json` lists (sla-<label>.<kind> in <folder>, beside
    one set per town), by kind; `folder` is where the towns' reports are."""
    folder = Path(data.get("folder", ""))
    files = {Path(p).suffix.lstrip("."): str(p) for p in data.get("files", []) if Path(p).stem == f"sla-{folder.name}"}
    return {**files, "folder": str(folder)}


def _files_of(data: dict[str, Any]) -> dict[str, str]:
    files = data.get("files")
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None


def _failing_nodes(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    nodes: list[str] = []
    for key in ("failing", "non_compliant", "unreachable"):  # every list a command names its nodes in
        if isinstance(data.get(key), list):
            nodes += [str(x) for x in data[key] if str(x) not in nodes]
    return nodes


def _down_nodes(lab: Lab) -> list[str]:
    try:
        return [n.name for n in lab.status().nodes if not n.up]
    except Exception:  # a lab too broken to report on: the stage's own error says why
        return []


def _next_minute(moment: datetime) -> datetime:
    return (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _sleep_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
