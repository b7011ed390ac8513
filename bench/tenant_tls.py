"""Benchmark: what mutual TLS costs the drills' HTTP probe, before the lab's service is switched to it.

The business-systems stand-in runs twice as a process of ours on 127.0.0.1 (its supervisor and
workers, as in the lab), plain and with `tls:` (certificates from a throwaway `pki` CA: ECDSA
P-256), answering `/parameters/<town>` (the one endpoint that needs no database; a stub psycopg2 is
on its path). The drills' own probe (`bcp_drills.fastprobe.http_probe`) measures:
- one probe at a time, 300 each way, a fresh connection (and handshake) per probe: median and 99th
  percentile;
- the DC drill's load on one app server: 18 towns x one probe per 100 ms for 5 s, plain with a
  connection per probe, TLS with a handshake per probe (how the drills first probed), and TLS on
  kept-alive connections, one pool per town (how the drills probe now): failures and the 99th
  percentile, target (for the drills' way) no failure and p99 under the probe interval. The
  drills' outage figures with TLS are provisioning_full's; the lab's service speaks TLS only, so
  the same drill without it is no longer measured there.
Loopback only; both processes are stopped by pid at the end, also on failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

import yaml

from bcp_drills.fastprobe import KeptConnections, client_context, http_probe
from inventory.check import load_inventory
from pki.authority import Authority

APP = Path(__file__).resolve().parents[1] / "playbooks/roles/business_app/files/municloud_business_app.py"
SEQUENTIAL = 300
TOWNS = 18
INTERVAL = 0.1  # the DC drill's HTTP probe, per town
LOAD_SECONDS = 5.0
STUB = """class Error(Exception):
    pass


class OperationalError(Error):
    pass
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp: Path, name: str, tls: dict | None, towns: list[tuple[str, str]]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    config = {
        "site": "dc1",
        "listen": ["127.0.0.1"],
        "port": port,
        "systems": {},
        "tenants": {t: {"name": n, "systems": [], "parameters": {"bench": True}} for t, n in towns},
        "database": {"host": "127.0.0.1", "name": "none", "user": "none", "password_file": str(tmp / "none")},
    }
    if tls:
        config["tls"] = tls
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    env = {**os.environ, "PYTHONPATH": str(tmp / "stub")}
    process = subprocess.Popen(
        [sys.executable, str(APP), "--config", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the stand-in ({name}) did not listen on 127.0.0.1:{port}")


async def _sequential(port: int, town: str, tls) -> list[float]:
    times = []
    for _ in range(SEQUENTIAL):
        start = time.perf_counter()
        ok, detail = await http_probe("127.0.0.1", port, f"/parameters/{town}", 2.0, tls=tls)
        if not ok:
            raise RuntimeError(f"a probe failed: {detail}")
        times.append((time.perf_counter() - start) * 1000)
    return times


async def _load(port: int, towns: list[str], contexts: dict, kept: bool = False) -> tuple[int, list[float]]:
    """Every town's probe on its cadence, not waiting for the others (as fastprobe does); `kept`:
    on each town's kept-alive connections (fastprobe's KeptConnections), else one per probe."""
    pools = {t: KeptConnections("127.0.0.1", port, contexts.get(t)) for t in towns} if kept else {}

    async def one(town: str) -> tuple[bool, float]:
        start = time.perf_counter()
        path = f"/parameters/{town}"
        ok, _ = await http_probe("127.0.0.1", port, path, 1.0, tls=contexts.get(town), connections=pools.get(town))
        return ok, (time.perf_counter() - start) * 1000

    tasks = []
    loop = asyncio.get_running_loop()
    begin = loop.time()
    n = 0
    while loop.time() - begin < LOAD_SECONDS:
        for town in towns:
            tasks.append(asyncio.ensure_future(one(town)))
        n += 1
        await asyncio.sleep(max(0.0, begin + n * INTERVAL - loop.time()))
    results = await asyncio.gather(*tasks)
    return sum(not ok for ok, _ in results), [ms for ok, ms in results if ok]


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def run() -> list[dict[str, object]]:
    inventory = load_inventory()
    towns = [(t.id, t.name) for t in inventory.towns][:TOWNS]
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="municloud-bench-tls-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "stub" / "psycopg2").mkdir(parents=True)
        (tmp / "stub" / "psycopg2" / "__init__.py").write_text(STUB)
        (tmp / "stub" / "psycopg2" / "pool.py").write_text("ThreadedConnectionPool = None\n")
        pki = Authority("bench", tmp / "pki")
        pki.ensure_ca()
        pki.issue_service([IPv4Address("127.0.0.1")])
        for town, name in towns:
            pki.issue_town(town, name)
        tls = {"certificate": str(pki.service_path), "client_ca": str(pki.ca_cert_path), "crl": str(pki.crl_path)}
        try:
            plain, plain_port = _serve(tmp, "plain", None, towns)
            processes.append(plain)
            secure, secure_port = _serve(tmp, "tls", tls, towns)
            processes.append(secure)
            contexts = {t: client_context(pki.ca_cert_path, pki.town_path(t)) for t, _ in towns}
            first = towns[0][0]
            seq_plain = asyncio.run(_sequential(plain_port, first, None))
            seq_tls = asyncio.run(_sequential(secure_port, first, contexts[first]))
            ids = [t for t, _ in towns]
            failed_plain, load_plain = asyncio.run(_load(plain_port, ids, {}))
            failed_tls, load_tls = asyncio.run(_load(secure_port, ids, contexts))
            failed_kept, load_kept = asyncio.run(_load(secure_port, ids, contexts, kept=True))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    profile = "127.0.0.1, the stand-in as a process, no database"
    return [
        {
            "figure": f"drill HTTP probe, one at a time ({SEQUENTIAL}): plain vs mutual TLS (a handshake per probe)",
            "target": "measured",
            "measured": (
                f"plain median {statistics.median(seq_plain):.1f} ms, p99 {_p99(seq_plain):.1f} ms; "
                f"TLS median {statistics.median(seq_tls):.1f} ms, p99 {_p99(seq_tls):.1f} ms"
            ),
            "met": True,
            "profile": profile,
        },
        {
            "figure": f"DC drill's probe load with TLS: {len(ids)} towns x 1 per {INTERVAL * 1000:.0f} ms for "
            f"{LOAD_SECONDS:.0f} s on one app server",
            "target": f"kept-alive TLS (the drills' way): no failure, p99 < {INTERVAL * 1000:.0f} ms",
            "measured": (
                f"TLS kept alive: {failed_kept} failed of {len(load_kept) + failed_kept}, "
                f"p99 {_p99(load_kept):.1f} ms; TLS, a handshake per probe: {failed_tls} failed, "
                f"p99 {_p99(load_tls):.1f} ms; plain: {failed_plain} failed, p99 {_p99(load_plain):.1f} ms"
            ),
            "met": failed_kept == 0 and _p99(load_kept) < INTERVAL * 1000,
            "profile": profile,
        },
    ]
