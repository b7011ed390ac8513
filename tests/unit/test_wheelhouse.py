"""The execution nodes' wheelhouse: pinned to this machine's versions, kept by the hash of its pins,
rebuilt after an interrupted build, and a failed pip said with pip's own last lines. pip itself is
stood in for (no download in the unit tests)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning import wheelhouse
from provisioning.node_layout import (
    NODE_BIN,
    NODE_JOBS,
    NODE_MITOGEN_STRATEGY,
    NODE_ROOT,
    NODE_RUNNER,
    NODE_VENV,
    NODE_WHEELHOUSE,
    layout_variables,
)
from provisioning.wheelhouse import (
    build_wheelhouse,
    default_wheelhouse_root,
    node_constraints,
    node_requirements,
    wheelhouse_key,
    wheelhouse_path,
)


def test_requirements_are_the_installed_versions() -> None:
    requirements = node_requirements()
    assert [r.split("==")[0] for r in requirements] == ["ansible-core", "ansible-runner", "mitogen", "ansible"]
    for line in requirements:
        name, version = line.split("==")
        assert version == importlib.metadata.version(name)


def test_constraints_pin_every_dependency_to_the_installed_version() -> None:
    constraints = dict(line.split("==") for line in node_constraints())
    for name in ("ansible-core", "ansible-runner", "mitogen", "jinja2", "pyyaml", "resolvelib", "pexpect"):
        assert constraints[name] == importlib.metadata.version(name), name
    assert "pytest" not in constraints and "municloud" not in constraints  # only the nodes' packages' closure
    assert list(constraints) == sorted(constraints)


def test_the_folder_is_stable_and_named_by_the_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path / "state"))
    assert default_wheelhouse_root() == tmp_path / "state" / "wheelhouse"
    first = wheelhouse_path()
    assert first == wheelhouse_path() and first.parent == tmp_path / "state" / "wheelhouse"
    assert wheelhouse_path(tmp_path / "other").name == first.name
    requirements, constraints = node_requirements(), node_constraints()
    assert first.name == wheelhouse_key(requirements, constraints)
    assert wheelhouse_key([*requirements[:-1], "ansible==0.0.1"], constraints) != first.name


class FakePip:
    """Stands in for `python -m pip wheel`: writes one wheel per requirement, or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, command: list[str], **_kw) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        if self.fail:
            lines = "\n".join(f"line {i}" for i in range(40))
            return subprocess.CompletedProcess(command, 1, lines, "ERROR: No matching distribution found for x")
        folder = Path(command[command.index("--wheel-dir") + 1])
        for requirement in command[command.index("--constraint") + 2 :]:
            name, version = requirement.split("==")
            (folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").write_text("wheel")
        return subprocess.CompletedProcess(command, 0, "Saved", "")


def test_built_once_then_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip = FakePip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    folder = build_wheelhouse(tmp_path)
    assert folder == wheelhouse_path(tmp_path) and (folder / ".finished").is_file()
    command = pip.calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "wheel"] and command[-4:] == node_requirements()
    assert (folder / "requirements.txt").read_text().split() == node_requirements()
    assert (folder / "constraints.txt").read_text().split() == node_constraints()
    assert (folder / f"ansible_runner-{importlib.metadata.version('ansible-runner')}-py3-none-any.whl").is_file()
    assert build_wheelhouse(tmp_path) == folder and len(pip.calls) == 1  # cached


def test_an_interrupted_build_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = wheelhouse_path(tmp_path)
    folder.mkdir(parents=True)
    (folder / "half-written.whl").write_text("")
    pip = FakePip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    assert build_wheelhouse(tmp_path) == folder and len(pip.calls) == 1
    assert not (folder / "half-written.whl").exists() and (folder / ".finished").is_file()


def test_a_failed_pip_says_why_and_leaves_no_finished_wheelhouse(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(wheelhouse.subprocess, "run", FakePip(fail=True))
    with pytest.raises(RuntimeError, match="pip wheel failed \\(exit 1\\)") as failed:
        build_wheelhouse(tmp_path)
    message = str(failed.value)
    assert "No matching distribution found for x" in message and "line 39" in message and "line 10\n" not in message
    assert not (wheelhouse_path(tmp_path) / ".finished").exists()


def test_the_node_layout() -> None:
    assert str(NODE_ROOT) == "/opt/municloud-node" and NODE_VENV == NODE_ROOT / "venv"
    assert NODE_BIN == NODE_VENV / "bin" and NODE_RUNNER == NODE_BIN / "ansible-runner"
    assert NODE_MITOGEN_STRATEGY == NODE_ROOT / "mitogen-strategy"
    assert str(NODE_JOBS) == "/var/lib/municloud-node/jobs"
    assert str(NODE_WHEELHOUSE) == "/var/cache/municloud-node/wheelhouse"
    variables = layout_variables()
    assert variables["execution_node_runner"] == str(NODE_RUNNER)
    assert variables["execution_node_wheelhouse_dest"] == str(NODE_WHEELHOUSE)


def test_the_roles_defaults_are_the_layout() -> None:
    """The role's defaults (for ansible-playbook run by hand) say what node_layout.py says."""
    import jinja2
    import yaml

    from provisioning.runner import PLAYBOOKS

    defaults = yaml.safe_load((PLAYBOOKS / "roles/execution_node/defaults/main.yml").read_text())
    for _ in range(3):  # the defaults refer to each other
        defaults = {key: jinja2.Template(value).render(defaults) for key, value in defaults.items()}
    assert {key: defaults[key] for key in layout_variables()} == layout_variables()
