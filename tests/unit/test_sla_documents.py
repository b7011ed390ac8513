"""The SLA report on the toolkit's documents (no Prometheus: synthetic minutes): without the Japanese
font no chart, page or PDF is made (DocumentError naming the Debian package, never kanji drawn as
empty boxes), and `sla report` says what to install and exits 1, as the other report commands do."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import toolkit.documents
from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ
from monitoring.sla.calendar import span_period
from monitoring.sla.engine import SeriesMinutes
from monitoring.sla.render import write_report_set
from monitoring.sla.report import SlaReportData, assemble_report, evaluate_all
from municloud.cli import sla_cmd
from municloud.cli.main import app
from toolkit.documents import DocumentError

INV = load_inventory()


def one_hour_of_ina() -> SlaReportData:
    period = span_period(datetime(2026, 11, 27, 18, tzinfo=CONTRACT_TZ), datetime(2026, 11, 27, 19, tzinfo=CONTRACT_TZ))
    towns = evaluate_all(INV, period, ["ina"], lambda window, keys: {k: SeriesMinutes.all_up() for k in keys})
    return assemble_report(INV, period, towns, "synthetic")


@pytest.fixture
def no_japanese_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without fonts-noto-cjk: the toolkit looks for a font no machine has."""
    monkeypatch.setattr(toolkit.documents, "JAPANESE_FONT", "No Such Font JP")


@pytest.mark.usefixtures("no_japanese_font")
def test_without_the_font_no_page_is_written(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="apt-get install fonts-noto-cjk"):
        write_report_set(one_hour_of_ina(), tmp_path, pdf=False)
    assert not list(tmp_path.rglob("*.html")) and not list(tmp_path.rglob("*.pdf"))


@pytest.mark.usefixtures("no_japanese_font")
def test_sla_report_without_the_font_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def build_report(*_args: Any, **_kwargs: Any) -> SlaReportData:
        return one_hour_of_ina()

    monkeypatch.setattr(sla_cmd, "build_report", build_report)
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path / "state"))
    command = ["sla", "report", "--from", "2026-11-27T18:00", "--to", "2026-11-27T19:00", "--town", "ina"]
    result = CliRunner().invoke(app, [*command, "--out", str(tmp_path), "--no-drills"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clear error, not a traceback
    assert "the SLA reports could not be written" in result.output and "fonts-noto-cjk" in result.output
