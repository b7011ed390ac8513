"""`municloud nodes setup` and `municloud nodes status`: bad input exits 2 before anything is built or
asked; the setup gives the play the wheelhouse, the pins and the layout; the status says which node is
not ready and exits 1. No node is reached: the playbook run and the nodes' answers are stood in for."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inventory.environment import BindingFile, write_binding
from municloud.cli import nodes_cmd
from municloud.cli.main import app
from provisioning.node_layout import NODE_RUNNER, NODE_WHEELHOUSE
from provisioning.runner import PlaybookResult
from provisioning.wheelhouse import node_requirements


@pytest.fixture(autouse=True)
def lab_binding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A binding file of our own: never a lab that may be running on this machine."""
    path = tmp_path / "binding.yaml"
    write_binding(path, BindingFile(environment="lab", towns=["ina"]))
    monkeypatch.setenv("MUNICLOUD_BINDING", str(path))
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path / "state"))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, ["nodes", *args], env={"COLUMNS": "250"})


def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_kw: Any) -> Any:
        raise AssertionError("nothing may be built or reached on invalid input")

    for name in ("build_wheelhouse", "run_playbook", "node_state"):
        monkeypatch.setattr(nodes_cmd, name, refuse)


@pytest.mark.parametrize("command", ["setup", "status"])
def test_an_environment_without_nodes_is_invalid_input(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nothing_runs(monkeypatch)
    monkeypatch.delenv("MUNICLOUD_BINDING")
    result = invoke(command, "--env", "prod")
    assert result.exit_code == 2 and "has no execution nodes" in result.output


@pytest.mark.parametrize("command", ["setup", "status"])
def test_an_unknown_node_or_environment_is_invalid_input(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nothing_runs(monkeypatch)
    unknown = invoke(command, "--node", "exec-9")
    assert unknown.exit_code == 2 and "no execution node 'exec-9'" in unknown.output
    assert invoke(command, "--env", "nosuch").exit_code == 2


def _result(ok: bool) -> PlaybookResult:
    return PlaybookResult(
        "execution_nodes.yml", "successful" if ok else "failed", 0 if ok else 2, 1.0, {}, [], Path("/a")
    )


def test_setup_gives_the_play_the_wheelhouse_the_pins_and_the_layout(tmp_path: Path, monkeypatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(nodes_cmd, "build_wheelhouse", lambda: tmp_path / "wh")

    def run(_inventory, binding, playbook, limit=None, extravars=None, events=None) -> PlaybookResult:
        seen.update(playbook=playbook, limit=limit, extravars=extravars, nodes=binding.execution_nodes)
        return _result(True)

    monkeypatch.setattr(nodes_cmd, "run_playbook", run)
    result = invoke("setup", "--json")
    assert result.exit_code == 0, result.output
    variables = seen["extravars"]
    assert seen["playbook"] == "execution_nodes.yml" and seen["limit"] is None
    assert variables["execution_node_wheelhouse"] == str(tmp_path / "wh")
    assert variables["execution_node_requirements"] == node_requirements()
    assert variables["execution_node_runner_version"] == importlib.metadata.version("ansible-runner")
    assert variables["execution_node_runner"] == str(NODE_RUNNER)
    assert variables["execution_node_wheelhouse_dest"] == str(NODE_WHEELHOUSE)
    assert invoke("setup", "--node", "exec-2", "--json").exit_code == 0 and seen["limit"] == "exec-2"
    monkeypatch.setattr(nodes_cmd, "run_playbook", lambda *a, **kw: _result(False))
    assert invoke("setup").exit_code == 1


def test_setup_fails_when_the_wheelhouse_cannot_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Path:
        raise RuntimeError("pip wheel failed (exit 1): ERROR: No matching distribution found for mitogen")

    monkeypatch.setattr(nodes_cmd, "build_wheelhouse", broken)
    monkeypatch.setattr(nodes_cmd, "run_playbook", lambda *a, **kw: pytest.fail("no play without a wheelhouse"))
    result = invoke("setup")
    assert result.exit_code == 1 and "No matching distribution found for mitogen" in result.output


def test_status_names_the_node_that_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    def state(_binding, node) -> nodes_cmd.NodeState:
        if node.name == "exec-1":
            return nodes_cmd.NodeState(node.name, str(node.mgmt_address), True, True, "2.4.3", 4, 16 * 2**30)
        return nodes_cmd.NodeState(node.name, str(node.mgmt_address), True, False, problem="not set up")

    monkeypatch.setattr(nodes_cmd, "node_state", state)
    table = invoke("status")
    assert table.exit_code == 1 and "16.0 GiB" in table.output and "not set up" in table.output
    data = json.loads(invoke("status", "--json").stdout)
    assert not data["ready"] and [n["ready"] for n in data["nodes"]] == [True, False]
    only = invoke("status", "--node", "exec-1", "--json")
    assert only.exit_code == 0 and json.loads(only.stdout)["ready"]


def test_a_node_without_ssh_is_not_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory.check import load_inventory
    from inventory.environment import bind_environment

    binding = bind_environment(load_inventory(), "lab")
    monkeypatch.setattr(nodes_cmd, "ssh_banner", lambda address, timeout: False)
    monkeypatch.setattr(nodes_cmd, "node_info", lambda *a: pytest.fail("not asked without SSH"))
    state = nodes_cmd.node_state(binding, binding.execution_node("exec-1"))
    assert (state.ssh, state.ready) == (False, False) and "no SSH server answers" in state.problem
