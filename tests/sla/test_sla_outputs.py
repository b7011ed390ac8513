"""The report's files from the backfilled month: the invoice reads the JSON, the CLI writes the dated
folder and exits 1 on gaps, the HTML renders in headless Chromium and the PDF converts to an image,
both showing the towns' names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from costs.sla_report import check_report, read_sla_report
from inventory.check import load_inventory
from inventory.loader import Inventory
from monitoring.sla.calendar import month_period
from monitoring.sla.render import write_report_set
from monitoring.sla.report import build_report

from .backfill import BackfilledPrometheus
from .conftest import MONTH


@pytest.fixture(scope="module")
def report_dir(
    tmp_path_factory: pytest.TempPathFactory, prometheus: BackfilledPrometheus, contract_inventory: Inventory
) -> Path:
    report = build_report(contract_inventory, month_period(MONTH), prometheus.api, ["ina", "ogose"])
    folder = tmp_path_factory.mktemp("report")
    write_report_set(report, folder)
    return folder


def test_report_set_files(report_dir: Path) -> None:
    for stem in ("sla-2026-05", "towns/ina/sla-2026-05-ina", "towns/ogose/sla-2026-05-ogose"):
        for ext in ("json", "csv", "html", "pdf"):
            assert (report_dir / f"{stem}.{ext}").stat().st_size > 0, f"{stem}.{ext}"
    data = json.loads((report_dir / "sla-2026-05.json").read_text())
    assert data["period"] == {
        "start": "2026-05-01T00:00:00+09:00",
        "end": "2026-06-01T00:00:00+09:00",
        "month": "2026-05",
    }
    assert data["data_complete"] is False
    ina = {s["system"]: s for s in data["towns"][0]["systems"]}
    assert Fraction(ina["resident-registry"]["availability_exact"]) == Fraction(100 * 9270, 9330)
    assert ina["resident-registry"]["formula"] == "(9330 - 40 - 20) / 9330 = 99.357%"
    csv = (report_dir / "sla-2026-05.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("town,town_name,system") and any(
        line.startswith("ogose,越生町,resident-registry") for line in csv
    )


def test_the_invoice_reads_the_report(report_dir: Path, contract_inventory: Inventory) -> None:
    path = report_dir / "sla-2026-05.json"
    report = read_sla_report(path)
    check_report(report, path, MONTH, contract_inventory)  # raises on any disagreement
    credits = {(t.town, s.system): s.credit_percent for t in report.towns for s in t.systems}
    assert credits == {
        ("ina", "resident-registry"): 25.0,
        ("ina", "convenience-store-payment"): 0.0,
        ("ogose", "resident-registry"): 50.0,
    }


def test_cost_invoice_cli_applies_the_engine_report(tmp_path: Path, prometheus: BackfilledPrometheus) -> None:
    """The shipped inventory end to end: `sla report` writes, `cost invoice --sla-report` reads."""
    env = {**os.environ, "COLUMNS": "200", "MUNICLOUD_STATE_DIR": str(tmp_path / "state")}
    run = [sys.executable, "-m", "municloud.cli.main"]
    made = subprocess.run(
        [
            *run,
            "sla",
            "report",
            "--month",
            MONTH,
            "--town",
            "ina",
            "--prometheus",
            prometheus.api.url,
            "--out",
            str(tmp_path),
            "--no-pdf",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    # the shipped inventory subscribes ina to 28 systems; only two have data: gaps, so exit 1
    assert made.returncode == 1, made.stderr[-2000:]
    summary = json.loads(made.stdout)
    assert summary["folder"] == str(tmp_path / MONTH) and "data gaps" in made.stderr
    invoice = subprocess.run(
        [
            *run,
            "cost",
            "invoice",
            "--month",
            MONTH,
            "--sla-report",
            str(tmp_path / MONTH / f"sla-{MONTH}.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert invoice.returncode == 0, invoice.stdout[-2000:] + invoice.stderr[-2000:]
    assert "resident-registry" in invoice.stdout


def test_html_screenshot_and_pdf_image_show_the_towns(report_dir: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if not (chromium and shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("needs chromium and poppler-utils")
    html = report_dir / "sla-2026-05.html"
    png = tmp_path / "report.png"
    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]
    subprocess.run(
        [*common, f"--screenshot={png}", "--window-size=1400,1800", html.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    dom = subprocess.run(
        [*common, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "伊奈町" in dom and "越生町" in dom
    assert _ink(png) > 0.01, "the screenshot is blank"

    pdf = report_dir / "sla-2026-05.pdf"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    page = next(tmp_path.glob("page*.png"))
    assert _ink(page) > 0.01, "the PDF's first page is blank"
    text = subprocess.run(["pdftotext", "-l", "2", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "伊奈町" in text and "越生町" in text and "SLA" in text  # the Japanese font is embedded and readable


def _ink(png: Path) -> float:
    """Share of pixels that are not white."""
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(png))[..., :3]
    return float((pixels.mean(axis=2) < 0.95).mean())


def test_shipped_inventory_loads() -> None:
    assert load_inventory().sla.measurement.no_data == "against_provider"
