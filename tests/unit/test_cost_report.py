"""The cost allocation report (`cost allocate --out`): the files written, the same figures as
`--json` and `--csv`, the towns' Japanese names and the steps' tables in the page."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from costs.allocation import allocate
from costs.inputs import allocation_input
from costs.report import render_allocation
from costs.tables import SkippedStep, StepTable, allocation_steps
from municloud.checks import load_inventory
from municloud.cli.main import app

from .conftest import Edit
from .test_costs_cli import _entry

runner = CliRunner()


def test_cli_out_writes_html_pdf_json_csv_with_the_printed_figures(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = runner.invoke(app, ["cost", "allocate", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cost-allocation.pdf" in result.stdout and "saving (削減額) 2,678,889,600 yen" in result.stdout
    names = ["cost-allocation.csv", "cost-allocation.html", "cost-allocation.json", "cost-allocation.pdf"]
    assert sorted(p.name for p in out.iterdir()) == names
    printed = runner.invoke(app, ["cost", "allocate", "--json"])
    assert json.loads((out / "cost-allocation.json").read_text(encoding="utf-8")) == json.loads(printed.stdout)
    summary = json.loads(printed.stdout)["summary"]
    assert (summary["joint"], summary["saving_rate"]) == (3_334_372_400, "44.6%")
    with (out / "cost-allocation.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    printed_csv = runner.invoke(app, ["cost", "allocate", "--csv"])
    assert rows == list(csv.reader(printed_csv.stdout.splitlines()))
    assert (out / "cost-allocation.pdf").read_bytes().startswith(b"%PDF")


def test_fiscal_year_files_and_machine_output_stays_clean(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cost", "allocate", "--fiscal-year", "2027", "--csv", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(result.stdout.splitlines()))  # the files' table went to stderr
    assert header[0] == "town" and len(rows) == 18
    assert "cost-allocation-FY2027.html" in result.stderr
    as_json = runner.invoke(app, ["cost", "allocate", "--fiscal-year", "2027", "--json", "--out", str(tmp_path)])
    assert as_json.exit_code == 0, as_json.output
    files = json.loads(as_json.stdout)["files"]  # the record names the files written
    assert files == {kind: str(tmp_path / f"cost-allocation-FY2027.{kind}") for kind in ("html", "pdf", "json", "csv")}


def test_the_page_shows_every_step_and_every_town(edit: Edit, inv_dir: Path, tmp_path: Path) -> None:
    """With 伊奈町 capped at 40,000,000 yen, FY2027 has all four steps' tables but migration's."""
    edit("costs.yaml", lambda d: _entry(d, "ina").update(cap={"annual_yen": 40_000_000}))
    inv = load_inventory(inv_dir)
    allocation = allocate(allocation_input(inv.costs, inv.towns, 2027))
    steps = allocation_steps(allocation)
    assert [type(s) for s in steps] == [StepTable, StepTable, StepTable, SkippedStep, StepTable]
    adjustment = steps[1]
    assert isinstance(adjustment, StepTable)
    assert adjustment.rows == (("伊奈町", "120,067,100", "40,000,000", "50,805,818", "10,805,818"),)
    paths = render_allocation(allocation, tmp_path, whole_period=False)
    assert {k: p.name for k, p in paths.items()} == {
        "html": "cost-allocation-FY2027.html",
        "pdf": "cost-allocation-FY2027.pdf",
        "json": "cost-allocation-FY2027.json",
        "csv": "cost-allocation-FY2027.csv",
    }
    html = paths["html"].read_text(encoding="utf-8")
    steps = ("1. 基本按分", "2. 金額調整", "3. 再按分", "no data-migration cost in FY2027")
    for text in ("費用按分", *steps, "10,805,818"):
        assert text in html
    for town in inv.towns:
        assert town.name in html
    assert "data:image/png;base64," in html  # the chart, embedded
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["adjustment_total"] == 10_805_818
