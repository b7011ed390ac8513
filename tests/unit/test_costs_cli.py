"""The cost model in the inventory and `municloud cost`: bad input named by file, entry and rule
(exit 2), the seed's own figures, the monthly invoice and its SLA credits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costs.invoice import make_invoice
from municloud.checks import load_inventory
from municloud.cli.main import app

from .conftest import Edit, check, problems_of

runner = CliRunner()


def run(*args: str, root: Path | None = None):
    return runner.invoke(app, list(args), env={"MUNICLOUD_INVENTORY": str(root)} if root else None)


def _item(data: Any, item_id: str) -> dict:
    return next(i for i in data["items"] if i["id"] == item_id)


def _entry(data: Any, town_id: str) -> dict:
    return next(t for t in data["towns"] if t["id"] == town_id)


CASES = {
    "shares that do not add up to 1": (
        lambda d: _item(d, "system-fee").update(share={"equal": 0.5, "population": 0.6}),
        "cost item 'system-fee': share: the shares must add up to 1, but equal 0.5 + population 0.6 = 1.1",
    ),
    "a negative cost": (
        lambda d: _item(d, "network").update(annual_yen=-5),
        "cost item 'network': annual_yen: a cost cannot be negative (got -5 yen)",
    ),
    "a negative current cost": (
        lambda d: _entry(d, "ina").update(current_annual_yen=-1),
        "town 'ina': current_annual_yen: a cost cannot be negative (got -1 yen)",
    ),
    "a town without its current cost when the cap is a ratio of it": (
        lambda d: _entry(d, "ina").pop("current_annual_yen"),
        "town 'ina': current_annual_yen: required: the adjustment step needs it (the cap is 100% of the current cost)",
    ),
    "a town with no entry at all": (
        lambda d: d["towns"].remove(_entry(d, "ogose")),
        "towns: town 'ogose' has no entry: no current cost, and the adjustment step needs it",
    ),
    "a re-allocation that pushes another town over its cap": (
        lambda d: (
            _entry(d, "ina").update(cap={"annual_yen": 40_000_000}),
            _entry(d, "ogose").update(cap={"annual_yen": 27_528_656}),
        ),
        "town 'ogose': FY2026-FY2030 (5 years): re-allocating 54,029,090 yen of adjustments would push it over its cap",
    ),
    "an unknown town": (
        lambda d: _entry(d, "ina").update(id="inaa"),
        "town 'inaa': id: unknown town 'inaa' (did you mean 'ina'?)",
    ),
    "an item given twice": (
        lambda d: _item(d, "network").update(id="system-fee"),
        "cost item 'system-fee': id: cost item id 'system-fee' is already used",
    ),
    "a cost outside the period": (
        lambda d: _item(d, "data-migration").update(yen_by_fiscal_year={2031: 5}),
        "cost item 'data-migration': yen_by_fiscal_year[2031]: FY2031 is outside the cost period FY2026-FY2030",
    ),
    "an amount given both ways": (
        lambda d: _item(d, "network").update(yen_by_fiscal_year={2027: 5}),
        "cost item 'network': give the amount either as annual_yen or as yen_by_fiscal_year",
    ),
    "an unknown basis": (
        lambda d: _item(d, "network").update(share={"circuit": 1}),
        "cost item 'network': share.circuit: Input should be 'equal', 'population'",
    ),
    "the SLA fee item must be a basic item": (
        lambda d: d.update(sla_fee_item="data-migration"),
        "sla_fee_item: 'data-migration' is a migration item; the SLA fee is a basic item",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_cost_model_is_named_and_exits_2(name: str, edit: Edit, inv_dir: Path) -> None:
    change, expected = CASES[name]
    edit("costs.yaml", change)
    found = problems_of(check(inv_dir))
    assert any(p.startswith("inventory/costs.yaml:") or "costs.yaml:" in p for p in found), found
    assert any(expected in p for p in found), "\n".join(found)
    for command in (("inventory", "check"), ("cost", "allocate")):
        result = run(*command, root=inv_dir)
        assert result.exit_code == 2, result.output
        assert expected in result.output


def test_problems_point_at_the_line(edit: Edit, inv_dir: Path) -> None:
    edit("costs.yaml", lambda d: _item(d, "network").update(annual_yen=-5))
    (problem,) = check(inv_dir).problems
    lines = (inv_dir / "costs.yaml").read_text(encoding="utf-8").splitlines()
    assert problem.line is not None and "annual_yen: -5" in lines[problem.line - 1]


def test_seed_figures_five_year_summary() -> None:
    """The seed's five-year totals: current 6,013,262,000 yen, joint 3,334,372,400 yen."""
    result = run("cost", "allocate", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["current"] == 6_013_262_000
    assert summary["joint"] == 3_334_372_400
    assert summary["saving"] == 2_678_889_600
    assert summary["saving_rate"] == "44.6%"
    tables = run("cost", "allocate")
    assert tables.exit_code == 0
    assert "saving (削減額) 2,678,889,600 yen, 44.6%" in tables.output
    for heading in (
        "1. 基本按分 Basic allocation",
        "2. 金額調整",
        "3. 再按分",
        "4. データ移行",
        "東秩父村",
        "最大剰余方式",
    ):
        assert heading in tables.output


def test_one_fiscal_year_and_csv() -> None:
    result = run("cost", "allocate", "--fiscal-year", "2027", "--csv")
    assert result.exit_code == 0, result.output
    header, *rows = [line.split(",") for line in result.stdout.splitlines()]
    assert len(rows) == 18
    total = header.index("total")
    # FY2027 has no migration cost: the basic items' 581,193,580 yen a year.
    assert sum(int(r[total]) for r in rows) == 581_193_580
    assert run("cost", "allocate", "--fiscal-year", "2031").exit_code == 2
    assert run("cost", "allocate", "--json", "--csv").exit_code == 2


def test_adjustment_and_reallocation_tables(edit: Edit, inv_dir: Path) -> None:
    edit("costs.yaml", lambda d: _entry(d, "ina").update(cap={"annual_yen": 40_000_000}))
    result = run("cost", "allocate", "--fiscal-year", "2027", "--json", root=inv_dir)
    assert result.exit_code == 0, result.output
    towns = {t["town"]: t for t in json.loads(result.stdout)["towns"]}
    assert towns["ina"]["adjusted"] and towns["ina"]["adjustment"] == 50_805_818 - 40_000_000
    assert towns["ina"]["total"] == 40_000_000
    assert sum(t["reallocated"] for t in towns.values()) == 10_805_818
    tables = run("cost", "allocate", "--fiscal-year", "2027", root=inv_dir)
    assert "10,805,818 yen of adjustments borne by the towns not adjusted" in tables.output


# --- the invoice --------------------------------------------------------------------------------


def _report(tmp_path: Path, month: str | None = "2027-05", **town_systems: list[dict]) -> Path:
    path = tmp_path / "sla.json"
    report = {
        "period": {"start": "2027-05-01T00:00:00+09:00", "end": "2027-06-01T00:00:00+09:00", "month": month},
        "towns": [{"town": town, "systems": systems} for town, systems in town_systems.items()],
    }
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def _credit(system: str, tier: str, percent: float, availability: float | None = 99.0) -> dict:
    return {"system": system, "tier": tier, "availability_percent": availability, "credit_percent": percent}


def test_twelve_instalments_add_up_to_the_fiscal_year() -> None:
    inv = load_inventory()
    months = [f"2027-{m:02d}" for m in range(4, 13)] + [f"2028-{m:02d}" for m in range(1, 4)]
    invoices = [make_invoice(inv, month) for month in months]
    allocation = invoices[0].allocation
    for i in range(len(inv.towns)):
        assert sum(inv_.towns[i].charge_yen for inv_ in invoices) == allocation.total[i]
    # 伊奈町's 50,805,818 yen: 4,233,818 a month and 2 yen left over, for April and May.
    assert [inv_.towns[0].charge_yen for inv_ in invoices[:3]] == [4_233_819, 4_233_819, 4_233_818]


def test_invoice_without_report_says_no_credit() -> None:
    result = run("cost", "invoice", "--month", "2027-05")
    assert result.exit_code == 0, result.output
    assert "No SLA credits were applied" in result.output
    assert "伊奈町" in result.output


def test_sla_credit_is_a_share_of_the_systems_monthly_fee(tmp_path: Path) -> None:
    """伊奈町 FY2027: system fee 38,039,417 yen; May's instalment 3,169,952 (3,169,951 and the 5 yen
    left over to April to August); 31 systems: 102,256.52 yen each; 10% is 10,225 yen (rounded down)."""
    report = _report(
        tmp_path, ina=[_credit("resident-registry", "critical", 10, 99.7), _credit("nhi-tax", "essential", 0)]
    )
    result = run("cost", "invoice", "--month", "2027-05", "--sla-report", str(report), "--json")
    assert result.exit_code == 0, result.output
    ina = json.loads(result.stdout)["towns"][0]
    assert ina["sla_fee"] == 3_169_952
    assert ina["credit"] == 10_225
    assert ina["due"] == ina["charge"] - 10_225
    tables = run("cost", "invoice", "--month", "2027-05", "--sla-report", str(report))
    assert "住民基本台帳" in tables.output and "-10,225" in tables.output


def test_credit_never_exceeds_the_charge(tmp_path: Path, edit: Edit, inv_dir: Path) -> None:
    edit("costs.yaml", lambda d: _entry(d, "higashichichibu").update(cap={"annual_yen": 12}))
    report = _report(tmp_path, higashichichibu=[_credit("collections", "critical", 50, 90.0)])
    result = run("cost", "invoice", "--month", "2027-05", "--sla-report", str(report), "--json", root=inv_dir)
    assert result.exit_code == 0, result.output
    town = next(t for t in json.loads(result.stdout)["towns"] if t["town"] == "higashichichibu")
    assert (town["charge"], town["credit"], town["due"], town["credit_limited_to_charge"]) == (1, 1, 0, True)


@pytest.mark.parametrize(
    ("month", "systems", "expected"),
    [
        ("2027-06", {"ina": [_credit("resident-registry", "critical", 10)]}, "the report is for 2027-05, not 2027-06"),
        ("2027-05", {"inaa": []}, "unknown town 'inaa' (did you mean 'ina'?)"),
        ("2027-05", {"ina": [_credit("nursery-fees", "standard", 10)]}, "伊奈町 does not subscribe 保育料"),
        (
            "2027-05",
            {"ina": [_credit("resident-registry", "standard", 10)]},
            "inventory puts 住民基本台帳 in 'critical'",
        ),
        ("2027-05", {"ina": [_credit("resident-registry", "critical", 150)]}, "credit_percent: Input should be less"),
    ],
)
def test_bad_sla_report_exits_2(tmp_path: Path, month: str, systems: dict, expected: str) -> None:
    report = _report(tmp_path, **systems)
    result = run("cost", "invoice", "--month", month, "--sla-report", str(report))
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "no invoice was made" in result.output


def test_a_report_without_a_month_and_bad_months_exit_2(tmp_path: Path) -> None:
    report = _report(tmp_path, month=None, ina=[])
    result = run("cost", "invoice", "--month", "2027-05", "--sla-report", str(report))
    assert result.exit_code == 2 and "the report is for 2027-05-01T00:00:00+09:00 to" in result.output
    assert run("cost", "invoice", "--month", "2027-5").exit_code == 2
    outside = run("cost", "invoice", "--month", "2026-03")
    assert outside.exit_code == 2 and "FY2025, outside the cost period" in outside.output


def test_a_measurement_view_sla_report_is_refused_with_its_reason(tmp_path: Path) -> None:
    report = _report(tmp_path, ina=[_credit("resident-registry", "critical", 10)])
    data = json.loads(report.read_text(encoding="utf-8"))
    report.write_text(json.dumps({**data, "contractual": False, "view": "every-minute"}), encoding="utf-8")
    result = run("cost", "invoice", "--month", "2027-05", "--sla-report", str(report))
    assert result.exit_code == 2, result.output
    assert "a measurement view (sla report --every-minute) has no credits" in result.output
