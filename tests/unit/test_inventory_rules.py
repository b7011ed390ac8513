"""Every validation rule: the bad input it rejects and the message it gives.

Each case breaks one thing in a private copy of the shipped inventory and expects a problem worded
`file:line: entry: field: rule broken` that names the right file, entry, field and rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Edit, assert_refused, check, town

Case = tuple[str, Callable[[Any], None], str, str, str]


def _ina(fn: Callable[[dict], None]) -> Callable[[Any], None]:
    return lambda data: fn(town(data, "ina"))


def _drop_required(t: dict) -> None:
    t["subscriptions"].remove("resident-registry")


def _rename_key(t: dict) -> None:
    t["popluation"] = t.pop("population")


CASES: dict[str, Case] = {
    "population must be positive": (
        "towns.yaml",
        _ina(lambda t: t.update(population=-5)),
        "town 'ina'",
        "population",
        "greater than 0",
    ),
    "population must be an integer, not a string": (
        "towns.yaml",
        _ina(lambda t: t.update(population="43,727")),
        "town 'ina'",
        "population",
        "valid integer",
    ),
    "unknown key gets the nearest valid key": (
        "towns.yaml",
        _ina(_rename_key),
        "town 'ina'",
        "popluation",
        "unknown key 'popluation' (did you mean 'population'?)",
    ),
    "missing key": ("towns.yaml", _ina(lambda t: t.pop("romaji")), "town 'ina'", "romaji", "required, but missing"),
    "duplicate town id": (
        "towns.yaml",
        lambda d: town(d, "ogose").update(id="ina"),
        "town 'ina'",
        "id",
        "id 'ina' is already used",
    ),
    "duplicate Japanese name": (
        "towns.yaml",
        lambda d: town(d, "ogose").update(name="伊奈町", romaji="Ogose"),
        "town 'ogose'",
        "name",
        "name '伊奈町' is already used",
    ),
    "duplicate town number": (
        "towns.yaml",
        lambda d: town(d, "ogose").update(number=1),
        "town 'ogose'",
        "number",
        "number 1 is already used",
    ),
    "id must be a romaji slug": (
        "towns.yaml",
        _ina(lambda t: t.update(id="Ina Town")),
        "town 'Ina Town'",
        "id",
        "not a valid id",
    ),
    "kind must match the name's suffix": (
        "towns.yaml",
        _ina(lambda t: t.update(kind="village")),
        "town 'ina'",
        "",
        "does not end with 村",
    ),
    "every town subscribes every required system": (
        "towns.yaml",
        _ina(_drop_required),
        "town 'ina'",
        "subscriptions",
        "every ◎ (required) system must be subscribed; missing: 01 住民基本台帳",
    ),
    "an option system may not be replaced by another vendor's": (
        "towns.yaml",
        _ina(lambda t: t.setdefault("external_systems", []).append({"system": "nursery-fees", "vendor": "X社"})),
        "town 'ina'",
        "external_systems[2].system",
        "○ (option): take ours or none",
    ),
    "a required system may not be another vendor's": (
        "towns.yaml",
        _ina(lambda t: t.setdefault("external_systems", []).append({"system": "collections", "vendor": "X社"})),
        "town 'ina'",
        "external_systems[2].system",
        "◎ (required): it must be ours",
    ),
    "an out-of-scope system cannot be subscribed": (
        "towns.yaml",
        _ina(lambda t: t["subscriptions"].append("family-register")),
        "town 'ina'",
        "subscriptions[31]",
        "× (out of scope) and cannot be subscribed",
    ),
    "unknown system reference with a suggestion": (
        "towns.yaml",
        _ina(lambda t: t["subscriptions"].append("nursery-fee")),
        "town 'ina'",
        "subscriptions[31]",
        "unknown system 'nursery-fee' (did you mean 'nursery-fees'?)",
    ),
    "a system subscribed twice": (
        "towns.yaml",
        _ina(lambda t: t["subscriptions"].append("collections")),
        "town 'ina'",
        "subscriptions[31]",
        "'collections' is subscribed twice",
    ),
    "a vendor option both subscribed and external": (
        "towns.yaml",
        _ina(lambda t: t["external_systems"].append({"system": "crop-conversion", "vendor": "X社"})),
        "town 'ina'",
        "external_systems[2].system",
        "both subscribed and covered",
    ),
    "both circuits on the same carrier edge": (
        "towns.yaml",
        _ina(lambda t: t["circuits"]["backup"].update(carrier_edge="pe1")),
        "town 'ina'",
        "circuits.backup.carrier_edge",
        "must land on another carrier edge",
    ),
    "unknown carrier edge": (
        "towns.yaml",
        _ina(lambda t: t["circuits"]["primary"].update(carrier_edge="pe9")),
        "town 'ina'",
        "circuits.primary.carrier_edge",
        "unknown carrier edge 'pe9'",
    ),
    "duplicate circuit id": (
        "towns.yaml",
        lambda d: town(d, "ogose")["circuits"]["primary"].update(id="KDDI-WVS-0001-P"),
        "town 'ogose'",
        "circuits.primary.id",
        "circuit id 'KDDI-WVS-0001-P' is already used",
    ),
    "duplicate AS number": (
        "towns.yaml",
        lambda d: town(d, "ogose")["router"].update(asn=65101),
        "town 'ogose'",
        "router.asn",
        "AS number 65101 is already used",
    ),
    "AS number out of range": (
        "towns.yaml",
        _ina(lambda t: t["router"].update(asn=0)),
        "town 'ina'",
        "router.asn",
        "not a usable AS number",
    ),
    "duplicate router name": (
        "towns.yaml",
        lambda d: town(d, "ogose")["router"].update(name="kddi-pe1"),
        "town 'ogose'",
        "router.name",
        "router name 'kddi-pe1' is already used",
    ),
    "duplicate host name": (
        "towns.yaml",
        lambda d: town(d, "ogose")["servers"][0].update(name="ina-sv01"),
        "town 'ogose'",
        "servers[0].name",
        "host name 'ina-sv01' is already used",
    ),
    "unknown router platform": (
        "towns.yaml",
        _ina(lambda t: t["router"].update(platform="junos")),
        "town 'ina'",
        "router.platform",
        "got 'junos'",
    ),
    "a Yamaha router without its model": (
        "towns.yaml",
        lambda d: town(d, "namegawa")["router"].pop("model"),
        "town 'namegawa'",
        "router.model",
        "a Yamaha RTX router needs its model",
    ),
    "a router model with too few ports for a town hall": (
        "towns.yaml",
        lambda d: town(d, "namegawa")["router"].update(model="RTX830"),
        "town 'namegawa'",
        "router.model",
        "RTX830 has 2 routed ports; a town hall's router needs 3",
    ),
    "an unknown NEC model": (
        "towns.yaml",
        lambda d: town(d, "hatoyama")["router"].update(model="IX9999"),
        "town 'hatoyama'",
        "router.model",
        "unknown NEC UNIVERGE IX model 'IX9999'",
    ),
    "a firmware version not written as the vendor writes it": (
        "towns.yaml",
        lambda d: town(d, "namegawa")["router"].update(firmware="15.02.30"),
        "town 'namegawa'",
        "router.firmware",
        "firmware '15.02.30' is not a Yamaha RTX version (written like 'Rev.15.02.30')",
    ),
    "live cut-over needs a date": (
        "towns.yaml",
        _ina(lambda t: t["cutover"].pop("date")),
        "town 'ina'",
        "cutover",
        "needs its cut-over date",
    ),
    "same VLAN for two segments": (
        "towns.yaml",
        _ina(lambda t: t["site"]["vlans"].update(lgwan=10)),
        "town 'ina'",
        "site",
        "the lan and lgwan segments share VLAN 10",
    ),
    "populations must add up to the control total": (
        "towns.yaml",
        _ina(lambda t: t.update(population=43_728)),
        "",
        "expected_total_population",
        "add up to 350,780, not 350,779",
    ),
    "wrong YAML type: a string where a list belongs": (
        "towns.yaml",
        _ina(lambda t: t.update(subscriptions="resident-registry")),
        "town 'ina'",
        "subscriptions",
        "valid list",
    ),
    "unknown tenant parameter": (
        "towns.yaml",
        _ina(lambda t: t["parameters"]["nhi-tax"].update(instalments=8)),
        "town 'ina'",
        "parameters.nhi-tax.instalments",
        "did you mean 'installments'?",
    ),
    "tenant parameter of the wrong type": (
        "towns.yaml",
        _ina(lambda t: t["parameters"]["nhi-tax"].update(installments="8")),
        "town 'ina'",
        "parameters.nhi-tax.installments",
        "must be an integer",
    ),
    "tenant parameter out of range": (
        "towns.yaml",
        _ina(lambda t: t["parameters"]["nhi-tax"].update(installments=13)),
        "town 'ina'",
        "parameters.nhi-tax.installments",
        "must be at most 12",
    ),
    "tenant parameter not among the choices": (
        "towns.yaml",
        _ina(lambda t: t["parameters"]["nhi-tax"].update(levy_method="5方式")),
        "town 'ina'",
        "parameters.nhi-tax.levy_method",
        "must be one of 2方式, 3方式, 4方式",
    ),
    "parameters for a system the town does not take": (
        "towns.yaml",
        _ina(lambda t: t["parameters"].update({"nursery-fees": {}})),
        "town 'ina'",
        "parameters.nursery-fees",
        "does not subscribe",
    ),
    "invalid system class": (
        "systems.yaml",
        lambda d: d["systems"][7].update({"class": "O"}),
        "system 'school-age-register'",
        "class",
        "got 'O'",
    ),
    "duplicate system number": (
        "systems.yaml",
        lambda d: d["systems"][1].update(number=1),
        "system 'seal-registration'",
        "number",
        "number 1 is already used",
    ),
    "system in an unknown tier": (
        "systems.yaml",
        lambda d: d["systems"][0].update(tier="gold"),
        "system 'resident-registry'",
        "tier",
        "unknown tier 'gold'",
    ),
    "a parameter default that breaks its own rule": (
        "systems.yaml",
        lambda d: d["systems"][0]["parameters"]["certificate_fee_yen"].update(default=5000),
        "system 'resident-registry'",
        "parameters.certificate_fee_yen",
        "default: must be at most 2000",
    ),
    "duplicate VLAN in a data center": (
        "datacenters.yaml",
        lambda d: d["datacenters"][0]["networks"][2].update(vlan=110),
        "data center 'dc1'",
        "networks[2].vlan",
        "VLAN 110 is already used",
    ),
    "two primary data centers": (
        "datacenters.yaml",
        lambda d: d["datacenters"][1].update(role="primary"),
        "",
        "datacenters",
        "exactly one data center must be 'primary' (found 2)",
    ),
    "data center on an unknown carrier edge": (
        "datacenters.yaml",
        lambda d: d["datacenters"][1].update(carrier_edge="pe3"),
        "data center 'dc2'",
        "carrier_edge",
        "unknown carrier edge 'pe3'",
    ),
    "BGP hold time shorter than three keepalives": (
        "wan.yaml",
        lambda d: d["bgp"].update(hold_s=5),
        "",
        "bgp",
        "at least three keepalives",
    ),
    "BFD interval too small": (
        "wan.yaml",
        lambda d: d["bfd"].update(transmit_interval_ms=1),
        "",
        "bfd.transmit_interval_ms",
        "greater than or equal to 10",
    ),
    "penalty bands with a gap": (
        "sla.yaml",
        lambda d: d["tiers"][0]["penalty_bands"][1].update(min_percent=99.6),
        "tier 'critical'",
        "penalty_bands[1]",
        "gap: no band covers 99.5% to 99.6%",
    ),
    "penalty bands that overlap": (
        "sla.yaml",
        lambda d: d["tiers"][0]["penalty_bands"][1].update(max_percent=99.95),
        "tier 'critical'",
        "penalty_bands[0]",
        "overlap",
    ),
    "penalty bands that stop short of 100%": (
        "sla.yaml",
        lambda d: d["tiers"][0]["penalty_bands"][0].update(max_percent=99.99),
        "tier 'critical'",
        "penalty_bands",
        "gap: no band covers 99.99% to 100%",
    ),
    "credit in the band that meets the target": (
        "sla.yaml",
        lambda d: d["tiers"][0]["penalty_bands"][0].update(credit_percent=5),
        "tier 'critical'",
        "penalty_bands[0]",
        "must earn no credit",
    ),
    "credit that grows with availability": (
        "sla.yaml",
        lambda d: d["tiers"][0]["penalty_bands"][3].update(credit_percent=1),
        "tier 'critical'",
        "penalty_bands",
        "credit must not grow",
    ),
    "calendar that ends before it starts": (
        "sla.yaml",
        lambda d: d["calendars"][0].update(start="18:00"),
        "calendar 'office'",
        "",
        "must be before end",
    ),
    "time of day that does not exist": (
        "sla.yaml",
        lambda d: d["calendars"][0].update(end="25:00"),
        "calendar 'office'",
        "end",
        "a time of day must be 'HH:MM'",
    ),
    "recurring maintenance windows that overlap": (
        "sla.yaml",
        lambda d: d["maintenance_windows"].append(
            {"id": "weekly", "name": "毎週", "recurrence": "weekly", "weekday": "sun", "start": "04:00", "end": "06:00"}
        ),
        "maintenance window 'weekly'",
        "",
        "overlaps maintenance window 'monthly-patch'",
    ),
    "a one-off window that falls on a recurring one": (
        "sla.yaml",
        lambda d: d["maintenance_windows"].append(
            {
                "id": "once",
                "name": "臨時",
                "recurrence": "once",
                "starts_at": "2026-12-20T00:00:00+09:00",
                "ends_at": "2026-12-20T02:00:00+09:00",
            }
        ),
        "maintenance window 'once'",
        "",
        "overlaps maintenance window 'monthly-patch'",
    ),
    "a monthly window without its n-th weekday": (
        "sla.yaml",
        lambda d: d["maintenance_windows"][0].pop("nth"),
        "maintenance window 'monthly-patch'",
        "",
        "needs nth",
    ),
    "lab outside 198.18.0.0/15": (
        "environments/lab.yaml",
        lambda d: d.update(supernet="10.0.0.0/14"),
        "",
        "supernet",
        "a lab may only use addresses inside 198.18.0.0/15",
    ),
    "explicit regions that overlap": (
        "environments/lab.yaml",
        lambda d: d.update(regions={"management": "198.18.0.0/20", "core": "198.18.0.0/22"}),
        "",
        "regions.core",
        "overlaps regions.management",
    ),
    "a region outside the supernet": (
        "environments/prod.yaml",
        lambda d: d.update(regions={"towns": "10.128.0.0/16"}),
        "",
        "regions.towns",
        "outside the supernet 10.64.0.0/12",
    ),
    "a supernet too small for the plan": (
        "environments/lab.yaml",
        lambda d: d.update(supernet="198.18.0.0/20"),
        "",
        "supernet",
        "has no room left",
    ),
    "a town beyond the plan's capacity": (
        "towns.yaml",
        _ina(lambda t: t.update(number=33)),
        "town 'ina'",
        "number",
        "number 33 is beyond the address plan's town_capacity (32)",
    ),
    "a town whose devices do not fit its block": (
        "towns.yaml",
        _ina(lambda t: t["clients"].update(pcs=1200)),
        "town 'ina'",
        "clients",
        "its block 198.18.128.0/22 has 896 beside its LAN, circuits and loopback",
    ),
    "a town block too small for its parts": (
        "addressing.yaml",
        lambda d: d.update(town_lan_prefix=22),
        "",
        "",
        "cannot hold a LAN /22",
    ),
    "environment named unlike its file": (
        "environments/prod.yaml",
        lambda d: d.update(name="production"),
        "",
        "name",
        "must match the file name 'prod'",
    ),
    "lab routers that are not FRR": (
        "environments/lab.yaml",
        lambda d: d.update(router_platform="cisco_ios"),
        "",
        "router_platform",
        "router_platform must be 'frr'",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_rejected_with_a_message_naming_file_entry_field_and_rule(
    name: str, edit: Edit, inv_dir: Path
) -> None:
    file, change, entry, field, rule = CASES[name]
    edit(file, change)
    assert_refused(inv_dir, file, entry, field, rule)


def test_at_least_25_bad_input_cases() -> None:
    assert len(CASES) >= 25


def test_a_vendor_option_may_be_another_vendors(edit: Edit, inv_dir: Path) -> None:
    def change(data: Any) -> None:
        t = town(data, "ina")
        t["subscriptions"].remove("asset-tax-gis")
        t["external_systems"].append({"system": "asset-tax-gis", "vendor": "X社"})

    edit("towns.yaml", change)
    assert check(inv_dir).problems == []


def test_every_problem_is_listed_not_only_the_first(edit: Edit, inv_dir: Path) -> None:
    edit("towns.yaml", _ina(lambda t: t.update(population=-1)))
    edit("towns.yaml", lambda d: town(d, "ogose").update(romaji=7))
    edit("sla.yaml", lambda d: d["tiers"][0]["penalty_bands"][0].update(credit_percent=5))
    edit("wan.yaml", lambda d: d["bgp"].update(hold_s=5))
    found = check(inv_dir).problems
    assert {p.file.rsplit("/", 1)[-1] for p in found} == {"towns.yaml", "sla.yaml", "wan.yaml"}
    assert len(found) >= 4


def test_yaml_syntax_error_names_file_line_and_column(inv_dir: Path) -> None:
    path = inv_dir / "wan.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = next(i for i, line in enumerate(lines) if line.startswith("bgp:"))
    lines.insert(broken + 1, "  keepalive_s: [3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check(inv_dir).problems
    assert len(problems) == 1
    assert problems[0].file.endswith("wan.yaml") and problems[0].line is not None
    assert "YAML syntax error at column" in problems[0].rule


def test_a_key_given_twice_is_an_error_not_a_silent_override(inv_dir: Path) -> None:
    path = inv_dir / "wan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  hold_s: 9\n", "  hold_s: 9\n  hold_s: 90\n"))
    (problem,) = check(inv_dir).problems
    assert "key 'hold_s' is given twice" in problem.rule and problem.line is not None


def test_yaml_11_traps_are_read_as_written(inv_dir: Path) -> None:
    """17:15 unquoted is a time, not the number 1035; `no` is not a boolean."""
    path = inv_dir / "sla.yaml"
    text = (
        path.read_text(encoding="utf-8").replace('start: "08:30"', "start: 08:30").replace('end: "17:15"', "end: 17:15")
    )
    path.write_text(text, encoding="utf-8")
    result = check(inv_dir)
    assert result.ok, result.problems
    assert result.inventory is not None
    assert result.inventory.calendar_by_id["office"].end.strftime("%H:%M") == "17:15"


def test_a_missing_file_is_named(inv_dir: Path) -> None:
    (inv_dir / "wan.yaml").unlink()
    problems = check(inv_dir).problems
    assert any(p.file.endswith("wan.yaml") and p.rule == "file missing" for p in problems)
