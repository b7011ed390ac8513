"""The BCP drill reports: one drill's (HTML, PDF, JSON, chart) and the annual one over many journals,
from journals built in drill_journals.py; `municloud drill report` and its bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from matplotlib import image as mpimg
from typer.testing import CliRunner

from bcp_drills.journal import JournalError, Outage, validate_journal
from bcp_drills.report import render_annual, render_drill
from bcp_drills.report.figures import annual_figures, drill_figures, duration_text, rto_check
from municloud.cli.main import app

from . import drill_journals as dj

SYSTEM_NAMES = {"resident-registry": "住民基本台帳", "national-pension": "国民年金"}


def _later_passing() -> dict[str, Any]:
    """A second run of the circuit drill, a day later: ina 500.0 ms, ogose 700.0 ms."""
    journal = dj.journal(
        outages=[dj.outage("ina", "resident-registry", 500.0), dj.outage("ogose", "resident-registry", 700.0)],
        started=dj.FAULT_AT + 86_400 - 20,
    )
    return journal


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("drill-reports")
    made = {}
    for name in ("passing", "with_findings", "failed", "dry_run"):
        made[name] = render_drill(getattr(dj, name)(), out / name, SYSTEM_NAMES)
    return made


def _html(reports: dict[str, dict[str, Path]], name: str) -> str:
    return reports[name]["html"].read_text(encoding="utf-8")


# --- one drill ---


def test_passing_drill_html_has_towns_verdict_and_figures(reports: dict[str, dict[str, Path]]) -> None:
    html = _html(reports, "passing")
    assert "BCP訓練報告 / BCP drill report" in html
    assert "主回線断 / Primary circuit loss" in html
    for town in ("伊奈町", "越生町", "東秩父村"):
        assert town in html
    assert "住民基本台帳" in html and "国民年金" in html  # the systems' Japanese names
    assert "合格 / passed" in html and "不合格" not in html
    assert "452.3 ms" in html and "610.5 ms" in html  # outages
    assert "482.3 ms" in html  # ina's RTO actual (rto_ms)
    assert "1 h 00 min" in html  # the critical tier's RTO target, 3600 s
    assert "4 h 00 min" in html  # the essential tier's, for the pension
    assert "停止なし / no outage" in html  # higashichichibu never failed
    assert "データなし / no data" in html  # no RPO measured on a WAN drill
    assert "data:image/png;base64," in html
    assert "仮説からの逸脱なし / nothing deviated" in html


def test_a_planned_outage_is_listed_and_is_no_finding(tmp_path: Path) -> None:
    journal = dj.journal(
        scenario="dc-site-loss",
        outages=[dj.outage("ina", "resident-registry", 2600.0)],
        planned_outages=[{"town": "ina", "step": "fail back to DC1", "start": dj.FAULT_AT + 300, "ms": 5123.4}],
    )
    html = render_drill(journal, tmp_path, SYSTEM_NAMES)["html"].read_text(encoding="utf-8")
    assert "計画停止 / Planned outages" in html
    assert "fail back to DC1" in html and "5.12 s" in html and "伊奈町" in html
    assert "合格 / passed" in html and "指摘事項あり" not in html
    assert "計画停止 / Planned outages" not in _html_of(dj.passing(), tmp_path / "without")


def _html_of(journal: dict[str, Any], out: Path) -> str:
    return render_drill(journal, out, SYSTEM_NAMES)["html"].read_text(encoding="utf-8")


def test_findings_drill_shows_manual_step_budget_and_observations(reports: dict[str, dict[str, Path]]) -> None:
    html = _html(reports, "with_findings")
    assert "指摘事項あり合格 / passed with findings" in html
    assert "佐藤" in html and "(手動 / manual)" in html  # who performed the manual step
    assert "ogose took 1.25 s to fail over" in html  # the runner's observation
    assert "step &#39;confirm at the town hall&#39; took 1 min 35.0 s, over its budget of 1 min 0.0 s" in html
    assert "1.25 s" in html  # ogose's outage


def test_failed_drill_shows_stop_condition_unrecovered_and_rpo(reports: dict[str, dict[str, Path]]) -> None:
    html = _html(reports, "failed")
    assert "不合格 / failed" in html
    assert "データセンター喪失 / Data center loss" in html
    assert "max-outage" in html and "ogose had no service for 30.0 s (limit 20 s)" in html
    assert "復旧せず / never recovered" in html
    assert "越生町 resident-registry" not in html  # systems by their Japanese names
    assert "越生町 住民基本台帳: プローブ(tcp)が復旧せず" in html
    assert "RPO: lost writes spanning 1 min 15.0 s exceed the critical target 1 min 0.0 s" in html
    assert "8.12 s" in html  # writes refused
    assert "the experiment ended &#39;aborted&#39;" in html


def test_dry_run_measures_nothing(reports: dict[str, dict[str, Path]]) -> None:
    html = _html(reports, "dry_run")
    assert "Dry run: no fault was injected" in html
    assert "対象外 / not measured" in html
    assert "不合格" not in html and "停止なし" not in html
    assert reports["dry_run"]["html"].name.endswith("-dry-run.html")


def test_json_is_the_journal_itself(reports: dict[str, dict[str, Path]]) -> None:
    assert json.loads(reports["failed"]["json"].read_text(encoding="utf-8")) == dj.failed()
    assert "伊奈町" in reports["failed"]["json"].read_text(encoding="utf-8")  # not \\u escapes


def test_pdf_is_valid_with_the_japanese_font_and_not_blank(reports: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    pdf = reports["failed"]["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Noto-Sans-CJK-JP" in fonts  # the Japanese font, embedded
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    page = mpimg.imread(next(tmp_path.glob("page*.png")))
    ink = (page[:, :, :3].mean(axis=2) < 0.9).mean()
    assert ink > 0.02, f"the first page is blank ({ink:.1%} ink)"


def test_chart_is_a_png(reports: dict[str, dict[str, Path]]) -> None:
    chart = mpimg.imread(reports["passing"]["chart"])
    assert chart.shape[0] > 100 and chart.shape[1] > 300


# --- the checks, at their edges ---


def _outage(**kwargs: Any) -> Outage:
    base = dj.outage("ina", "resident-registry", 100.0)
    return Outage.model_validate({**base, **kwargs})


def test_rto_is_met_at_the_target_and_missed_one_ms_over() -> None:
    assert rto_check(_outage(rto_ms=3_600_000.0), 3600, dry_run=False).result == "pass"
    assert rto_check(_outage(rto_ms=3_600_001.0), 3600, dry_run=False).result == "fail"
    assert rto_check(_outage(rto_ms=None, outage_ms=None), 3600, dry_run=False).note == "停止なし / no outage"
    assert rto_check(_outage(rto_ms=None), 3600, dry_run=False).result == "no data"  # failed, no recovery time
    assert rto_check(_outage(rto_ms=10.0, recovered=False), 3600, dry_run=False).result == "fail"


def test_a_passed_verdict_contradicted_by_the_figures_is_said() -> None:
    journal = dj.journal(
        outages=[dj.outage("ina", "resident-registry", 100.0)],
        steps=[dj.step("heal", "restore", 1, 9000.0, budget_ms=5000)],
    )
    figures = drill_figures(validate_journal(journal))
    texts = [o.text for o in figures.observations if o.source == "report"]
    assert any("took 9.00 s, over its budget of 5.00 s" in t for t in texts)
    assert any(t.startswith("判定の不整合") for t in texts)


def test_duration_text() -> None:
    assert duration_text(452.34) == "452.3 ms"
    assert duration_text(8123.4) == "8.12 s"
    assert duration_text(95_000) == "1 min 35.0 s"
    assert duration_text(14_400_000) == "4 h 00 min"
    assert duration_text(None) == "—"


# --- the annual report ---


def _annual_journals() -> list[dict[str, Any]]:
    return [dj.passing(), dj.with_findings(), dj.failed(), dj.dry_run(), _later_passing()]


def test_annual_worst_and_median_by_hand() -> None:
    labels = ["passing", "findings", "failed", "dry", "later"]
    figures = annual_figures(
        [(label, validate_journal(j)) for label, j in zip(labels, _annual_journals(), strict=True)]
    )
    towns = {t.town: t for t in figures.towns}
    # ina: 452.3 (its worst system), 800, 9000, 500; the dry run does not count -> sorted 452.3 500 800 9000
    assert sorted(ms for _, ms, _ in towns["ina"].outages) == [452.3, 500.0, 800.0, 9000.0]
    assert towns["ina"].worst_ms == 9000.0
    assert towns["ina"].median_ms == 650.0
    assert (towns["ina"].rto_pass, towns["ina"].rto_fail) == (5, 0)
    assert towns["ina"].targets == "pass"
    # ogose: 610.5, 1250, 30000 (never recovered), 700 -> median (700 + 1250) / 2
    assert towns["ogose"].worst_ms == 30000.0
    assert towns["ogose"].median_ms == 975.0
    assert towns["ogose"].unrecovered == 1
    assert towns["ogose"].targets == "fail"
    # higashichichibu: probed twice, never failed; not probed in the DC drill nor the later one
    assert [ms for _, ms, _ in towns["higashichichibu"].outages] == [0.0, 0.0]
    assert figures.verdict == "failed"
    scenarios = {s.scenario: s for s in figures.scenarios}
    assert (len(scenarios["wan-primary-circuit-loss"].runs), len(scenarios["wan-primary-circuit-loss"].real_runs)) == (
        4,
        3,
    )
    assert scenarios["wan-primary-circuit-loss"].verdict == "passed with findings"
    assert scenarios["dc-site-loss"].verdict == "failed"
    assert figures.notes == ["1 of 5 runs were dry runs: listed, not counted in the figures"]
    assert [label for label, _ in figures.observations].count("failed") >= 2


def test_annual_report_files(tmp_path: Path) -> None:
    paths = render_annual(_annual_journals(), tmp_path, SYSTEM_NAMES, labels=["a", "b", "c", "d", "e"])
    assert set(paths) == {"html", "pdf", "json", "chart"}
    assert paths["pdf"].read_bytes().startswith(b"%PDF-")
    html = paths["html"].read_text(encoding="utf-8")
    assert "年間BCP訓練報告 / Annual BCP drill report" in html
    assert "不合格 / failed" in html and "伊奈町" in html and "東秩父村" in html
    assert "650.0 ms" in html and "975.0 ms" in html and "30.00 s" in html
    record = json.loads(paths["json"].read_text(encoding="utf-8"))
    ina = next(t for t in record["towns"] if t["town"] == "ina")
    assert (ina["name"], ina["worst_outage_ms"], ina["median_outage_ms"]) == ("伊奈町", 9000.0, 650.0)
    assert record["verdict_ja"] == "不合格"


def test_annual_of_passed_drills_with_a_finding_is_passed_with_findings() -> None:
    late = dj.journal(
        outages=[dj.outage("ina", "resident-registry", 100.0)],
        steps=[dj.step("heal", "restore", 1, 9000.0, budget_ms=5000)],
    )
    figures = annual_figures([("a", validate_journal(dj.passing())), ("b", validate_journal(late))])
    assert figures.verdict == "passed with findings"


# --- bad journals ---


def _bad(journal: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    target: Any = journal
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return journal


@pytest.mark.parametrize(
    ("journal", "message"),
    [
        (_bad(dj.passing(), ["municloud", "verdict"], "ok"), "municloud.verdict: Input should be"),
        (_bad(dj.passing(), ["municloud", "affected_towns"], ["inaa"]), "'inaa' is not one of the drill's towns"),
        (_bad(dj.passing(), ["municloud", "outages", 0, "tier"], "gold"), "no target for tier 'gold'"),
        (_bad(dj.passing(), ["status"], "done"), "status: Input should be"),
    ],
)
def test_invalid_journals_name_the_place(journal: dict[str, Any], message: str) -> None:
    with pytest.raises(JournalError) as caught:
        validate_journal(journal, "j.json")
    assert any(p.startswith("j.json: ") and message in p for p in caught.value.problems), caught.value.problems


runner = CliRunner()


def _write(path: Path, journal: Any) -> Path:
    path.write_text(json.dumps(journal, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_one_journal_and_several(tmp_path: Path) -> None:
    one = _write(tmp_path / "one.json", dj.passing())
    two = _write(tmp_path / "two.json", dj.with_findings())  # the same start: file names must not collide
    result = runner.invoke(app, ["drill", "report", str(one), "--out", str(tmp_path / "single")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "single").glob("*.pdf"))) == 1
    result = runner.invoke(app, ["drill", "report", str(one), str(two), "--out", str(tmp_path / "many")])
    assert result.exit_code == 0, result.output
    pdfs = sorted(p.name for p in (tmp_path / "many").glob("*.pdf"))
    assert len(pdfs) == 3 and any(name.startswith("drill-annual-") for name in pdfs)
    assert "drill reports written" in result.output and "annual (2 drills)" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "expected a JSON object"),
        (json.dumps({"chaoslib-version": "1.44.0", "status": "completed"}), "no 'municloud' key"),
        (json.dumps(_bad(dj.passing(), ["municloud", "outages", 0, "outage_ms"], "fast")), "outage_ms"),
        (None, "cannot read the journal"),
    ],
)
def test_cli_bad_journal_exits_2_and_writes_nothing(tmp_path: Path, content: str | None, message: str) -> None:
    good = _write(tmp_path / "good.json", dj.passing())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["drill", "report", str(good), str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{bad}: " in result.output and message in result.output
    assert "no report was written" in result.output
    assert not (tmp_path / "out").exists()
