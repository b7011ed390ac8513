"""The operations center's Prometheus and Alertmanager (Debian's packages), the WAN exporter and, in
a lab, the mail server, as processes of ours.

`start` writes the configurations (monitoring/prometheus_config.py, monitoring/alerting.py), checks
them with promtool and amtool, and starts Alertmanager (its silences and notification log under the
state directory, clustering off, Japan time for the e-mails' times), the lab's mail server
(monitoring/mailbox.py), then `prometheus` with its data directory under the state directory (never
in the source tree), sending its alerts to that Alertmanager; all listen on the operations center's
loopback. Each process is recorded by pid and kernel start
time in `<state>/monitoring/<env>/processes.json` and stopped by exactly that pid, never by name.
When the environment is a lab, the processes are also attached to the lab (toolkit/processes.attach_process)
so that `municloud lab down` stops them with the lab they scrape.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from toolkit.processes import ProcRef, attach_process, detach_process, stop_processes, wait_until
from toolkit.settings import REPO_ROOT, state_dir

from .alerting import AlertingError, mail_settings, write_alertmanager_files
from .alertmanager import AlertmanagerAPI
from .federation import RegionalServer, write_global_config, write_regional_config
from .mail_templates import TIMEZONE
from .mailbox import MAIL_PORT, mail_server_argv
from .promapi import PrometheusAPI, PrometheusError
from .prometheus_config import ConfigFiles, promtool_check, write_config
from .tsdb_server import prometheus_argv

DEFAULT_PORT = 9090
WAN_EXPORTER_PORT = 9470
ALERTMANAGER_PORT = 9093
# the regional servers' ports: the global one's + this + their index (beside the WAN exporter's,
# Alertmanager's and the mail server's, which tests and the demo place at the global's + 1 to 3)
REGIONAL_PORT_OFFSET = 5
REGIONAL_PREFIX = "prometheus-"
GLOBAL = "prometheus"  # the environment's one Prometheus, or the global one above the regional servers


class MonitorError(RuntimeError):
    pass


@dataclass(frozen=True)
class MonitorPaths:
    root: Path

    @classmethod
    def for_env(cls, env: str) -> MonitorPaths:
        return cls(state_dir() / "monitoring" / env)

    @property
    def data(self) -> Path:
        return self.root / "prometheus-data"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def record(self) -> Path:
        return self.root / "processes.json"

    @property
    def alertmanager_data(self) -> Path:
        return self.root / "alertmanager-data"

    @property
    def maildir(self) -> Path:
        """The lab mail server's Maildir: every alert message it was sent."""
        return self.root / "mail"

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"


@dataclass(frozen=True)
class Running:
    name: str
    ref: ProcRef
    url: str

    def alive(self) -> bool:
        return self.ref.alive()


def read_record(paths: MonitorPaths) -> dict[str, Running]:
    try:
        data = json.loads(paths.record.read_text())
    except (OSError, ValueError):
        return {}
    return {
        name: Running(name, ProcRef.from_json(item["proc"]), item["url"])
        for name, item in data.get("processes", {}).items()
    }


def _write_record(paths: MonitorPaths, running: dict[str, Running], lab_state: Path | None) -> None:
    data = {
        "processes": {r.name: {"proc": r.ref.to_json(), "url": r.url} for r in running.values()},
        "lab_state_dir": str(lab_state) if lab_state else None,
    }
    paths.record.write_text(json.dumps(data, indent=2))


def prometheus_url(env: str) -> str | None:
    """The URL of the environment's running Prometheus, if `monitor up` started one."""
    prom = read_record(MonitorPaths.for_env(env)).get(GLOBAL)
    return prom.url if prom and prom.alive() else None


def alertmanager_url(env: str) -> str | None:
    """The URL of the environment's running Alertmanager, if `monitor up` started one."""
    am = read_record(MonitorPaths.for_env(env)).get("alertmanager")
    return am.url if am and am.alive() else None


def _spawn(name: str, argv: list[str], paths: MonitorPaths, env: dict[str, str] | None = None) -> ProcRef:
    log = paths.log(name).open("ab")
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
    )
    ref = None
    wait_until(lambda: ProcRef.of(process.pid) is not None, 5)
    ref = ProcRef.of(process.pid)
    if ref is None:
        raise MonitorError(f"{name} exited at once; see {paths.log(name)}")
    return ref


