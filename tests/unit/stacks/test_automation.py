"""`municloud stack ...` through the Automation API: the error with no CLI, and with a fake `pulumi`
on PATH that records its calls, the order and the parallelism of the stacks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inventory.environment import bind_environment
from municloud.cli.main import app
from stacks.automation.runner import NoPulumiCli, run_stacks, waves

FAKE = Path(__file__).with_name("fake_pulumi.py")


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(FAKE, bin_dir / "pulumi")
    (bin_dir / "pulumi").chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_PULUMI_LOG": str(tmp_path / "calls.jsonl"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path}/state",
        "PULUMI_CONFIG_PASSPHRASE": "test-only",
    }


def calls(env: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in Path(env["FAKE_PULUMI_LOG"]).read_text().splitlines()]


def ops(env: dict[str, str], op: str) -> list[dict]:
    return [c for c in calls(env) if op in c["argv"]]


def test_no_cli_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing named pulumi here
    with pytest.raises(NoPulumiCli, match="install the Pulumi CLI"):
        run_stacks("preview", "prod", ["dc"], environ={"PATH": str(tmp_path)})
    result = CliRunner().invoke(app, ["stack", "preview", "--scope", "dc"])
    assert result.exit_code == 1
    assert "no `pulumi` CLI on PATH" in result.output


def test_waves_dc_then_wan_then_towns_and_destroy_reversed() -> None:
    names = [[s.name for s in w] for w in waves("up", "prod", ["ina", "wan", "dc", "ogose"])]
    assert names == [["prod-dc"], ["prod-wan"], ["prod-ina", "prod-ogose"]]
    names = [[s.name for s in w] for w in waves("destroy", "prod", ["ina", "wan", "dc"])]
    assert names == [["prod-ina"], ["prod-wan"], ["prod-dc"]]


def test_up_runs_in_order_with_towns_in_parallel(fake_env: dict[str, str], tmp_path: Path) -> None:
    # The towns' ups wait for each other in the fake (no timing: under load the workers start far
    # apart, and a fixed delay once let a town finish before the last one started): run in parallel,
    # all three meet; run one after another, the first cannot finish and fails.
    town_stacks = ("prod-ina", "prod-ogose", "prod-namegawa")
    (tmp_path / "meet").mkdir()
    env = {**fake_env, "FAKE_PULUMI_MEET": ",".join(town_stacks), "FAKE_PULUMI_MEET_DIR": str(tmp_path / "meet")}
    results = run_stacks("up", "prod", ["dc", "wan", "ina", "ogose", "namegawa"], parallel=3, environ=env)
    assert [r.ok for r in results] == [True] * 5
    ups = {c["stack"]: c for c in ops(env, "up")}
    assert set(ups) == {"prod-dc", "prod-wan", *town_stacks}
    towns = [ups[s] for s in town_stacks]
    assert ups["prod-dc"]["end"] <= ups["prod-wan"]["start"]
    assert all(ups["prod-wan"]["end"] <= t["start"] for t in towns)
    # In parallel: every town met the others, so every town started before any town finished.
    assert all(t["met"] for t in towns)
    assert max(t["start"] for t in towns) < min(t["end"] for t in towns)
    assert all("--policy-pack" in c["argv"] for c in ups.values())
    assert results[0].changes == {"create": 3}


def test_a_failed_dc_stops_up(fake_env: dict[str, str]) -> None:
    env = {**fake_env, "FAKE_PULUMI_FAIL": "prod-dc"}
    results = run_stacks("up", "prod", ["dc", "wan", "ina"], environ=env)
    assert [(r.stack, r.ok, r.skipped) for r in results] == [
        ("prod-dc", False, False),
        ("prod-wan", False, True),
        ("prod-ina", False, True),
    ]
    assert [c["stack"] for c in ops(env, "up")] == ["prod-dc"]


def test_missing_passphrase_runs_nothing(fake_env: dict[str, str]) -> None:
    env = {k: v for k, v in fake_env.items() if k != "PULUMI_CONFIG_PASSPHRASE"}
    with pytest.raises(ValueError, match="PULUMI_CONFIG_PASSPHRASE"):
        run_stacks("up", "prod", ["dc"], environ=env)
    assert not Path(env["FAKE_PULUMI_LOG"]).exists()


def test_outputs_write_the_prod_binding(fake_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    for key, value in fake_env.items():
        monkeypatch.setenv(key, value)
    binding = tmp_path / "binding.yaml"
    result = CliRunner().invoke(app, ["stack", "outputs", "--scope", "ina", "--scope", "ogose", "-o", str(binding)])
    assert result.exit_code == 0, result.output
    assert [c["stack"] for c in ops(fake_env, "output")].count("prod-ina") >= 1
    from inventory.check import load_inventory

    bound = bind_environment(load_inventory(), "prod", binding)
    assert bound.towns == ("ina", "ogose")
    # The fake's outputs name one server per stack with this address: the binding carries it.
    assert str(bound.host("ina-sv01").mgmt_address) != "198.18.0.9"
    assert "prod-ina-sv" in binding.read_text()
