"""Prometheus' rules, generated from the inventory's SLA contract.

Recording rules (group `municloud-sla-minutes-<n>`, evaluated every minute, on the minute: see
minute_group_name):
  municloud:sla_minute:bad{town, system, tier}   1 when at least `down_minute_failed_share` of the
      probe results scraped in the minute before failed, else 0; no sample when none was scraped
  municloud:sla_minute:good                       1 - bad (the same minutes)
  municloud:probe_error_ratio:rate<W>             failed probes / probes over W, from the counters
      (which survive scrapes Prometheus missed), for the burn-rate alerts
Alerting rules (group `municloud-sla-alerts`):
  multi-window, multi-burn-rate alerts as in the SRE workbook (chapter 5), per tier's target:
    page:   burn 14.4 over 1h and 5m, or 6 over 6h and 30m
    ticket: burn 3 over 1d and 2h,   or 1 over 3d and 6h
  absent probe data: a town's exporter not scraped, or its probe rounds stopped.
"""

from __future__ import annotations

import re
from typing import Any

import xxhash

from inventory.loader import Inventory
from pki.authority import EXPIRY_WARNING_DAYS

BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, long window, short window, burn-rate factor), the SRE workbook's table 5-8
BURN_ALERTS = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
)
PROBE_JOB = "municloud-probe"
TOWN_CUT_OFF = "MunicloudTownCutOff"  # a town's circuits all down: inhibits that town's other alerts
DATACENTER_NOT_SERVING = "MunicloudDataCenterNotServing"  # the primary site answers no town


MINUTE_GROUP = "municloud-sla-minutes"
# How far after each whole minute the minute group may be evaluated: its samples then cover the
# calendar minute before them (the SLA report refuses samples further off: monitoring/sla/phase.py).
MINUTE_PHASE_TOLERANCE_S = 0.25


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def seconds(duration: str) -> float:
    """A Prometheus duration ("90s", "1h30m", "3d"), as the rules and configurations write them, in seconds."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def evaluation_offset(rule_file: str, group: str, interval_seconds: int = 60) -> float:
    """Seconds after each interval boundary at which Prometheus 2 evaluates a rule group: the hash of
    the labels {file, name} (xxhash64 of "file\\xff<file>\\xffname\\xff<name>\\xff") modulo the interval,
    as rules/group.go's EvalTimestamp computes it, for the server and for promtool's rule backfill."""
    key = b"file\xff" + rule_file.encode() + b"\xffname\xff" + group.encode() + b"\xff"
    return xxhash.xxh64(key).intdigest() % (interval_seconds * 10**9) / 1e9


def minute_group_name(rule_file: str, tolerance: float = MINUTE_PHASE_TOLERANCE_S) -> str:
    """The per-minute group's name, with the first suffix that makes Prometheus evaluate it within
    `tolerance` seconds after every whole minute: each recorded sample then covers exactly one
    calendar minute (the 60 s before it), which is what the SLA counts. The offset depends on the
    rule file's path, so the name is chosen for the path the file is written to."""
    for n in range(100_000):
        name = f"{MINUTE_GROUP}-{n}"
        if evaluation_offset(rule_file, name) < tolerance:
            return name
    raise RuntimeError(f"no group name found for {rule_file}")


def recording_rules(inventory: Inventory, rule_file: str | None = None) -> dict[str, Any]:
    """`rule_file`: the path Prometheus (or promtool) will read the rules from, to align the minutes."""
    share = inventory.sla.measurement.down_minute_failed_share
    samples = "count_over_time(municloud_probe_success[1m])"
    failed = f"({samples} - sum_over_time(municloud_probe_success[1m]))"
    minutes = [
        {
            "record": "municloud:sla_minute:bad",
            "expr": f"max without (instance, job) ({failed} / {samples} >= bool {share})",
        },
        {  # computed from the probes too, not from `bad`: promtool's rule backfill cannot chain rules
            "record": "municloud:sla_minute:good",
            "expr": f"max without (instance, job) ({failed} / {samples} < bool {share})",
        },
    ]
    ratios = [
        {
            "record": f"municloud:probe_error_ratio:rate{w}",
            "expr": (
                f"sum by (town, system, tier) (rate(municloud_probe_failures_total[{w}]))"
                f" / sum by (town, system, tier) (rate(municloud_probes_total[{w}]))"
            ),
        }
        for w in BURN_WINDOWS
    ]
    return {
        "groups": [
            {"name": minute_group_name(rule_file) if rule_file else MINUTE_GROUP, "interval": "1m", "rules": minutes},
            {"name": "municloud-probe-error-ratios", "interval": "30s", "rules": ratios},
        ]
    }


