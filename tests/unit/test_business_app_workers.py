"""The stand-in as the service runs it: a supervisor and its worker processes on shared sockets.
One Python process is one core at most, and the lab's DC drill (every town's HTTPS probes on one
app server) held one at its limit; so `workers` processes serve, and the supervisor keeps them:
a worker that dies is started again while the others serve, a reload reaches every worker, SIGTERM
ends them all. A real process on 127.0.0.1 with real TLS; the database is the fake of
test_business_app (loaded into the process before the stand-in's own module)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import yaml

from pki.authority import Authority

from .test_business_app import APP

REPO = Path(__file__).resolve().parents[2]
# The stand-in's main() in a process whose psycopg2 is the fake one (a database that answers).
BOOT = f"""
import runpy, sys
sys.path.insert(0, {str(REPO)!r})
from tests.unit.test_business_app import FakeServer, fake_psycopg2
fake = fake_psycopg2({{"dc1-db": FakeServer(in_recovery=False)}})
sys.modules["psycopg2"], sys.modules["psycopg2.pool"] = fake, fake.pool
sys.argv = ["municloud_business_app.py", "--config", sys.argv[1]]
runpy.run_path({str(APP)!r}, run_name="__main__")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def service(tmp_path: Path):
    pki = Authority("lab", tmp_path / "pki")
    pki.ensure_ca()
    pki.issue_service([IPv4Address("127.0.0.1")])
    pki.issue_town("ina", "伊奈町")
    (tmp_path / "pass").write_text("secret\n")
    port = _free_port()
    config = {
        "site": "dc1",
        "listen": ["127.0.0.1"],
        "port": port,
        "workers": 2,
        "systems": {"resident-registry": {"tier": "critical"}},
        "tenants": {"ina": {"name": "伊奈町", "systems": ["resident-registry"], "parameters": {"v": 1}}},
        "database": {"host": "dc1-db", "name": "business", "user": "app", "password_file": str(tmp_path / "pass")},
        "tls": {
            "certificate": str(pki.service_path),
            "client_ca": str(pki.ca_cert_path),
            "crl": str(pki.crl_path),
            "audit_log": str(tmp_path / "audit.jsonl"),
        },
    }
    path = tmp_path / "business_app.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    log = (tmp_path / "stderr").open("w")
    proc = subprocess.Popen([sys.executable, "-c", BOOT, str(path)], stderr=log)
    proc.log = tmp_path / "stderr"
    context = ssl.create_default_context(cafile=str(pki.ca_cert_path))
    context.load_cert_chain(str(pki.town_path("ina")))
    try:
        yield proc, port, context, path, config
    finally:
        workers = _children(proc.pid) if proc.poll() is None else set()
        proc.terminate()
        proc.wait(10)
        for pid in workers:  # a failed test's leftovers: these are this test's processes
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def _get(port: int, context: ssl.SSLContext, path: str) -> tuple[int, dict] | None:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=3)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    except OSError:
        return None
    finally:
        conn.close()


def test_workers_serve_are_restarted_reload_and_stop_together(service) -> None:
    proc, port, context, path, config = service
    healthy = _until(lambda: (_get(port, context, "/health/ina/resident-registry") or (0,))[0] == 200)
    assert healthy, proc.log.read_text()
    assert _until(lambda: len(_children(proc.pid)) == 2)
    workers = _children(proc.pid)

    # A worker killed: the other serves meanwhile, and a new one takes its place.
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    assert _until(lambda: len(_children(proc.pid)) == 2 and victim not in _children(proc.pid))
    for _ in range(10):
        assert _get(port, context, "/health/ina/resident-registry")[0] == 200

    # A reload reaches every worker: each new connection (whichever worker takes it) sees it.
    config["tenants"]["ina"]["parameters"] = {"v": 2}
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    os.kill(proc.pid, signal.SIGHUP)

    def reloaded() -> bool:
        return all(_get(port, context, "/parameters/ina")[1]["parameters"] == {"v": 2} for _ in range(10))

    assert _until(reloaded), proc.log.read_text()
    assert proc.poll() is None

    # SIGTERM: the workers end, then the supervisor, with 0.
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0, proc.log.read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_changed_port_restarts_the_service(service) -> None:
    proc, port, context, path, config = service
    assert _until(lambda: (_get(port, context, "/health/ina/resident-registry") or (0,))[0] == 200)
    workers = _children(proc.pid)
    config["port"] = _free_port()
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    os.kill(proc.pid, signal.SIGHUP)
    assert proc.wait(10) == 75  # systemd (Restart=always) starts it on the new socket
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
