"""Regions and the execution plan: every town in a declared region (refused by file, entry and rule
otherwise), the shipped plan and the 1,700-town plan (every town served exactly once, regions whole,
loads adding up, nodes balanced), and `municloud scale plan`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.inventory_1700 import generate
from inventory.environment import bind_environment
from inventory.loader import Inventory
from municloud.checks import load_inventory
from municloud.cli import scale_cmd
from municloud.cli.main import app
from municloud.scale import execution_plan, probe_exporter_series, sla_series_per_system, town_loads
from provisioning.sharding import MIN_NODES, Capacity, Load, Plan

from .conftest import Edit, assert_refused, check, town

NOWHERE = Path("/nonexistent/binding.yaml")  # never a lab's binding: every town of the inventory


def _plan(inventory: Inventory, nodes: int | None = None, capacity: Capacity | None = None) -> Plan:
    return execution_plan(inventory, bind_environment(inventory, "prod", NOWHERE), nodes, capacity)


def _served_once(inventory: Inventory, plan: Plan) -> None:
    served = Counter(t for node in plan.nodes for shard in node.shards for t in shard.towns)
    assert served == Counter(t.id for t in inventory.towns)


def _adds_up(plan: Plan, total: Load) -> None:
    _same(plan.load, total)
    for node in plan.nodes:
        _same(node.load, sum((s.load for s in node.shards), Load()))


def _same(load: Load, other: Load) -> None:
    """Equal, the samples per second up to the order they were added in."""
    assert replace(load, samples_per_s=0) == replace(other, samples_per_s=0)
    assert load.samples_per_s == pytest.approx(other.samples_per_s)


# --- regions in the inventory ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "change", "entry", "field", "rule"),
    [
        (
            "towns.yaml",
            lambda d: town(d, "ina").update(region="hikki"),
            "town 'ina'",
            "region",
            "unknown region 'hikki' (did you mean 'hiki'?)",
        ),
        ("towns.yaml", lambda d: town(d, "ogose").pop("region"), "town 'ogose'", "region", "required, but missing"),
        (
            "towns.yaml",
            lambda d: town(d, "ogano").update(region="Chichibu"),
            "town 'ogano'",
            "region",
            "not a valid id",
        ),
        (
            "regions.yaml",
            lambda d: d["regions"][1].update(id="kitaadachi"),
            "region 'kitaadachi'",
            "id",
            "id 'kitaadachi' is already used",
        ),
        (
            "regions.yaml",
            lambda d: d["regions"][2].update(name="秩父"),
            "region 'chichibu'",
            "name",
            "name '秩父' is already used",
        ),
        ("regions.yaml", lambda d: d["regions"][0].pop("prefecture"), "region 'kitaadachi'", "prefecture", "missing"),
    ],
    ids=["unknown region", "missing region", "region not an id", "duplicate id", "duplicate name", "no prefecture"],
)
def test_a_bad_region_is_refused_naming_file_entry_and_rule(
    edit: Edit, inv_dir: Path, file: str, change: Any, entry: str, field: str, rule: str
) -> None:
    edit(file, change)
    assert_refused(inv_dir, file, entry, field, rule)


def test_a_region_dropped_from_regions_yaml_is_named_at_its_towns(edit: Edit, inv_dir: Path) -> None:
    edit("regions.yaml", lambda d: d["regions"].pop(4))  # kodama: 美里町, 上里町
    problem = assert_refused(inv_dir, "towns.yaml", "town 'misato'", "region", "unknown region 'kodama'")
    assert "regions.yaml declares kitaadachi, iruma, hiki, chichibu, osato, minamisaitama" in problem.rule


def test_a_missing_regions_file_is_named(inv_dir: Path) -> None:
    (inv_dir / "regions.yaml").unlink()
    result = check(inv_dir)
    assert not result.ok
    assert any(p.file.endswith("regions.yaml") and p.rule == "file missing" for p in result.problems)


def test_the_shipped_towns_are_in_their_districts() -> None:
    inventory = load_inventory()
    members: dict[str, list[str]] = {}
    for t in inventory.towns:
        members.setdefault(inventory.region_by_id[t.region].name, []).append(t.name)
    assert members == {
        "北足立": ["伊奈町"],
        "入間": ["越生町"],
        "比企": ["滑川町", "嵐山町", "小川町", "川島町", "吉見町", "鳩山町", "ときがわ町"],
        "秩父": ["横瀬町", "皆野町", "長瀞町", "小鹿野町", "東秩父村"],
        "児玉": ["美里町", "上里町"],
        "大里": ["寄居町"],
        "南埼玉": ["宮代町"],
    }


# --- the load of a town ------------------------------------------------------------------------------


def test_a_towns_probe_series_are_the_exporters_own_as_scraped_on_the_lab() -> None:
    """ina's exporter (31 systems) served 623 samples a scrape and ogose's (38) 763 on the lab, both
    data centers seen: the count derived from the exporter's code is the same."""
    assert probe_exporter_series(31, 2) == 623
    assert probe_exporter_series(38, 2) == 763


