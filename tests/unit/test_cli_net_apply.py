"""`municloud net apply`: the options of the per-region fan-out reach the apply, and the output says
per region its canary and how it ended (table and --json). The apply itself is faked here
(tests/unit/test_network_regions.py runs it against fake routers)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import municloud.cli.net_cmd as net_cmd
from inventory.check import load_inventory
from inventory.environment import bind_environment
from municloud.cli.main import app
from network.apply import ApplyResult, DeviceResult, RegionResult
from network.fanout import SESSIONS_PER_EDGE
from network.plan import DevicePlan, Plan

runner = CliRunner()


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    """A plan file, and what `apply_plan` was called with (a canary failed in 比企)."""
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path))
    inventory = load_inventory()
    binding = bind_environment(inventory, "lab", Path("/nonexistent"))
    monkeypatch.setattr(net_cmd, "binding_or_exit", lambda env: (inventory, binding))
    monkeypatch.setattr(net_cmd, "change_silence", lambda *args, **kwargs: nullcontext())
    seen: dict[str, Any] = {}

    def fake_apply(plan: Plan, inv: object, bound: object, **options: Any) -> ApplyResult:
        seen.update(options)
        result = ApplyResult("c1", plan.id, "lab: any time", None, "dc2-edge")
        result.results = {
            "dc2-edge": DeviceResult("dc2-edge", "rolled-back", "applied, rolled back with the rest", region="shared"),
            "tokigawa-ce1": DeviceResult("tokigawa-ce1", "rolled-back", "post-check: BGP down", region="hiki"),
            "ogawa-ce1": DeviceResult("ogawa-ce1", "skipped", "not changed: the canary failed", region="hiki"),
        }
        result.regions = {
            "shared": RegionResult(
                "shared",
                "共用 (carrier and DC edges)",
                "dc2-edge",
                ["dc2-edge"],
                "applied",
                "rolled back with the rest",
            ),
            "hiki": RegionResult(
                "hiki", "比企", "tokigawa-ce1", ["tokigawa-ce1", "ogawa-ce1"], "rolled-back", "canary failed"
            ),
        }
        return result

    monkeypatch.setattr(net_cmd, "apply_plan", fake_apply)
    devices = [DevicePlan(n, "frr", "ce", None, "h", "cfg", ["x"]) for n in ("dc2-edge", "tokigawa-ce1", "ogawa-ce1")]
    return Plan("p1", "now", "me", "lab", devices).save(tmp_path), seen


def test_the_options_reach_the_apply_and_the_regions_table_names_each_canary(applied) -> None:
    path, seen = applied
    args = ["net", "apply", str(path), "--yes", "--canary", "ogawa-ce1", "--canary", "kddi-pe1"]
    result = runner.invoke(app, [*args, "--sessions-per-edge", "2"])
    assert result.exit_code == 1, result.output  # failed and rolled back
    assert seen["canary"] == ["ogawa-ce1", "kddi-pe1"] and seen["sessions_per_edge"] == 2
    assert "per region" in result.output and "比企 (hiki)" in result.output
    row = next(line for line in result.output.splitlines() if "比企 (hiki)" in line)
    assert "tokigawa-ce1" in row and "canary failed" in row


def test_the_defaults_and_the_json_per_region(applied) -> None:
    path, seen = applied
    result = runner.invoke(app, ["net", "apply", str(path), "--yes", "--json"])
    assert seen["canary"] is None and seen["sessions_per_edge"] == SESSIONS_PER_EDGE
    data = json.loads(result.stdout)
    assert data["regions"]["hiki"]["canary"] == "tokigawa-ce1" and data["regions"]["hiki"]["outcome"] == "canary failed"
    assert data["devices"]["ogawa-ce1"]["region"] == "hiki"


def test_sessions_per_edge_below_one_is_refused(applied) -> None:
    path, _ = applied
    result = runner.invoke(app, ["net", "apply", str(path), "--yes", "--sessions-per-edge", "0"])
    assert result.exit_code == 2