def start(
    inventory: Inventory,
    binding: EnvironmentBinding,
    port: int = DEFAULT_PORT,
    wan_port: int | None = WAN_EXPORTER_PORT,
    retention: str = "400d",
    alertmanager_port: int | None = ALERTMANAGER_PORT,
    mail_port: int = MAIL_PORT,
    regional: Sequence[RegionalServer] = (),
) -> dict[str, Running]:
    """Start (or keep) the environment's Alertmanager (and a lab's mail server), WAN exporter and
    Prometheus; idempotent: what runs already re-reads its regenerated configuration. With `regional`
    servers (the scale plan's), each scrapes its towns on `port` + REGIONAL_PORT_OFFSET + its index and
    the Prometheus on `port` is the global one federating them (monitoring/federation.py); regional
    servers recorded from an earlier `start` and no longer asked for are stopped."""
    paths = MonitorPaths.for_env(binding.name)
    paths.root.mkdir(parents=True, exist_ok=True)
    running = {n: r for n, r in read_record(paths).items() if r.alive()}
    lab_state = binding.lab.state_dir if binding.lab else None
    wan = f"127.0.0.1:{wan_port}" if wan_port else None
    alertmanager = f"127.0.0.1:{alertmanager_port}" if alertmanager_port else None
    wanted = {regional_name(r.id) for r in regional}
    stale = [r for n, r in running.items() if n.startswith(REGIONAL_PREFIX) and n not in wanted]
    if stop_processes([r.ref for r in stale], grace=10.0):
        raise MonitorError(f"regional Prometheus {[r.name for r in stale]} did not stop")
    running = {n: r for n, r in running.items() if r not in stale}
    regional_files = {
        r.id: write_regional_config(inventory, binding, r, _config_dir(paths, regional_name(r.id)), alertmanager)
        for r in regional
    }
    addresses = {r.id: f"127.0.0.1:{port + REGIONAL_PORT_OFFSET + i}" for i, r in enumerate(regional)}
    if regional:
        files = write_global_config(inventory, binding, addresses, paths.config_dir, wan, alertmanager)
    else:
        files = write_config(inventory, binding, paths.config_dir, wan, alertmanager)
    for checked in [*regional_files.values(), files]:
        ok, output = promtool_check(checked)
        if not ok:
            raise MonitorError(f"promtool refused the generated configuration {checked.config}:\n{output}")
    try:
        if alertmanager_port:
            # first, so that Prometheus' first alerts find it (and the mail server before it sends)
            _start_alerting(inventory, binding, paths, running, alertmanager_port, mail_port)
        if wan_port and "wan-exporter" not in running:
            _port_free(wan_port)
            env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
            argv = [sys.executable, "-m", "monitoring.wan_exporter", "--env", binding.name, "--port", str(wan_port)]
            running["wan-exporter"] = Running("wan-exporter", _spawn("wan-exporter", argv, paths, env), f"http://{wan}")
        for r in regional:
            _start_prometheus(regional_name(r.id), regional_files[r.id], addresses[r.id], paths, running, retention)
            _write_record(paths, running, lab_state)
        _start_prometheus(GLOBAL, files, f"127.0.0.1:{port}", paths, running, retention)
    except MonitorError:
        _write_record(paths, running, lab_state)
        stop(binding.name)
        raise
    _write_record(paths, running, lab_state)
    if lab_state is not None:
        for r in running.values():
            attach_process(lab_state, f"monitor-{binding.name}-{r.name}", r.ref)
    return running


def regional_name(server: str) -> str:
    return f"{REGIONAL_PREFIX}{server}"


def _is_prometheus(name: str) -> bool:
    """Whether a recorded process is one of the environment's Prometheus servers (global or regional)."""
    return name == GLOBAL or name.startswith(REGIONAL_PREFIX)


def _config_dir(paths: MonitorPaths, name: str) -> Path:
    """Where a Prometheus server's configuration is written: the global one's in the folder itself."""
    return paths.config_dir if name == GLOBAL else paths.config_dir / name.removeprefix(REGIONAL_PREFIX)


def _start_prometheus(
    name: str, files: ConfigFiles, address: str, paths: MonitorPaths, running: dict[str, Running], retention: str
) -> None:
    """A Prometheus server (its data in `<name>-data`), or, running already, a reload of its
    regenerated configuration. Recorded before it is waited for, so that a failure stops it."""
    if name in running:
        os.kill(running[name].ref.pid, signal.SIGHUP)
        return
    port = int(address.rsplit(":", 1)[1])
    _port_free(port)
    argv = prometheus_argv(files.config, paths.root / f"{name}-data", port, retention, "--web.enable-lifecycle")
    running[name] = Running(name, _spawn(name, argv, paths), f"http://{address}")
    _wait_ready(name, running[name], PrometheusAPI(running[name].url).ready, paths)


