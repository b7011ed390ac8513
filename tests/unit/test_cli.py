"""The `municloud inventory` commands: output, JSON for scripts, and exit codes (0 ok, 2 invalid input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from municloud.cli.main import app

from .conftest import Edit, town

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_check_passes_on_the_shipped_inventory() -> None:
    result = run("inventory", "check")
    assert result.exit_code == 0, result.output
    assert "18 towns (350,779 residents)" in result.output


def test_check_lists_every_problem_and_exits_2(edit: Edit, inv_dir: Path) -> None:
    edit("towns.yaml", lambda d: town(d, "ina").update(population=0))
    edit("towns.yaml", lambda d: town(d, "ogose")["circuits"]["backup"].update(carrier_edge="pe1"))
    result = run("inventory", "check", env={"MUNICLOUD_INVENTORY": str(inv_dir)})
    assert result.exit_code == 2
    assert "town 'ina': population: Input should be greater than 0" in result.output
    assert "town 'ogose': circuits.backup.carrier_edge: the backup circuit must land on another carrier edge" in (
        result.output
    )


def test_check_json_for_scripts(edit: Edit, inv_dir: Path) -> None:
    edit("towns.yaml", lambda d: town(d, "ina").update(population=0))
    result = run("inventory", "check", "--json", env={"MUNICLOUD_INVENTORY": str(inv_dir)})
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {"file", "line", "entry", "field", "rule"} <= set(report["problems"][0])


def test_show_json_has_every_town_and_the_total() -> None:
    result = run("inventory", "show", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["total_population"] == 350_779
    assert len(data["towns"]) == 18
    assert data["towns"][0]["name"] == "伊奈町"
    assert abs(sum(t["population_share"] for t in data["towns"]) - 1) < 1e-4


def test_show_table_has_japanese_names() -> None:
    result = run("inventory", "show")
    assert result.exit_code == 0
    assert "東秩父村" in result.output and "350,779" in result.output


def test_show_unknown_town_exits_2() -> None:
    result = run("inventory", "show", "--town", "tokyo")
    assert result.exit_code == 2


def test_plan_addresses_json_and_unknown_environment() -> None:
    result = run("inventory", "plan-addresses", "--env", "lab", "--json")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["supernet"] == "198.18.0.0/15" and set(plan["towns"]) >= {"ina", "higashichichibu"}
    bad = run("inventory", "plan-addresses", "--env", "staging")
    assert bad.exit_code == 2 and "no environment 'staging'" in bad.output


@pytest.mark.parametrize("env", ["lab", "prod"])
def test_ansible_inventory_groups_and_hostvars(env: str, tmp_path: Path, edit: Edit, inv_dir: Path) -> None:
    # Without a binding file (a running lab writes one), the binding is the address plan's.
    edit(f"environments/{env}.yaml", lambda d: d.pop("binding_file"))
    out = tmp_path / "hosts.yaml"
    result = run("inventory", "ansible", "--env", env, "--output", str(out), env={"MUNICLOUD_INVENTORY": str(inv_dir)})
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    groups = data["all"]["children"]
    assert set(groups["town_ina"]["hosts"]) == {"ina-ce1", "ina-sv01", "ina-sv02"}
    assert set(groups["role_app"]["hosts"]) == {"dc1-app1", "dc2-app1"}
    assert set(groups["site_dc1"]["hosts"]) >= {"dc1-edge", "dc1-app1", "dc1-db1"}
    assert len(groups["routers"]["hosts"]) == 18 + 2 + 2
    probe = groups["servers"]["hosts"]["ina-sv01"]
    assert probe["town_name"] == "伊奈町" and probe["municloud_role"] == "probe"
    assert {s["id"] for s in probe["probe_systems"]} >= {"resident-registry"}
    assert data["all"]["vars"]["tenants"]["ina"]["parameters"]["nhi-tax"]["installments"] == 9
    platforms = {h.get("ansible_network_os") for h in groups["routers"]["hosts"].values() if h}
    assert platforms == ({"frr"} if env == "lab" else {"frr", "cisco_ios", "yamaha_rtx", "nec_ix"})


def test_binding_file_limits_the_towns_and_overrides_addresses(tmp_path: Path) -> None:
    from inventory.check import load_inventory
    from inventory.environment import BindingFile, BoundHostOverride, bind_environment, write_binding

    path = tmp_path / "binding.yaml"
    write_binding(
        path,
        BindingFile(
            environment="lab",
            towns=["ina", "ogose"],
            hosts={"ina-ce1": BoundHostOverride(mgmt_address="198.18.31.250")},
        ),
    )
    binding = bind_environment(load_inventory(), "lab", path)
    assert binding.towns == ("ina", "ogose")
    assert str(binding.host("ina-ce1").mgmt_address) == "198.18.31.250"
    assert {h.town for h in binding.hosts} == {None, "ina", "ogose"}


def test_every_command_explains_itself() -> None:
    for args in (
        ["--help"],
        ["inventory", "--help"],
        ["inventory", "check", "--help"],
        ["inventory", "ansible", "--help"],
        ["inventory", "plan-addresses", "--help"],
    ):
        result = run(*args)
        assert result.exit_code == 0 and "Usage" in result.output, args