def alerting_rules(inventory: Inventory, towns: list[str] | None = None) -> dict[str, Any]:
    """`towns`: those expected to send probe data (the environment's); default every town."""
    rules: list[dict[str, Any]] = []
    for tier in inventory.sla.tiers:
        budget = round(1 - tier.availability_target_percent / 100, 10)
        for severity, long, short, factor in BURN_ALERTS:
            threshold = round(factor * budget, 10)
            sel = f'{{tier="{tier.id}"}}'
            rules.append(
                {
                    "alert": f"MunicloudErrorBudgetBurn{severity.capitalize()}",
                    "expr": (
                        f"municloud:probe_error_ratio:rate{long}{sel} > {threshold}"
                        f" and municloud:probe_error_ratio:rate{short}{sel} > {threshold}"
                    ),
                    "for": "2m" if severity == "page" else "15m",
                    "labels": {"severity": severity, "kind": "service", "tier": tier.id, "window": f"{long}/{short}"},
                    "annotations": {
                        "value": "探査の失敗率 {{ $value | humanizePercentage }}",
                        "summary": "{{ $labels.town }}/{{ $labels.system }} burns its error budget fast",
                        "description": (
                            f"Failed probes over {long} and {short} exceed {factor} x the budget of "
                            f"{tier.id} ({tier.availability_target_percent}% target): "
                            "{{ $value | humanizePercentage }}."
                        ),
                    },
                }
            )
    rules += [
        {
            "alert": "MunicloudProbeExporterDown",
            "expr": f'up{{job="{PROBE_JOB}"}} == 0',
            "for": "2m",
            "labels": {"severity": "page", "kind": "probe-data"},
            "annotations": {
                "summary": "No probe data from {{ $labels.town }}: its exporter does not answer",
                "description": "The SLA minutes of {{ $labels.town }} have no data: they count as no-data minutes.",
            },
        },
        {
            "alert": "MunicloudProbeDataAbsent",
            "expr": f'absent_over_time(municloud_probe_last_run_timestamp_seconds{{job="{PROBE_JOB}"}}[5m])',
            "for": "1m",
            "labels": {"severity": "page", "kind": "probe-data"},
            "annotations": {"summary": "No probe data from any town for 5 minutes"},
        },
        {
            "alert": "MunicloudProbeRoundsStalled",
            "expr": "time() - municloud_probe_last_run_timestamp_seconds > 120",
            "for": "1m",
            "labels": {"severity": "page", "kind": "probe-data"},
            "annotations": {"summary": "{{ $labels.town }}'s probes have not run for over 2 minutes"},
        },
    ]
    rules += certificate_alerts()
    rules += backup_alerts(inventory)
    rules += wan_alerts()
    rules += datacenter_alerts(inventory)
    for town in [inventory.town(t) for t in towns] if towns is not None else inventory.towns:
        rules.append(
            {
                "alert": "MunicloudTownProbeDataAbsent",
                "expr": f'absent_over_time(municloud_probe_success{{town="{town.id}"}}[5m])',
                "for": "5m",
                "labels": {"severity": "ticket", "kind": "probe-data", "town": town.id},
                "annotations": {"summary": f"No probe data from {town.id} ({town.name}) for 5 minutes"},
            }
        )
    return {"groups": [{"name": "municloud-sla-alerts", "interval": "30s", "rules": [_with_value(r) for r in rules]}]}