def test_a_towns_load_is_its_servers_router_and_subscribed_systems() -> None:
    inventory = load_inventory()
    loads = {t.town: t for t in town_loads(inventory, bind_environment(inventory, "prod", NOWHERE))}
    ina = inventory.town("ina")
    load = loads["ina"].load
    assert (loads["ina"].region, load.towns, load.hosts, load.routers) == ("kitaadachi", 1, len(ina.servers), 1)
    assert load.probe_series == probe_exporter_series(len(ina.subscriptions), 2)
    assert load.sla_series == len(ina.subscriptions) * sla_series_per_system(inventory) == 31 * 9
    assert load.active_series > load.probe_series + load.sla_series
    assert load.samples_per_s == pytest.approx((load.active_series - load.sla_series) / 15)


# --- the shipped plan ----------------------------------------------------------------------------------


def test_the_shipped_plan_serves_every_town_once_on_two_nodes_regions_whole() -> None:
    inventory = load_inventory()
    plan = _plan(inventory)
    assert len(plan.nodes) == MIN_NODES and plan.needed == 1 and plan.fits
    _served_once(inventory, plan)
    assert plan.split_regions == [] and all(s.part is None for s in plan.shards)
    assert sorted(s.region.id for s in plan.shards) == sorted(r.id for r in inventory.regions)
    for shard in plan.shards:  # a region's every town, on one node
        assert set(shard.towns) == {t.id for t in inventory.towns if t.region == shard.region.id}
    node_of = plan.node_of()
    assert {n.name for n in plan.nodes} == {"exec-1", "exec-2"}
    assert all(node_of[t].prometheus == node_of[t].name.replace("exec", "prom") for t in node_of)
    total = sum((t.load for t in town_loads(inventory, bind_environment(inventory, "prod", NOWHERE))), Load())
    _adds_up(plan, total)
    assert (total.towns, total.hosts, total.routers) == (18, 25, 18)
    assert sorted(n.load.hosts for n in plan.nodes) == [12, 13]


@pytest.mark.parametrize("nodes", [1, 3, 7, 9])
def test_any_node_count_serves_every_town_once(nodes: int) -> None:
    inventory = load_inventory()
    plan = _plan(inventory, nodes)
    assert len(plan.nodes) == nodes and plan.chosen
    _served_once(inventory, plan)
    assert plan.split_regions == []
    assert sum(1 for n in plan.nodes if not n.shards) == max(0, nodes - len(inventory.regions))


def test_a_region_too_big_for_a_node_is_split_into_consecutive_parts_that_fit() -> None:
    inventory = load_inventory()
    plan = _plan(inventory, capacity=Capacity(hosts=4))
    _served_once(inventory, plan)
    assert plan.split_regions == ["chichibu", "hiki"] and plan.fits
    hiki = [s for s in plan.shards if s.region.id == "hiki"]
    assert [s.name for s in hiki] == ["hiki/1", "hiki/2", "hiki/3"]
    assert [t for s in hiki for t in s.towns] == [t.id for t in inventory.towns if t.region == "hiki"]
    assert all(s.load.hosts <= 4 for s in plan.shards)
    assert len(plan.nodes) >= plan.needed == 7  # 25 hosts, 4 per node


