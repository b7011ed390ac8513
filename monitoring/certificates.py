"""The environment's certificates as metrics, so their expiry raises an alert before it bites.

Served by the operations center's exporter beside the WAN readings (monitoring/wan_exporter.py),
read from the PKI folder at every scrape (a few dozen small files):

  municloud_certificate_not_after_timestamp_seconds{subject}   when it expires (Unix time)
  municloud_certificate_usable{subject}                        1 when usable, 0 when missing, malformed,
                                                               another CA's, expired or another town's

An environment whose CA has not been created yet (`municloud pki issue`) exports nothing: there
is nothing to watch, and an alert per town would only be noise.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from inventory.loader import Inventory
from pki.authority import Authority
from pki.environment import watched_hosts


class CertificateCollector(Collector):
    """The CA's, the towns', the service's, the operations center's and the database and backup
    servers' certificates (pgBackRest's TLS: one expired stops the WAL archive)."""

    def __init__(self, authority: Authority, inventory: Inventory, towns: list[str]) -> None:
        self.authority = authority
        self.inventory = inventory
        self.towns = towns

    def collect(self):  # type: ignore[no-untyped-def]
        expiry = GaugeMetricFamily(
            "municloud_certificate_not_after_timestamp_seconds",
            "When the certificate expires (Unix time)",
            labels=["subject"],
        )
        usable = GaugeMetricFamily(
            "municloud_certificate_usable", "1 when the certificate is usable, 0 when not", labels=["subject"]
        )
        if self.authority.ca_cert_path.exists():
            hosts = watched_hosts(self.inventory, self.authority)
            for state in self.authority.states(self.towns, hosts=hosts):
                if state.not_after is not None:
                    expiry.add_metric([state.subject], state.not_after.timestamp())
                usable.add_metric([state.subject], 0 if state.problem else 1)
        yield from (expiry, usable)
