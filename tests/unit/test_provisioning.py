"""Provisioning's logic without machines: the run's variables, the secrets file, the recorded
database primary, the verification plan, JUnit reading, and the commands' input errors (exit 2)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inventory.check import load_inventory
from inventory.environment import bind_environment
from municloud.cli.main import app
from provisioning.ansible_inventory import ansible_inventory
from provisioning.db_state import forget_primary_site, primary_site, record_primary_site
from provisioning.runner import mitogen_strategy, run_variables, ssh_args
from provisioning.secrets import SECRET_NAMES, ensure_secrets
from provisioning.verify import read_junit, verification_plan

from .conftest import lab_binding_file

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def lab_binding(tmp_path: Path):
    path = lab_binding_file(tmp_path, ["ina", "ogose"], {"ina-sv01": "198.19.240.65"})
    return bind_environment(load_inventory(), "lab", path)


def test_secrets_are_generated_once_and_private(state: Path) -> None:
    path = ensure_secrets("lab")
    first = yaml.safe_load(path.read_text())["secrets"]
    assert set(first) == set(SECRET_NAMES) and all(len(v) >= 24 for v in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert yaml.safe_load(ensure_secrets("lab").read_text())["secrets"] == first  # never rotated behind our back
    assert yaml.safe_load(ensure_secrets("prod").read_text())["secrets"] != first


def test_primary_site_is_the_design_until_recorded(state: Path) -> None:
    inv = load_inventory()
    assert primary_site(inv, "lab").site == "dc1" and not primary_site(inv, "lab").recorded
    record_primary_site(inv, "lab", "dc2", "failover to dc2")
    assert primary_site(inv, "lab").site == "dc2" and primary_site(inv, "lab").recorded
    assert primary_site(inv, "prod").site == "dc1"  # per environment
    with pytest.raises(KeyError):
        record_primary_site(inv, "lab", "dc9", "typo")
    forget_primary_site("lab")
    assert primary_site(inv, "lab").site == "dc1"


def test_run_variables_carry_the_recorded_primary_the_key_and_the_secrets_path(state: Path, lab_binding) -> None:
    inv = load_inventory()
    record_primary_site(inv, "lab", "dc2", "failover")
    variables = run_variables(inv, lab_binding)
    assert variables["db_primary_site"] == "dc2"
    assert variables["admin_authorized_keys"] == ["ssh-ed25519 AAAAC3Nza lab"]
    assert variables["municloud_secrets_file"] == str(state / "secrets" / "lab.yml")
    assert "secret" not in str({k: v for k, v in variables.items() if k != "municloud_secrets_file"})


def test_known_host_keys_are_pinned_when_the_binding_has_them(lab_binding, tmp_path: Path) -> None:
    args = ssh_args(lab_binding, tmp_path)
    assert "StrictHostKeyChecking=yes" in args and str(lab_binding.known_hosts) in args


def test_ansible_inventory_has_what_the_roles_read(lab_binding) -> None:
    data = ansible_inventory(load_inventory(), lab_binding)
    variables = data["all"]["vars"]
    assert variables["db_primary_site"] == "dc1"
    assert len(variables["business_systems"]) == 49
    # time and syslog come over the management network, which the operations centre reaches
    assert variables["time_servers"] == [
        str(lab_binding.plan.mgmt["dc1-app1"].ip),
        str(lab_binding.plan.mgmt["dc2-app1"].ip),
    ]
    groups = data["all"]["children"]
    assert groups["windows_clients"]["hosts"] == {}
    assert set(groups["role_db"]["hosts"]) == {"dc1-db1", "dc2-db1"}
    assert "ina-sv01" in groups["role_probe"]["hosts"]
    hostvars = next(g["hosts"]["ina-sv01"] for g in groups.values() if g["hosts"].get("ina-sv01"))
    assert hostvars["ansible_host"] == "198.19.240.65" and hostvars["municloud_role"] == "probe"


def test_verification_plan_knows_each_towns_systems_and_the_others_lans(state: Path, lab_binding) -> None:
    inv = load_inventory()
    plan = verification_plan(inv, lab_binding)
    probe = next(h for h in plan["hosts"] if h["name"] == "ina-sv01")
    assert probe["systems"] == [s.id for s in inv.subscribed_systems(inv.town("ina"))]
    assert set(probe["other_town_lans"]) == {"ogose"}  # only the towns of this environment
    assert set(plan["tenants"]) == {"ina", "ogose"}
    only = verification_plan(inv, lab_binding, town="ogose")
    assert {h["town"] for h in only["hosts"]} == {"ogose"}


def test_junit_cases_become_checks_per_host(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(
        '<testsuites><testsuite name="s">'
        '<testcase classname="test_baseline" name="test_root_has_no_password[ina-sv01]"/>'
        '<testcase classname="test_baseline" name="test_sshd_refuses_passwords[ogose-sv01]@ogose-sv01"/>'
        '<testcase classname="test_baseline" name="test_journald_is_bounded[dc1-db1]">'
        '<failure message="AssertionError: SystemMaxUse missing">trace</failure></testcase>'
        '<testcase classname="x" name="test_skipped[ogose-sv01]"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    results = read_junit(path)
    assert [(r.host, r.check, r.passed) for r in results] == [
        ("ina-sv01", "root has no password", True),
        ("ogose-sv01", "sshd refuses passwords", True),  # xdist's loadgroup suffix is not the host's
        ("dc1-db1", "journald is bounded", False),
    ]
    assert "SystemMaxUse" in results[2].message


def test_provision_refuses_bad_input_with_exit_2(state: Path) -> None:
    assert runner.invoke(app, ["provision", "--town", "atlantis"]).exit_code == 2
    assert runner.invoke(app, ["provision", "--env", "staging"]).exit_code == 2
    assert runner.invoke(app, ["verify", "--env", "staging"]).exit_code == 2
    assert runner.invoke(app, ["db", "failover", "--to", "dc9"]).exit_code == 2
    assert runner.invoke(app, ["db", "failback"]).exit_code == 2  # the primary is already in dc1


def test_provisioning_commands_explain_themselves() -> None:
    for args in (["provision", "--help"], ["verify", "--help"], ["db", "--help"], ["db", "failback", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_deploy_covers_live_towns_by_default_a_wave_or_one_town(lab_binding) -> None:
    from municloud.deploy import deploy_towns

    inv = load_inventory()
    full = bind_environment(inv, "prod")
    live = deploy_towns(inv, full, None, None)
    assert len(live) == 17 and all(inv.town(t).cutover.status != "planned" for t in live)
    assert deploy_towns(inv, full, None, 1) == [t.id for t in inv.towns if t.cutover.wave == 1]
    assert deploy_towns(inv, lab_binding, "ogose", None) == ["ogose"]
    with pytest.raises(KeyError):
        deploy_towns(inv, lab_binding, "ranzan", None)  # not in this environment
    with pytest.raises(KeyError):
        deploy_towns(inv, lab_binding, None, 9)


def test_deploy_needs_yes_and_one_selector(state: Path) -> None:
    assert runner.invoke(app, ["deploy"]).exit_code == 2
    assert runner.invoke(app, ["deploy", "--yes", "--wave", "1", "--town", "ina"]).exit_code == 2
    assert runner.invoke(app, ["deploy", "--yes", "--town", "atlantis"]).exit_code == 2
    shown = runner.invoke(app, ["status", "--json"])
    assert shown.exit_code == 0 and '"伊奈町"' in shown.output


def test_playbooks_run_with_the_installed_mitogen_strategy() -> None:
    settings = mitogen_strategy()
    plugin = Path(settings["ANSIBLE_STRATEGY_PLUGINS"]) / f"{settings['ANSIBLE_STRATEGY']}.py"
    assert plugin.is_file(), plugin
    assert "site-packages" in plugin.parts or "dist-packages" in plugin.parts  # the installed package's


def test_the_execution_nodes_are_in_their_own_group_only(lab_binding) -> None:
    groups = ansible_inventory(load_inventory(), lab_binding)["all"]["children"]
    nodes = groups["execution_nodes"]["hosts"]
    assert list(nodes) == ["exec-1", "exec-2"]
    node = lab_binding.execution_node("exec-1")
    assert nodes["exec-1"] == {
        "ansible_host": str(node.mgmt_address),
        "ansible_user": lab_binding.config.ssh.server_user,
        "municloud_role": "execution-node",
        "municloud_site": "operations",
    }
    assert all("exec-1" not in g["hosts"] for name, g in groups.items() if name != "execution_nodes")


def test_no_other_play_reaches_the_execution_nodes(lab_binding, tmp_path: Path) -> None:
    """Every play of every playbook, its hosts as Ansible selects them (--list-hosts, nothing run):
    the nodes in execution_nodes.yml's play alone, which holds nothing else."""
    import os
    import subprocess
    import sys

    from provisioning.runner import PLAYBOOKS

    hosts_file = tmp_path / "hosts.yml"
    hosts_file.write_text(yaml.safe_dump(ansible_inventory(load_inventory(), lab_binding)))
    plays = sorted(p.name for p in PLAYBOOKS.glob("*.yml"))
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
    }
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(hosts_file), "--list-hosts", *plays],
        cwd=PLAYBOOKS,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    selected: dict[str, set[str]] = {}  # "playbook play #n" -> hosts
    playbook = where = ""
    for line in listed.stdout.splitlines():
        text = line.strip()
        if text.startswith("playbook: "):
            playbook = text.removeprefix("playbook: ")
        elif text.startswith("play #"):
            where = f"{playbook} {text.split(':')[0]}"
            selected[where] = set()
        elif where and line.startswith("      ") and text:
            selected[where].add(text)
    assert len(selected) >= len(plays) and "execution_nodes.yml play #1 (execution_nodes)" in selected
    nodes = {"exec-1", "exec-2"}
    for play, hosts in selected.items():
        if play.startswith("execution_nodes.yml "):
            assert hosts == nodes, play
        else:
            assert not hosts & nodes, play
    assert any(play.startswith("site.yml ") and "ina-sv01" in hosts for play, hosts in selected.items())
