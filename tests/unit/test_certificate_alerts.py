"""Certificates that expire within 30 days raise an alert: the operations center's exporter serves
each certificate's expiry and usability from the PKI folder, and promtool proves the rules fire."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from functools import cache
from ipaddress import IPv4Address

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from inventory.check import load_inventory
from inventory.loader import Inventory
from monitoring.certificates import CertificateCollector
from monitoring.rules import certificate_alerts
from pki.authority import Authority


@cache
def _inventory() -> Inventory:
    return load_inventory()


def _scrape(authority: Authority, towns: list[str]) -> str:
    registry = CollectorRegistry()
    registry.register(CertificateCollector(authority, _inventory(), towns))
    return generate_latest(registry).decode()


def test_an_environment_without_a_ca_exports_nothing(tmp_path) -> None:
    text = _scrape(Authority("lab", tmp_path / "pki"), ["ina"])
    assert 'subject="ina"' not in text


def test_each_certificate_has_its_expiry_and_whether_it_is_usable(tmp_path) -> None:
    authority = Authority("lab", tmp_path / "pki")
    authority.ensure_ca()
    path = authority.issue_town("ina", "伊奈町", days=10)
    text = _scrape(authority, ["ina", "ogose"])
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    line = next(
        x for x in text.splitlines() if x.startswith('municloud_certificate_not_after_timestamp_seconds{subject="ina"}')
    )
    assert abs(float(line.split()[-1]) - not_after.timestamp()) < 120
    assert 'municloud_certificate_usable{subject="ina"} 1.0' in text
    assert 'municloud_certificate_usable{subject="ogose"} 0.0' in text  # never issued
    assert 'municloud_certificate_usable{subject="ca"} 1.0' in text
    path.write_text("garbage")
    assert 'municloud_certificate_usable{subject="ina"} 0.0' in _scrape(authority, ["ina"])


def test_the_database_and_backup_servers_certificates_are_watched_once_provisioning_issued_them(tmp_path) -> None:
    """pgBackRest's TLS between the database and the backup servers: an expired host certificate
    stops the WAL archive, so each is watched like a town's, and a missing one is a problem once
    any was issued (before provisioning none is expected)."""
    authority = Authority("lab", tmp_path / "pki")
    authority.ensure_ca()
    assert "dc1-backup1" not in _scrape(authority, ["ina"])  # nothing issued yet: nothing to watch
    authority.issue_host("dc1-db1", [IPv4Address("198.18.0.35")], days=10)
    text = _scrape(authority, ["ina"])
    assert 'municloud_certificate_usable{subject="dc1-db1"} 1.0' in text
    hosts = {"dc1-db1", "dc2-db1", "dc1-backup1", "dc2-backup1"}
    assert {h for h in hosts if f'municloud_certificate_usable{{subject="{h}"}} 0.0' in text} == hosts - {"dc1-db1"}


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus)")
def test_promtool_sees_the_alerts_fire_for_a_certificate_expiring_within_30_days(tmp_path) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "certs", "rules": certificate_alerts()}]}))
    days = 86400
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'municloud_certificate_not_after_timestamp_seconds{subject="ina"}',
                        "values": f"{20 * days}x30",
                    },
                    {
                        "series": 'municloud_certificate_not_after_timestamp_seconds{subject="ogose"}',
                        "values": f"{90 * days}x30",
                    },
                    {"series": 'municloud_certificate_usable{subject="ina"}', "values": "1x30"},
                    {"series": 'municloud_certificate_usable{subject="service"}', "values": "0x30"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "MunicloudCertificateExpiresSoon",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "ticket", "kind": "certificate", "subject": "ina"},
                                "exp_annotations": {
                                    "value": "残り 19d 23h 45m 0s",
                                    "summary": "The certificate of ina expires in 19d 23h 45m 0s",
                                    "description": "Renew it without an outage: municloud pki rotate --town ina for "
                                    "a town's, municloud pki rotate --service for the service's or the operations "
                                    "center's, municloud provision --limit role_db,role_backup for a database or "
                                    "backup server's (pgBackRest's TLS); the CA's own: plan a new CA and reissue "
                                    "every certificate before it expires.",
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": "15m",
                        "alertname": "MunicloudCertificateUnusable",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "page", "kind": "certificate", "subject": "service"},
                                "exp_annotations": {
                                    "summary": "The certificate of service cannot be used",
                                    "description": "municloud pki status says why (missing, expired, another CA's "
                                    "or another town's).",
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(["promtool", "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