def _with_value(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule with a `value` annotation (the e-mails' 現在値): the value that fired it, in the unit
    its expression gives, unless the rule says how to show it."""
    if "value" in rule["annotations"]:
        return rule
    return {**rule, "annotations": {**rule["annotations"], "value": '{{ $value | printf "%.4g" }}'}}


def backup_alerts(inventory: Inventory) -> list[dict[str, Any]]:
    """The database's backups (pgBackRest, exported by each backup and database server's node
    exporter): a repository that cannot be read, whose newest backup or archived WAL is older than
    datacenters.yaml allows, and WAL waiting on a database server (a repository out of reach). The
    repositories' newest archived segment is exported for the reports, not alerted on."""
    policy = inventory.datacenters_file.database_backup
    backup_age_s = policy.max_backup_age_hours * 3600
    archive_age_s = policy.max_archive_age_minutes * 60
    return of_kind(
        "backup",
        [
            {
                "alert": "MunicloudBackupRepositoryUnreadable",
                "expr": "municloud_pgbackrest_up == 0",
                "for": "5m",
                "labels": {"severity": "page"},
                "annotations": {
                    "summary": "pgBackRest cannot read repository {{ $labels.repo }} ({{ $labels.site }})",
                    "description": "On its backup server: pgbackrest --stanza=main info; its log: /var/log/pgbackrest.",
                },
            },
            {
                "alert": "MunicloudBackupTooOld",
                "expr": (
                    f'time() - max by (repo, site) (municloud_pgbackrest_last_backup_timestamp_seconds{{type="any"}})'
                    f" > {backup_age_s}"
                    " or (municloud_pgbackrest_backups == 0 and municloud_pgbackrest_up == 1)"
                ),
                "for": "10m",
                "labels": {"severity": "page"},
                "annotations": {
                    "summary": "Repository {{ $labels.repo }} ({{ $labels.site }}) has no backup younger than "
                    f"{policy.max_backup_age_hours} h",
                    "description": "Its timers: systemctl status 'municloud-pgbackrest-*' on the site's backup server.",
                },
            },
            {
                # Measured where the WAL is made: an idle database archives nothing, and a repository's
                # newest segment growing old says nothing then. A segment waits here until every
                # repository has it (pgBackRest fails archive_command while one is out of reach).
                "alert": "MunicloudWalArchiveBehind",
                "expr": f"municloud_wal_oldest_ready_age_seconds > {archive_age_s}",
                "for": "2m",
                "labels": {"severity": "page"},
                "annotations": {
                    "summary": "{{ $labels.site }}'s database holds WAL a repository has not taken for "
                    "{{ $value | humanizeDuration }}",
                    "description": (
                        "Point-in-time recovery from that repository ends where it stopped. The database keeps "
                        "the WAL until the repository is back (nothing is lost meanwhile): watch pg_wal's disk."
                    ),
                },
            },
        ],
    )


def certificate_alerts() -> list[dict[str, Any]]:
    """A certificate of the environment's PKI that expires within 30 days, or cannot be used: a town
    whose certificate lapses is cut off from its tenant (mutual TLS), so it is warned of a month ahead."""
    return of_kind(
        "certificate",
        [
            {
                "alert": "MunicloudCertificateExpiresSoon",
                "expr": f"municloud_certificate_not_after_timestamp_seconds - time() < {EXPIRY_WARNING_DAYS} * 86400",
                "for": "10m",
                "labels": {"severity": "ticket"},
                "annotations": {
                    "value": "残り {{ $value | humanizeDuration }}",
                    "summary": "The certificate of {{ $labels.subject }} expires in {{ $value | humanizeDuration }}",
                    "description": (
                        "Renew it without an outage: municloud pki rotate --town {{ $labels.subject }} for a town's, "
                        "municloud pki rotate --service for the service's or the operations center's, municloud "
                        "provision --limit role_db,role_backup for a database or backup server's (pgBackRest's "
                        "TLS); the CA's own: plan a new CA and reissue every certificate before it expires."
                    ),
                },
            },
            {
                "alert": "MunicloudCertificateUnusable",
                "expr": "municloud_certificate_usable == 0",
                "for": "5m",
                "labels": {"severity": "page"},
                "annotations": {
                    "summary": "The certificate of {{ $labels.subject }} cannot be used",
                    "description": "municloud pki status says why (missing, expired, another CA's or another town's).",
                },
            },
        ],
    )


def wan_alerts() -> list[dict[str, Any]]:
    """A town's circuits as its CE router reports them (the WAN exporter): one circuit down (the
    town runs on the other, at its bandwidth), or the town cut off: both down, or its router out of
    reach (in production it is reached over the same circuits). The town's service and probe alerts
    are then this one's consequence: Alertmanager inhibits them (monitoring/alerting.py)."""
    return of_kind(
        "wan",
        [
            {
                "alert": "MunicloudWanCircuitDown",
                "expr": (
                    "municloud_wan_bgp_session_up == 0"
                    " unless on (town) max by (town) (municloud_wan_bgp_session_up) == 0"
                ),
                "for": "2m",
                "labels": {"severity": "ticket"},
                "annotations": {
                    "summary": "{{ $labels.town }}'s {{ $labels.circuit }} circuit is down: "
                    "the town runs on its other one",
                    "description": "Ask the carrier about the circuit (peer {{ $labels.peer }}).",
                },
            },
            {
                "alert": TOWN_CUT_OFF,
                "expr": (
                    "max by (town) (municloud_wan_bgp_session_up) == 0 or max by (town) (municloud_wan_router_up) == 0"
                ),
                "for": "1m",
                "labels": {"severity": "page"},
                "annotations": {
                    "summary": "{{ $labels.town }} is cut off from the data centers: both circuits down "
                    "or its router unreachable",
                    "description": "The town's counters cannot use the business systems. Call the carrier's NOC.",
                },
            },
        ],
    )


def datacenter_alerts(inventory: Inventory) -> list[dict[str, Any]]:
    """The primary data center answering no town while another site answers them (its standby: the
    primary site lost or cut off, or drained): the whole cloud's matter, one alert for the site
    (Alertmanager tells the vendor, the secretariat and every town once, and holds back the towns'
    service alerts it causes). Read from the towns' probes, which say which site answered."""
    dc = inventory.primary_dc
    return of_kind(
        "datacenter",
        [
            {
                "alert": DATACENTER_NOT_SERVING,
                "expr": (
                    f'sum(municloud_probe_answered_from{{site!="{dc.id}"}}) > 0'
                    f' unless on () sum(municloud_probe_answered_from{{site="{dc.id}"}}) > 0'
                ),
                "for": "1m",
                "labels": {"severity": "page", "site": dc.id},
                "annotations": {
                    "summary": f"{dc.id} ({dc.name}) answers no town: the service runs from the other data center",
                    "description": (
                        "Reads come from the other site's standby; writes are refused until the BCP manager "
                        "declares the disaster and `municloud db failover` promotes it."
                    ),
                },
            }
        ],
    )


def of_kind(kind: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rules` labelled with their `kind`: Alertmanager routes by it (monitoring/alerting.py)."""
    return [{**rule, "labels": {**rule["labels"], "kind": kind}} for rule in rules]
