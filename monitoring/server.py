"""The operations center's Prometheus (Debian's package) and the WAN exporter, as processes of ours.

`start` writes the configuration (monitoring/prometheus_config.py), checks it with promtool, and
starts `prometheus` with its data directory under the state directory (never in the source tree),
listening on the operations center's loopback. Each process is recorded by pid and kernel start
time in `<state>/monitoring/<env>/processes.json` and stopped by exactly that pid, never by name.
When the environment is a lab, the processes are also attached to the lab (toolkit/processes.attach_process)
so that `municloud lab down` stops them with the lab they scrape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from toolkit.processes import ProcRef, attach_process, detach_process, stop_processes, wait_until
from toolkit.settings import REPO_ROOT, state_dir

from .promapi import PrometheusAPI
from .prometheus_config import ConfigFiles, promtool_check, write_config
from .tsdb_server import prometheus_argv

DEFAULT_PORT = 9090
WAN_EXPORTER_PORT = 9470


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
    prom = read_record(MonitorPaths.for_env(env)).get("prometheus")
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
) -> dict[str, Running]:
    """Start (or keep) the environment's Prometheus and WAN exporter; idempotent."""
    paths = MonitorPaths.for_env(binding.name)
    paths.root.mkdir(parents=True, exist_ok=True)
    running = {n: r for n, r in read_record(paths).items() if r.alive()}
    lab_state = binding.lab.state_dir if binding.lab else None
    wan = f"127.0.0.1:{wan_port}" if wan_port else None
    files: ConfigFiles = write_config(inventory, binding, paths.config_dir, wan)
    ok, output = promtool_check(files)
    if not ok:
        raise MonitorError(f"promtool refused the generated configuration:\n{output}")
    if wan_port and "wan-exporter" not in running:
        _port_free(wan_port)
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        argv = [sys.executable, "-m", "monitoring.wan_exporter", "--env", binding.name, "--port", str(wan_port)]
        running["wan-exporter"] = Running("wan-exporter", _spawn("wan-exporter", argv, paths, env), f"http://{wan}")
    if "prometheus" not in running:
        _port_free(port)
        argv = prometheus_argv(files.config, paths.data, port, retention, "--web.enable-lifecycle")
        url = f"http://127.0.0.1:{port}"
        running["prometheus"] = Running("prometheus", _spawn("prometheus", argv, paths), url)
        _write_record(paths, running, lab_state)
        api = PrometheusAPI(url)
        ready = wait_until(lambda: api.ready() or not running["prometheus"].alive(), 60, 0.25)
        time.sleep(0.5)  # a listener that failed to bind exits right after logging it
        if not ready or not api.ready() or not running["prometheus"].alive():
            tail = paths.log("prometheus").read_text(errors="replace")[-2000:]
            stop(binding.name)
            raise MonitorError(f"Prometheus did not become ready on {url}:\n{tail}")
    else:
        # running already: make it read the regenerated configuration
        subprocess.run(["kill", "-HUP", str(running["prometheus"].ref.pid)], check=False)
    _write_record(paths, running, lab_state)
    if lab_state is not None:
        for r in running.values():
            attach_process(lab_state, f"monitor-{binding.name}-{r.name}", r.ref)
    return running


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

    try:
        config = yaml.safe_load((MonitorPaths.for_env(env).config_dir / "prometheus.yml").read_text())
    except (OSError, yaml.YAMLError):
        return 0
    return sum(
        len(sc.get("targets", [])) for job in config.get("scrape_configs", []) for sc in job.get("static_configs", [])
    )


def status(env: str) -> tuple[dict[str, Running], list[TargetHealth]]:
    running = read_record(MonitorPaths.for_env(env))
    targets: list[TargetHealth] = []
    prom = running.get("prometheus")
    if prom and prom.alive():
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


def started_at(ref: ProcRef) -> float:
    """Seconds the process has been running."""
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return max(0.0, uptime - ref.start / ticks) if ref.alive() else 0.0


def wait_for_samples(api: PrometheusAPI, expr: str, timeout: float = 120) -> bool:
    return wait_until(lambda: bool(api.query(expr, time.time())), timeout, 2.0)
