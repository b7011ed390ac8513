"""Fixtures for the inventory tests: a private copy of the shipped inventory to break on purpose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from inventory.check import CheckResult
from inventory.environment import BindingFile, BoundHostOverride, write_binding
from inventory.loader import DEFAULT_ROOT
from inventory.source import InventoryLoader
from municloud.checks import check_inventory

Edit = Callable[[str, Callable[[Any], None]], None]


def lab_binding_file(tmp_path: Path, towns: list[str], hosts: dict[str, str] | None = None) -> Path:
    """A lab binding file of `towns` with a key pair and a pinned known-hosts file of its own
    (`hosts`: management addresses that override the plan's)."""
    key = tmp_path / "keys" / "id_ed25519"
    key.parent.mkdir()
    key.write_text("private")
    key.with_name("id_ed25519.pub").write_text("ssh-ed25519 AAAAC3Nza lab\n")
    known = tmp_path / "keys" / "known_hosts"
    known.write_text("198.18.16.65 ssh-ed25519 AAAA\n")
    path = tmp_path / "binding.yaml"
    overrides = {name: BoundHostOverride(mgmt_address=address) for name, address in (hosts or {}).items()}
    write_binding(
        path,
        BindingFile(environment="lab", towns=towns, key_file=key, known_hosts=known, hosts=overrides),
    )
    return path


@pytest.fixture(autouse=True)
def _no_lab_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a lab: a lab test session in the same process points these at its lab."""
    monkeypatch.delenv("MUNICLOUD_BINDING", raising=False)
    monkeypatch.delenv("MUNICLOUD_STATE_DIR", raising=False)


@pytest.fixture
def inv_dir(tmp_path: Path) -> Path:
    root = tmp_path / "inventory"
    shutil.copytree(DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "model", "rules"))
    return root


@pytest.fixture
def edit(inv_dir: Path) -> Edit:
    """edit("towns.yaml", fn): load the file, let fn change the data, write it back."""

    def apply(name: str, change: Callable[[Any], None]) -> None:
        path = inv_dir / name
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=InventoryLoader)
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    return apply


def town(data: dict, town_id: str) -> dict:
    return next(t for t in data["towns"] if t["id"] == town_id)


def assert_refused(inv_dir: Path, file: str, entry: str, field: str, rule: str):
    """The inventory at `inv_dir` is refused with a problem in `file` whose rule says `rule`, naming
    `entry` and `field`, at a line: what every bad-input case checks. Returns that problem."""
    result = check(inv_dir)
    assert not result.ok and result.inventory is None
    matching = [p for p in result.problems if p.file.endswith(file) and rule in p.rule]
    assert matching, f"no problem in {file} with rule {rule!r}; got:\n" + "\n".join(map(str, result.problems))
    problem = matching[0]
    assert (problem.entry, problem.field) == (entry, field), str(problem)
    assert problem.line is not None and problem.line > 0, str(problem)
    assert str(problem).startswith(f"{problem.file}:{problem.line}: ")
    return problem


def problems_of(result: CheckResult) -> list[str]:
    return [str(p) for p in result.problems]


def check(root: Path) -> CheckResult:
    return check_inventory(root)