def test_too_few_nodes_for_the_load_do_not_fit_and_say_how_many_it_needs() -> None:
    inventory = load_inventory()
    plan = _plan(inventory, 2, Capacity(hosts=10))
    assert not plan.fits and plan.needed == 3
    assert any("hosts > 10 per execution node" in o for over in plan.over_capacity().values() for o in over)


# --- 1,700 towns -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def japan(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    root = tmp_path_factory.mktemp("japan") / "inventory"
    generate(root)
    return load_inventory(root)


def test_the_1700_town_plan_serves_every_town_once_balanced_within_1_percent(japan: Inventory) -> None:
    """Prometheus' series bind first (about 2,200 a town): 4 nodes, every region whole, the nodes'
    hosts within 1 % of their mean (and within the biggest region's hosts of each other, LPT's bound)."""
    plan = _plan(japan)
    assert len(japan.towns) == 1_700 and len(japan.regions) == 232
    assert plan.fits and plan.needed == len(plan.nodes) == 4
    _served_once(japan, plan)
    assert plan.split_regions == []
    hosts = [n.load.hosts for n in plan.nodes]
    mean = sum(hosts) / len(hosts)
    assert max(hosts) - min(hosts) <= max(s.load.hosts for s in plan.shards)
    assert all(abs(h - mean) <= 0.01 * mean for h in hosts), hosts
    series = [n.load.active_series for n in plan.nodes]
    assert max(series) <= plan.capacity.series and max(series) - min(series) <= 0.02 * max(series)
    _adds_up(plan, sum((t.load for t in town_loads(japan, bind_environment(japan, "prod", NOWHERE))), Load()))


def test_the_1700_town_plan_on_more_nodes_stays_balanced(japan: Inventory) -> None:
    plan = _plan(japan, 16)
    _served_once(japan, plan)
    hosts = [n.load.hosts for n in plan.nodes]
    assert max(hosts) - min(hosts) <= max(s.load.hosts for s in plan.shards)
    assert max(hosts) <= 1.05 * sum(hosts) / len(hosts), hosts


# --- the command ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNICLOUD_BINDING", str(NOWHERE))


@pytest.mark.usefixtures("no_lab")
def test_scale_plan_prints_the_regions_nodes_and_summary() -> None:
    result = CliRunner().invoke(app, ["scale", "plan", "--env", "prod"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "比企 (埼玉県)" in result.output and "exec-2" in result.output and "prom-2" in result.output
    assert "18 towns in 7 regions on 2 node(s)" in result.output
    assert "no region is split" in result.output


@pytest.mark.usefixtures("no_lab")
def test_scale_plan_json_lists_every_town_once() -> None:
    result = CliRunner().invoke(app, ["scale", "plan", "--env", "prod", "--nodes", "3", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert [n["node"] for n in plan["nodes"]] == ["exec-1", "exec-2", "exec-3"]
    towns = [t for r in plan["regions"] for t in r["towns"]]
    assert sorted(towns) == sorted(set(towns)) and len(towns) == plan["towns"] == 18
    assert plan["total"]["hosts"] == sum(n["load"]["hosts"] for n in plan["nodes"]) == 25
    assert plan["central"] == {"hosts": 6, "routers": 4} and plan["fits"]


@pytest.mark.usefixtures("no_lab")
def test_scale_plan_refuses_bad_input_with_exit_2(edit: Edit, inv_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["scale", "plan", "--nodes", "0"]).exit_code == 2
    assert runner.invoke(app, ["scale", "plan", "--env", "staging"]).exit_code == 2
    edit("towns.yaml", lambda d: town(d, "ina").update(region="nowhere"))
    result = runner.invoke(app, ["scale", "plan", "--inventory", str(inv_dir)])
    assert result.exit_code == 2 and "unknown region 'nowhere'" in result.output


@pytest.mark.usefixtures("no_lab")
def test_scale_plan_over_capacity_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    small = Capacity(hosts=10)
    monkeypatch.setattr(scale_cmd, "execution_plan", lambda inv, b, n: execution_plan(inv, b, n, small))
    result = CliRunner().invoke(app, ["scale", "plan", "--env", "prod", "--nodes", "2"])
    assert result.exit_code == 1
    assert "the load needs at least 3 node(s)" in result.output
