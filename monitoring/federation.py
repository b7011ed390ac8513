"""Monitoring past one Prometheus: one regional Prometheus per shard of towns and a global one.

Each regional Prometheus scrapes its towns' probe exporters and in-office servers, records their SLA
minutes and error ratios (its own copy of the recording rules, whose minute group is named for its
own path: the minutes lie on the minute there too), and raises their service and probe-data alerts.
The global Prometheus federates from each regional one what the whole cloud needs: the recorded SLA
minutes (the SLA report reads them there, as from a single server) and which site answered each
town's probes (the data-center alert compares the towns); it scrapes the data centers' and the
carrier's hosts, the WAN exporter and Alertmanager, and raises the alerts that are not a town's own
(WAN, data center, backups, certificates). Both send to the one Alertmanager.

Federation keeps each sample's own timestamp, so the global server holds the regional minutes
exactly (on the minute, the same values). A regional Prometheus down leaves no federated sample for
its towns: the SLA report shows those minutes as missing data, for exactly its towns, never as
uptime. (Remote write to a long-term store such as Debian's victoria-metrics would serve the same
purpose for the 13 months an audit needs; federation needs nothing beyond Prometheus itself.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

from .promapi import PrometheusAPI
from .prometheus_config import ConfigFiles, alerting_section, config_files, dump_generated, scrape_config
from .rules import PROBE_JOB, alerting_rules, recording_rules

# the alerts of a town's own probes: raised where those probes are scraped
REGIONAL_ALERT_KINDS = ("service", "probe-data")
# what the global server federates from each regional one
FEDERATED = (
    '{__name__=~"municloud:sla_minute:.+"}',
    '{__name__="municloud_probe_answered_from"}',
)
FEDERATE_JOB = "municloud-federate"
# a regional server's samples reach the global one at most this long after they are recorded
# (the recorded minutes are kept only if each is federated before the next replaces it: < 1m)
FEDERATE_INTERVAL = "15s"


@dataclass(frozen=True)
class RegionalServer:
    """One regional Prometheus and the towns it serves (the scale plan's: a node's regions)."""

    id: str  # the plan's name for it: prom-1, prom-2, ...
    towns: tuple[str, ...]


def _targets_of(job: dict[str, Any], towns: set[str], by: str, keep: bool = True) -> dict[str, Any]:
    """`job` with the targets whose label `by` names one of `towns` (keep), or with all others."""
    kept = [sc for sc in job["static_configs"] if (sc["labels"].get(by) in towns) == keep]
    return {**job, "static_configs": kept}


def _alerts(inventory: Inventory, towns: list[str], regional: bool) -> dict[str, Any]:
    groups = alerting_rules(inventory, towns)["groups"]
    rules = [r for g in groups for r in g["rules"] if (r["labels"].get("kind") in REGIONAL_ALERT_KINDS) == regional]
    return {"groups": [{**groups[0], "rules": rules}]}


def write_regional_config(
    inventory: Inventory, binding: EnvironmentBinding, server: RegionalServer, directory: Path, alertmanager: str | None
) -> ConfigFiles:
    """A regional Prometheus: its towns' probes and servers, their SLA minutes and their own alerts."""
    files = config_files(directory)
    towns = set(server.towns)
    config = scrape_config(inventory, binding, [str(files.recording), str(files.alerting)], None, None)
    config["scrape_configs"] = [
        _targets_of(job, towns, "town" if job["job_name"] == PROBE_JOB else "site") for job in config["scrape_configs"]
    ]
    if alertmanager:  # only the global server scrapes Alertmanager itself
        config["alerting"] = alerting_section(alertmanager)
    dump_generated(files.recording, recording_rules(inventory, str(files.recording)))
    dump_generated(files.alerting, _alerts(inventory, sorted(towns), regional=True))
    dump_generated(files.config, config)
    return files


def write_global_config(
    inventory: Inventory,
    binding: EnvironmentBinding,
    regionals: dict[str, str],
    directory: Path,
    wan_exporter: str | None,
    alertmanager: str | None,
) -> ConfigFiles:
    """The global Prometheus: the regional servers (`regionals`: id -> host:port) federated, the
    data centers' and the carrier's hosts, the WAN exporter, Alertmanager, and the cloud's alerts."""
    files = config_files(directory)
    towns = set(binding.towns)
    config = scrape_config(inventory, binding, [str(files.alerting)], wan_exporter, alertmanager)
    jobs = [job for job in config["scrape_configs"] if job["job_name"] != PROBE_JOB]
    jobs = [_targets_of(job, towns, "site", keep=False) if job["job_name"] == "node" else job for job in jobs]
    jobs.append(
        {
            "job_name": FEDERATE_JOB,
            "honor_labels": True,  # the towns' and systems' labels as the regional server recorded them
            "metrics_path": "/federate",
            "params": {"match[]": list(FEDERATED)},
            "scrape_interval": FEDERATE_INTERVAL,
            "static_configs": [
                {"targets": [address], "labels": {"regional": server}} for server, address in sorted(regionals.items())
            ],
        }
    )
    config["scrape_configs"] = jobs
    dump_generated(files.recording, {"groups": []})  # nothing is recorded here: the minutes come federated
    dump_generated(files.alerting, _alerts(inventory, sorted(towns), regional=False))
    dump_generated(files.config, config)
    return files


def federation_lags(api: PrometheusAPI, seconds: float, poll: float = 0.5) -> list[float]:
    """For `seconds`, how long after its timestamp each newly recorded SLA minute was first seen in
    the global view `api` (the lag must stay under a minute: the regional server's next minute
    replaces the sample). One figure per minute that arrived while watching."""
    lags: list[float] = []
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        newest = api.query("max(timestamp(municloud:sla_minute:bad))", time.time())
        stamp = newest[0].values[-1][1] if newest else None
        if stamp is not None and last is not None and stamp > last:
            lags.append(time.time() - stamp)
        last = stamp
        time.sleep(poll)
    return lags
