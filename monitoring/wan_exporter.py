"""The WAN exporter: per town and circuit (primary, backup) the BGP and BFD session state and which
circuit carries the path to the DC service, read from the towns' CE routers. The same process (the
operations center's exporter) serves the environment's certificates' expiry (monitoring/certificates.py).

It runs in the operations center (started by `municloud monitor up`) and reaches the routers the
one way the network code does (network/fleet.py: the binding's addresses, pinned host keys, key
file, a driver per platform: FRR's JSON output in the lab, parsed show output on IOS-XE). The
routers are read every `interval` seconds in a background loop; a scrape serves the last reading,
so a slow router never makes a scrape time out.

  municloud_wan_router_up{town, router}                     1 when the router answered the last reading
  municloud_wan_bgp_session_up{town, circuit, peer}         1 when the eBGP session is Established
  municloud_wan_bfd_session_up{town, circuit, peer}         1 when the BFD session is up
  municloud_wan_active_path{town, circuit}                  1 on the circuit the service route uses
  municloud_wan_reading_age_seconds                         how old the served reading is
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from inventory.check import load_inventory
from inventory.environment import BoundHost, EnvironmentBinding, bind_environment
from network.drivers.device import Driver
from network.fleet import Fleet, parallel
from pki.authority import Authority

from .certificates import CertificateCollector

CIRCUITS = ("primary", "backup")


@dataclass
class TownReading:
    town: str
    router: str
    up: bool
    bgp: dict[str, bool] = field(default_factory=dict)  # circuit -> established
    bfd: dict[str, bool] = field(default_factory=dict)  # circuit -> up
    active: str | None = None  # circuit carrying the service route
    peers: dict[str, str] = field(default_factory=dict)  # circuit -> PE address
    error: str = ""


def _next_hop(driver: object, platform: str, prefix: str) -> IPv4Address | None:
    send = driver._send  # type: ignore[attr-defined]
    if platform == "frr":
        data = json.loads(send(f"show ip route {prefix} json") or "{}")
        for entry in data.get(prefix, []):
            if entry.get("selected"):
                for hop in entry.get("nexthops", []):
                    if hop.get("fib") and hop.get("ip"):
                        return IPv4Address(hop["ip"])
        return None
    match = re.search(r"\*\s+(\d+\.\d+\.\d+\.\d+)", send(f"show ip route {prefix}")) or re.search(
        r"via (\d+\.\d+\.\d+\.\d+)", send(f"show ip route {prefix}")
    )
    return IPv4Address(match.group(1)) if match else None


def read_town(driver: Driver, binding: EnvironmentBinding, town: str, router: BoundHost) -> TownReading:
    """One reading of the town's CE router through an open session (DeviceError when it fails)."""
    plan = binding.plan.towns[town]
    peers = {"primary": plan.primary.a.ip, "backup": plan.backup.a.ip}
    reading = TownReading(town, router.name, False, peers={c: str(a) for c, a in peers.items()})
    state = driver.get_state()
    hop = _next_hop(driver, router.platform or "frr", str(binding.plan.service_prefix))
    reading.up = True
    for circuit, peer in peers.items():
        reading.bgp[circuit] = state.bgp.get(str(peer), "").lower() == "established"
        reading.bfd[circuit] = state.bfd.get(str(peer), "").lower() == "up"
        if hop == peer:
            reading.active = circuit
    return reading


def _router(binding: EnvironmentBinding, town: str) -> BoundHost:
    return next(h for h in binding.routers() if h.role == "ce" and h.town == town)


class WanCollector(Collector):
    """Reads every town's router every `interval` seconds over a session kept open between the
    readings (a new SSH login per router and reading, 18 routers every 15 s, was a CPU spike of a
    quarter of the lab machine each time: the key exchange and a vtysh started per login); a session
    that fails is closed, the router counts as down for that reading, and the next one logs in again."""

    def __init__(self, binding: EnvironmentBinding, interval: float = 15.0, workers: int = 8) -> None:
        self.binding = binding
        self.fleet = Fleet(binding, conn_timeout=5)
        self.interval = interval
        self.workers = workers
        self.readings: dict[str, TownReading] = {}
        self.read_at = 0.0
        self.lock = threading.Lock()
        self.sessions: dict[str, Driver] = {}  # town -> its router's open session (one reader per town at a time)

    def read(self, town: str) -> TownReading:
        router = _router(self.binding, town)
        driver = self.sessions.pop(town, None)
        try:
            if driver is None:
                driver = self.fleet.driver(router.name)
                driver.open()
            reading = read_town(driver, self.binding, town, router)
        except Exception as error:  # any failure to read: the router is down for the exporter, with why
            if driver is not None:
                driver.close()
            return TownReading(town, router.name, False, error=str(error)[:300])
        self.sessions[town] = driver
        return reading

    def refresh(self) -> None:
        results = parallel(self.read, self.binding.towns, self.workers)
        readings = {}
        for town, result in results.items():
            if isinstance(result, BaseException):
                result = TownReading(town, "", False, error=str(result))
            readings[town] = result
        with self.lock:
            self.readings, self.read_at = readings, time.time()

    def loop(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.refresh()
                stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            for driver in self.sessions.values():
                driver.close()
            self.sessions.clear()

    def collect(self):  # type: ignore[no-untyped-def]
        with self.lock:
            readings, read_at = dict(self.readings), self.read_at
        up = GaugeMetricFamily("municloud_wan_router_up", "1 when the CE router answered", labels=["town", "router"])
        bgp = GaugeMetricFamily(
            "municloud_wan_bgp_session_up",
            "1 when the circuit's eBGP session is Established",
            labels=["town", "circuit", "peer"],
        )
        bfd = GaugeMetricFamily(
            "municloud_wan_bfd_session_up", "1 when the circuit's BFD session is up", labels=["town", "circuit", "peer"]
        )
        path = GaugeMetricFamily(
            "municloud_wan_active_path", "1 on the circuit the DC service route uses", labels=["town", "circuit"]
        )
        for town, r in sorted(readings.items()):
            up.add_metric([town, r.router], 1 if r.up else 0)
            if not r.up:
                continue
            for circuit in CIRCUITS:
                bgp.add_metric([town, circuit, r.peers[circuit]], 1 if r.bgp.get(circuit) else 0)
                bfd.add_metric([town, circuit, r.peers[circuit]], 1 if r.bfd.get(circuit) else 0)
                path.add_metric([town, circuit], 1 if r.active == circuit else 0)
        age = GaugeMetricFamily("municloud_wan_reading_age_seconds", "Age of the served reading of the routers")
        age.add_metric([], time.time() - read_at if read_at else float("nan"))
        yield from (up, bgp, bfd, path, age)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="municloud WAN exporter (operations center)")
    parser.add_argument("--env", default="lab")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9470)
    parser.add_argument("--interval", type=float, default=15.0)
    args = parser.parse_args(argv)
    inventory = load_inventory()
    binding = bind_environment(inventory, args.env)
    collector = WanCollector(binding, args.interval)
    registry = CollectorRegistry()
    registry.register(collector)
    registry.register(CertificateCollector(Authority(args.env), inventory, list(binding.towns)))
    start_http_server(args.port, addr=args.address, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    collector.loop(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
