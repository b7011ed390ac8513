"""Who receives which alert: Alertmanager's configuration from the inventory's contacts, checked by
amtool, and every kind of alert the rules raise routed (by Alertmanager's own `amtool config routes
test`) to exactly the parties it concerns, each a message of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from inventory.check import load_inventory
from monitoring.alerting import (
    DRILL_KIND,
    DRILL_NOTICE,
    KINDS,
    AlertingError,
    MailSettings,
    alertmanager_config,
    check_config,
    receivers_for,
    write_config,
)
from monitoring.rules import DATACENTER_NOT_SERVING, TOWN_CUT_OFF, alerting_rules, datacenter_alerts, wan_alerts

pytestmark = pytest.mark.skipif(not shutil.which("amtool"), reason="needs amtool (Debian's prometheus-alertmanager)")

LAB_MAIL = MailSettings("127.0.0.1:2525", "municloud-alerts@ops.example", require_tls=False)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inv = load_inventory()
    return write_config(alertmanager_config(inv, LAB_MAIL), tmp_path_factory.mktemp("am") / "alertmanager.yml")


def test_every_alert_the_rules_raise_has_a_kind_the_routes_know() -> None:
    rules = alerting_rules(load_inventory())["groups"][0]["rules"]
    kinds = {r["alert"]: r["labels"].get("kind") for r in rules}
    assert set(kinds.values()) <= set(KINDS), kinds
    assert kinds[TOWN_CUT_OFF] == "wan" and kinds["MunicloudErrorBudgetBurnPage"] == "service"
    assert kinds[DATACENTER_NOT_SERVING] == "datacenter"


@pytest.mark.parametrize(
    ("labels", "told"),
    [
        # a town's business system burning its budget: the town, the vendor, the secretariat
        (
            {"alertname": "MunicloudErrorBudgetBurnPage", "kind": "service", "town": "ina", "tier": "critical"},
            ["town-ina", "vendor", "secretariat"],
        ),
        (
            {"alertname": "MunicloudErrorBudgetBurnTicket", "kind": "service", "town": "ogose", "tier": "standard"},
            ["town-ogose", "vendor", "secretariat"],
        ),
        # a town's probes silent: the town and the vendor, never the other towns
        ({"alertname": "MunicloudTownProbeDataAbsent", "kind": "probe-data", "town": "ina"}, ["town-ina", "vendor"]),
        # a town's circuit: the carrier and the town
        ({"alertname": "MunicloudWanCircuitDown", "kind": "wan", "town": "yorii"}, ["town-yorii", "carrier"]),
        ({"alertname": TOWN_CUT_OFF, "kind": "wan", "town": "yorii"}, ["town-yorii", "carrier"]),
        # the backups and the certificates: the vendor's on-call
        ({"alertname": "MunicloudBackupTooOld", "kind": "backup", "site": "dc1"}, ["vendor"]),
        ({"alertname": "MunicloudCertificateExpiresSoon", "kind": "certificate", "subject": "ina"}, ["vendor"]),
        # a drill's notice: the town it affects, the vendor and the secretariat
        (
            {"alertname": DRILL_NOTICE, "kind": DRILL_KIND, "town": "ina", "scenario": "circuit-failover"},
            ["town-ina", "vendor", "secretariat"],
        ),
        # an alert nobody classified still reaches someone
        ({"alertname": "SomethingNew"}, ["vendor"]),
    ],
)
def test_each_kind_of_alert_reaches_exactly_the_parties_it_concerns(config_file, labels, told) -> None:
    assert receivers_for(config_file, labels) == told


def test_a_data_center_lost_is_told_to_the_vendor_the_secretariat_and_every_town_once_per_site(config_file) -> None:
    inv = load_inventory()
    told = receivers_for(config_file, {"alertname": DATACENTER_NOT_SERVING, "kind": "datacenter", "site": "dc1"})
    assert told == ["vendor", "secretariat", *(f"town-{t.id}" for t in inv.towns)]
    dc_routes = alertmanager_config(inv, LAB_MAIL)["route"]["routes"][0]["routes"]
    assert all(r["group_by"] == ["kind", "site"] for r in dc_routes)  # one message per site, not per town or system


def test_a_still_firing_alert_is_repeated_at_its_tiers_interval() -> None:
    inv = load_inventory()
    service = alertmanager_config(inv, LAB_MAIL)["route"]["routes"][1]
    repeats = {b["matchers"][0] if "matchers" in b else "default": b["repeat_interval"] for b in service["routes"]}
    wanted = inv.contacts.repeat_minutes
    assert repeats == {
        'tier="critical"': f"{wanted['critical']}m",
        'tier="essential"': f"{wanted['essential']}m",
        'tier="standard"': f"{wanted['standard']}m",
        "default": f"{wanted['default']}m",
    }


def test_a_town_cut_off_silences_its_consequences_and_a_lost_data_center_the_towns_service_alerts() -> None:
    inhibit = alertmanager_config(load_inventory(), LAB_MAIL)["inhibit_rules"]
    assert {
        "source_matchers": [f'alertname="{TOWN_CUT_OFF}"'],
        "target_matchers": ['kind=~"service|probe-data"'],
        "equal": ["town"],
    } in inhibit
    assert {"source_matchers": ['kind="datacenter"'], "target_matchers": ['kind="service"']} in inhibit


def test_every_receiver_sends_to_the_inventorys_addresses(config_file) -> None:
    inv = load_inventory()
    receivers = {r["name"]: r for r in alertmanager_config(inv, LAB_MAIL)["receivers"]}
    assert receivers["town-ina"]["email_configs"][0]["to"] == ", ".join(
        p.email for p in inv.contacts.towns["ina"].it_officers
    )
    assert receivers["carrier"]["email_configs"][0]["to"] == inv.contacts.carrier_noc.people[0].email
    assert os.stat(config_file).st_mode & 0o077 == 0  # a production relay's password may be in it
    assert "&id" not in config_file.read_text(encoding="utf-8")  # written out whole, no YAML references


def test_production_refuses_sample_contacts() -> None:
    with pytest.raises(AlertingError, match="SAMPLE addresses"):
        alertmanager_config(load_inventory(), LAB_MAIL, production=True)


def test_a_configuration_alertmanager_would_refuse_is_refused_with_amtools_words(tmp_path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: vendor\n", encoding="utf-8")
    with pytest.raises(AlertingError, match=r"alertmanager.yml: amtool check-config refused it: .*nobody"):
        check_config(broken)


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus)")
def test_promtool_sees_a_circuit_a_town_cut_off_and_a_data_center_not_serving(tmp_path) -> None:
    """The WAN alerts from the WAN exporter's sessions (one circuit down: a ticket for it alone; both:
    the town cut off, not two circuit alerts) and the data-center alert from the towns' probes
    (DC1 answering nobody while DC2 answers)."""
    rules = wan_alerts() + datacenter_alerts(load_inventory())
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    series = [
        # ina: its primary circuit down; yorii: both down
        ('municloud_wan_bgp_session_up{town="ina", circuit="primary", peer="p1"}', "0x10"),
        ('municloud_wan_bgp_session_up{town="ina", circuit="backup", peer="p2"}', "1x10"),
        ('municloud_wan_bgp_session_up{town="yorii", circuit="primary", peer="p3"}', "0x10"),
        ('municloud_wan_bgp_session_up{town="yorii", circuit="backup", peer="p4"}', "0x10"),
        ('municloud_wan_router_up{town="ina", router="ina-ce1"}', "1x10"),
        ('municloud_wan_router_up{town="yorii", router="yorii-ce1"}', "1x10"),
        # every town answered from DC2 after the first minutes (DC1 lost)
        ('municloud_probe_answered_from{town="ina", site="dc1"}', "3 3 0x8"),
        ('municloud_probe_answered_from{town="ina", site="dc2"}', "0 0 3x8"),
    ]
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "MunicloudWanCircuitDown",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "ticket",
                                    "kind": "wan",
                                    "town": "ina",
                                    "circuit": "primary",
                                    "peer": "p1",
                                }
                            }
                        ],
                    },
                    {
                        "eval_time": "5m",
                        "alertname": TOWN_CUT_OFF,
                        "exp_alerts": [{"exp_labels": {"severity": "page", "kind": "wan", "town": "yorii"}}],
                    },
                    {"eval_time": "2m", "alertname": DATACENTER_NOT_SERVING, "exp_alerts": []},
                    {
                        "eval_time": "5m",
                        "alertname": DATACENTER_NOT_SERVING,
                        "exp_alerts": [{"exp_labels": {"severity": "page", "kind": "datacenter", "site": "dc1"}}],
                    },
                ],
            }
        ],
    }
    said = {  # what each message says, rendered for these labels
        "MunicloudWanCircuitDown": {
            "summary": "ina's primary circuit is down: the town runs on its other one",
            "description": "Ask the carrier about the circuit (peer p1).",
        },
        TOWN_CUT_OFF: {
            "summary": "yorii is cut off from the data centers: both circuits down or its router unreachable",
            "description": "The town's counters cannot use the business systems. Call the carrier's NOC.",
        },
        DATACENTER_NOT_SERVING: next(r for r in rules if r["alert"] == DATACENTER_NOT_SERVING)["annotations"],
    }
    for case in tests["tests"][0]["alert_rule_test"]:
        for alert in case["exp_alerts"]:
            alert["exp_annotations"] = said[case["alertname"]]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(["promtool", "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