def _start_alerting(
    inventory: Inventory,
    binding: EnvironmentBinding,
    paths: MonitorPaths,
    running: dict[str, Running],
    port: int,
    mail_port: int,
) -> None:
    """Alertmanager with its configuration from the inventory's contacts, and a lab's mail server."""
    try:
        mail = mail_settings(binding, f"127.0.0.1:{mail_port}")
        config = write_alertmanager_files(inventory, binding, mail, paths.config_dir)
    except AlertingError as error:
        raise MonitorError(str(error)) from None
    if binding.kind == "lab" and "mail" not in running:
        _port_free(mail_port)
        argv = mail_server_argv(paths.maildir, mail_port)
        running["mail"] = Running("mail", _spawn("mail", argv, paths), f"smtp://127.0.0.1:{mail_port}")
        wait_until(lambda: _listening(mail_port) or not running["mail"].alive(), 15, 0.1)
        if not running["mail"].alive():
            raise MonitorError(f"the lab's mail server exited at once; see {paths.log('mail')}")
    if "alertmanager" in running:
        os.kill(running["alertmanager"].ref.pid, signal.SIGHUP)  # re-reads its configuration and template
        return
    _port_free(port)
    url = f"http://127.0.0.1:{port}"
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--storage.path={paths.alertmanager_data}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}",
        "--cluster.listen-address=",  # one Alertmanager: no gossip port opened on every interface
    ]
    env = {**os.environ, "TZ": TIMEZONE}  # the e-mails' times (Go's .Local) in Japan time
    running["alertmanager"] = Running("alertmanager", _spawn("alertmanager", argv, paths, env), url)
    _wait_ready("alertmanager", running["alertmanager"], AlertmanagerAPI(url).ready, paths)


def _wait_ready(name: str, process: Running, ready: Callable[[], bool], paths: MonitorPaths) -> None:
    ok = wait_until(lambda: ready() or not process.alive(), 60, 0.25)
    time.sleep(0.5)  # a listener that failed to bind exits right after logging it
    if not ok or not ready() or not process.alive():
        tail = paths.log(name).read_text(errors="replace")[-2000:]
        raise MonitorError(f"{name} did not become ready on {process.url}:\n{tail}")


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def _port_free(port: int, host: str = "127.0.0.1") -> None:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            raise MonitorError(
                f"{host}:{port} is taken ({error.strerror}): another Prometheus? choose --port"
            ) from None


def stop(env: str) -> list[str]:
    """Stop what `start` started, by recorded pid and start time. Returns what was stopped."""
    paths = MonitorPaths.for_env(env)
    running = read_record(paths)
    try:
        lab_state = json.loads(paths.record.read_text()).get("lab_state_dir")
    except (OSError, ValueError):
        lab_state = None
    live = [r for r in running.values() if r.alive()]
    left = stop_processes([r.ref for r in live], grace=10.0)
    if left:
        raise MonitorError(f"processes {[r.pid for r in left]} did not stop")
    if lab_state:
        for name in running:
            detach_process(Path(lab_state), f"monitor-{env}-{name}")
    paths.record.unlink(missing_ok=True)
    return [f"{r.name} (pid {r.ref.pid})" for r in live]


@dataclass(frozen=True)
class TargetHealth:
    job: str
    instance: str
    town: str | None
    health: str
    last_error: str


def expected_targets(env: str) -> int:
    """How many scrape targets the generated configuration names."""
    import yaml

    paths = MonitorPaths.for_env(env)
    names = [n for n in read_record(paths) if _is_prometheus(n)]
    total = 0
    for name in names or [GLOBAL]:
        try:
            config = yaml.safe_load((_config_dir(paths, name) / "prometheus.yml").read_text())
        except (OSError, yaml.YAMLError):
            continue
        total += sum(
            len(sc.get("targets", []))
            for job in config.get("scrape_configs", [])
            for sc in job.get("static_configs", [])
        )
    return total


def status(env: str) -> tuple[dict[str, Running], list[TargetHealth]]:
    running = read_record(MonitorPaths.for_env(env))
    targets: list[TargetHealth] = []
    servers = [r for n, r in running.items() if _is_prometheus(n)]
    for prom in (p for p in servers if p.alive()):
        for t in PrometheusAPI(prom.url, timeout=10).targets():
            labels = t.get("labels", {})
            targets.append(
                TargetHealth(
                    labels.get("job", ""),
                    labels.get("instance", ""),
                    labels.get("town"),
                    t.get("health", ""),
                    t.get("lastError", ""),
                )
            )
    return running, targets


def failed_deliveries(env: str, window: str = "15m") -> int | None:
    """How many of Alertmanager's notifications failed in the last `window` (a mail relay or the
    lab's mail server down: they are sent again at the group's next interval, none is dropped), as
    Prometheus scraped it from Alertmanager; None when that cannot be known."""
    prom = read_record(MonitorPaths.for_env(env)).get(GLOBAL)
    if not prom or not prom.alive():
        return None
    try:
        result = PrometheusAPI(prom.url, timeout=10).query(
            f"sum(increase(alertmanager_notifications_failed_total[{window}]))", time.time()
        )
    except PrometheusError:
        return None
    return round(result[0].values[-1][1]) if result else 0


def started_at(ref: ProcRef) -> float:
    """Seconds the process has been running."""
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return max(0.0, uptime - ref.start / ticks) if ref.alive() else 0.0


def wait_for_samples(api: PrometheusAPI, expr: str, timeout: float = 120) -> bool:
    return wait_until(lambda: bool(api.query(expr, time.time())), timeout, 2.0)
