"""`municloud handover run|deliver`: bad input refused with the rule named and exit 2, before anything
is exported or delivered (no lab: every case stops before a server is reached)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from municloud.cli.main import app


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fiscal-year", "last"], "--fiscal-year: fiscal year 'last': give YYYY (the year its April is in"),
        (["--fiscal-year", "1999"], "--fiscal-year: fiscal year 1999: before 2000"),
        (["--fiscal-year", "2100"], "--fiscal-year: fiscal year 2100: has not begun (the current one is "),
        (["--town", "atlantis"], "no town 'atlantis' in the inventory"),
    ],
)
@pytest.mark.parametrize("command", ["run", "deliver", "export"])
def test_bad_input_names_the_rule_and_exits_2(state: Path, command: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["handover", command, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert not (state / "handover").exists()  # nothing exported, packaged or written


def test_run_checks_every_towns_delivery_key_before_exporting(state: Path) -> None:
    result = CliRunner().invoke(app, ["handover", "run", "--town", "ina", "--fiscal-year", "previous"])
    assert result.exit_code == 2, result.output
    assert "nothing was exported" in result.output and "ina's delivery key is missing" in result.output
    assert not (state / "handover").exists()


def test_deliver_without_packages_names_them_and_delivers_nothing(state: Path) -> None:
    result = CliRunner().invoke(app, ["handover", "deliver", "--town", "ogose", "--fiscal-year", "2025"])
    assert result.exit_code == 2, result.output
    assert "nothing was delivered: missing" in result.output and "ogose-FY2025.tar.gz.age" in result.output
    assert not (state / "handover" / "lab-reports").exists()  # no report of a run that did not happen
