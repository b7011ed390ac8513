#!/usr/bin/python3
"""The town's probe exporter: the SLA's eyes, one per town on the town hall's in-office server.

Every `interval_seconds` (default 15) it makes one synthetic transaction against each business
system the town subscribes: an HTTP GET of /health/<town>/<system> on the DC service address, so
the request really crosses the town's CE router, the carrier WAN and the DC edge, and the answer
really comes from the town's schema in the DC database. With `tls:` in the configuration it speaks
HTTPS with the town's certificate (mutual TLS, the environment's CA pinned), as the town's own
clients do: the service serves the town's tenant to that certificate only. The certificate file is
read again when it changes, so a rotated certificate is used from the next round on.
Metrics, labelled town, system, tier:

  municloud_probe_success            1 when the last probe answered 200 in time, else 0
  municloud_probe_duration_seconds   histogram of probe durations (failures included)
  municloud_probes_total             probes made   } counters: they survive scrapes that
  municloud_probe_failures_total     probes failed } Prometheus missed, so no outage is lost
  municloud_probe_last_run_timestamp_seconds (town)  when the last round finished
  municloud_probe_answered_from (town, site)         the systems the data center `site` answered in
                                                     the last round (the health answer names it): the
                                                     service off its primary site is an alert

Runs on Debian's python3 with python3-prometheus-client (0.16 in bookworm) and python3-yaml:
the town servers have no PyPI. The probe_agent role installs it as a systemd service with its
configuration in /etc/municloud/probe.yaml.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class ProbeConfig:
    town: str
    target: str  # https://<DC service address>:<port> (http:// without tls)
    systems: tuple[tuple[str, str], ...]  # (system id, tier)
    tls_ca: Path | None = None  # the environment's CA certificate (pinned)
    tls_identity: Path | None = None  # the town's key and certificate, one file
    interval_seconds: float = 15.0
    timeout_seconds: float = 5.0
    listen_address: str = "127.0.0.1"
    listen_port: int = 9469

    @classmethod
    def load(cls, path: Path) -> ProbeConfig:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        tls = data.get("tls") or {}
        return cls(
            town=data["town"],
            target=data["target"].rstrip("/"),
            systems=tuple((s["id"], s["tier"]) for s in data["systems"]),
            interval_seconds=float(data.get("interval_seconds", 15)),
            timeout_seconds=float(data.get("timeout_seconds", 5)),
            listen_address=data.get("listen", {}).get("address", "127.0.0.1"),
            listen_port=int(data.get("listen", {}).get("port", 9469)),
            tls_ca=Path(tls["ca"]) if tls else None,
            tls_identity=Path(tls["identity"]) if tls else None,
        )


class ClientTLS:
    """The town's TLS client: the CA pinned, TLS 1.2 or later, the town's key and certificate.
    The context is made again when the certificate file changes (a rotation replaces it in one
    rename): no restart, no round without a certificate."""

    def __init__(self, ca: Path, identity: Path) -> None:
        self.ca = ca
        self.identity = identity
        self._stamp: tuple[int, int] | None = None
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        status = os.stat(self.identity)
        stamp = (status.st_ino, status.st_mtime_ns)
        if self._context is None or stamp != self._stamp:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(self.identity))
            self._context, self._stamp = context, stamp
        return self._context


class Prober:
    def __init__(self, config: ProbeConfig, registry: CollectorRegistry) -> None:
        self.config = config
        labels = ("town", "system", "tier")
        self.success = Gauge("municloud_probe_success", "1 if the last probe succeeded", labels, registry=registry)
        self.duration = Histogram(
            "municloud_probe_duration_seconds", "Probe duration", labels, buckets=DURATION_BUCKETS, registry=registry
        )
        self.probes = Counter("municloud_probes", "Probes made", labels, registry=registry)
        self.failures = Counter("municloud_probe_failures", "Probes failed", labels, registry=registry)
        self.last_run = Gauge(
            "municloud_probe_last_run_timestamp_seconds", "End of the last probe round", ("town",), registry=registry
        )
        self.answered_from = Gauge(
            "municloud_probe_answered_from",
            "Systems the data center answered in the last round",
            ("town", "site"),
            registry=registry,
        )
        self.sites_seen: set[str] = set()
        for system, tier in config.systems:  # every series exists from the start, at zero
            for metric in (self.probes, self.failures):
                metric.labels(config.town, system, tier)
        self.pool = ThreadPoolExecutor(max_workers=min(8, max(1, len(config.systems))))
        self._local = threading.local()
        self.tls = ClientTLS(config.tls_ca, config.tls_identity) if config.tls_ca and config.tls_identity else None

    def _connection(self, context: ssl.SSLContext | None, fresh: bool) -> http.client.HTTPConnection:
        """This worker thread's kept-alive connection (a new one for a new certificate, or when asked):
        a round costs the service a request per system, not a TLS handshake per system (18 towns'
        rounds of handshakes at once starved the stand-in for seconds)."""
        local = self._local
        if fresh or getattr(local, "connection", None) is None or local.context is not context:
            if getattr(local, "connection", None) is not None:
                local.connection.close()
            target = urllib.parse.urlsplit(self.config.target)
            timeout = self.config.timeout_seconds
            local.connection = (
                http.client.HTTPSConnection(target.hostname, target.port, timeout=timeout, context=context)
                if target.scheme == "https"
                else http.client.HTTPConnection(target.hostname, target.port, timeout=timeout)
            )
            local.context = context
        return local.connection

    def probe(self, system: str, context: ssl.SSLContext | None = None) -> tuple[bool, float, str | None]:
        """One GET: (answered 200, seconds, the data center that answered). On a kept-alive
        connection the service may have closed (a restart, a reload): once more on a new one before
        it counts as failed."""
        path = f"{urllib.parse.urlsplit(self.config.target).path}/health/{self.config.town}/{system}"
        started = time.monotonic()
        ok, site = False, None
        for fresh in (False, True):
            connection = self._connection(context, fresh)
            reused = connection.sock is not None
            try:
                connection.request("GET", path)
                answer = connection.getresponse()
                body = answer.read()
                ok = answer.status == 200
                site = _site(body) if ok else None
                break
            except (OSError, http.client.HTTPException):  # ssl.SSLError is an OSError
                connection.close()
                if not reused:
                    break
        return ok, time.monotonic() - started, site

    def round(self) -> None:
        town = self.config.town
        try:
            context = self.tls.context() if self.tls else None
        except (OSError, ssl.SSLError) as error:  # no usable certificate: every probe of the round fails
            sys.stderr.write(f"the town's TLS files cannot be used: {error}\n")
            results = [(s, (False, 0.0, None)) for s in self.config.systems]
        else:
            results = list(self.pool.map(lambda s: (s, self.probe(s[0], context)), self.config.systems))
        answered: dict[str, int] = {}
        for (system, tier), (ok, seconds, site) in results:
            self.probes.labels(town, system, tier).inc()
            if not ok:
                self.failures.labels(town, system, tier).inc()
            self.success.labels(town, system, tier).set(1 if ok else 0)
            self.duration.labels(town, system, tier).observe(seconds)
            if site is not None:
                answered[site] = answered.get(site, 0) + 1
        self.sites_seen |= set(answered)
        for site in self.sites_seen:  # a site that answered before and not now: 0, not a stale count
            self.answered_from.labels(town, site).set(answered.get(site, 0))
        self.last_run.labels(town).set(time.time())

    def run_forever(self, stop: threading.Event) -> None:
        """Rounds start on a fixed cadence (not `interval` after the previous one ended), so a slow
        round does not stretch the sampling and the SLA's per-minute series stays regular."""
        next_start = time.monotonic()
        while not stop.is_set():
            self.round()
            next_start += self.config.interval_seconds
            delay = next_start - time.monotonic()
            if delay < 0:  # a round longer than the interval: start the next one now, keep cadence
                next_start = time.monotonic()
                delay = 0
            stop.wait(delay)


def _site(body: bytes) -> str | None:
    """The data center named in a health answer ({"site": "dc1", ...}), None when it names none."""
    try:
        site = json.loads(body).get("site")
    except (ValueError, AttributeError):
        return None
    return site if isinstance(site, str) and site else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="municloud probe exporter (one per town)")
    parser.add_argument("--config", default="/etc/municloud/probe.yaml", type=Path)
    args = parser.parse_args(argv)
    config = ProbeConfig.load(args.config)
    registry = CollectorRegistry()
    prober = Prober(config, registry)
    start_http_server(config.listen_port, addr=config.listen_address, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    prober.run_forever(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
