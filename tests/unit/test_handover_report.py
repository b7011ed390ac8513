"""The 年度末データ納品報告書: built from the packages' clear manifests (as the export writes them) and
the delivery's results, a town that failed listed first with its reason first; its JSON, HTML and PDF.
The packaging loop that lets the other towns go on, and the fiscal year as the commands take it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from handover.delivery import FileDelivery, TownDelivery
from handover.export import TownExport, parse_fiscal_year
from handover.layouts import load_layouts
from handover.package import keys_dir, package_towns, recipient
from handover.records import WrittenFile
from handover.report import Failure, build_report, report_stem, town_line, write_report
from inventory.model.sla import CONTRACT_TZ

YEAR = 2026
STARTED = dt.datetime(2027, 4, 1, 6, 0, 0, tzinfo=CONTRACT_TZ)
FINISHED = dt.datetime(2027, 4, 1, 6, 41, 7, tzinfo=CONTRACT_TZ)
# (town, name, rows per file): the files are the shipped layouts' five record types
TOWNS = [("ina", "伊奈町", 1200), ("ogose", "越生町", 300), ("hatoyama", "鳩山町", 500)]
EXPORT_ERROR = "個人住民税 assessment: 所得割額 '12345678901': 11 digits, the item has 10"


def _sha(town: str, n: int) -> str:
    return f"{town[:2]}{n:02d}".encode().hex().ljust(64, "0")


def _manifest(folder: Path, town: str, name: str, rows: int) -> dict:
    """The clear manifest beside a package, exactly as export writes it (TownExport.manifest)."""
    layouts = load_layouts()
    result = TownExport(town, name, YEAR, folder, {"host": "dc1-db1", "lsn": f"0/{rows:X}", "time": "2027-04-01 06:00"})
    n = 0
    for layout in layouts.values():
        for record in layout.records:
            n += 1
            path = folder / f"{layout.id}-{record.id}.csv"
            result.files.append((layout, WrittenFile(path, record.id, rows * n, _sha(town, n), bytes=rows * n * 100)))
    return result.manifest("ops@center", dt.datetime(2027, 4, 1, 6, 5, tzinfo=CONTRACT_TZ))


def _delivered(packages: Path, town: str, ok: bool = True) -> TownDelivery:
    stem = f"{town}-FY{YEAR}"
    names = [f"{stem}.tar.gz.age", f"{stem}.tar.gz.age.sha256", f"{stem}.manifest.json", f"{stem}.nouhinsho.pdf"]
    files = [
        FileDelivery(n, (packages / n).stat().st_size, _sha(town, 90 + i), "sent", True) for i, n in enumerate(names)
    ]
    result = TownDelivery(town, f"{town}-sv01", files if ok else files[:1], seconds=3.5)
    result.finished_at = FINISHED
    if not ok:
        result.error = f"{town}-sv01 (198.18.4.2): [Errno 111] Connection refused"
    return result


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """A fiscal year's packages folder: per town its clear manifest, package and checksum."""
    folder = tmp_path / "lab-packages" / str(YEAR)
    folder.mkdir(parents=True)
    for town, name, rows in TOWNS:
        stem = f"{town}-FY{YEAR}"
        manifest = _manifest(tmp_path / "export" / town, town, name, rows)
        (folder / f"{stem}.manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        (folder / f"{stem}.tar.gz.age").write_bytes(b"age-encryption.org/v1\n" + bytes(rows))
        (folder / f"{stem}.tar.gz.age.sha256").write_text(f"{'ab' * 32}  {stem}.tar.gz.age\n")
        (folder / f"{stem}.nouhinsho.pdf").write_bytes(b"%PDF-1.7\n")
    return folder


@pytest.fixture
def report(packages: Path):  # type: ignore[no-untyped-def]
    """ina delivered; ogose's delivery failed (connection refused); hatoyama failed at export, an old
    package of it still lying in the folder (which the report must not take as this run's)."""
    return build_report(
        fiscal_year=YEAR,
        environment="lab",
        towns=[(t, n) for t, n, _ in TOWNS],
        packages=packages,
        deliveries=[_delivered(packages, "ina"), _delivered(packages, "ogose", ok=False)],
        failures={"hatoyama": Failure("export", EXPORT_ERROR)},
        started=STARTED,
        finished=FINISHED,
        made_by="ops@center",
    )


def test_the_json_sums_up_the_towns_and_lists_the_failed_ones_first(report) -> None:  # type: ignore[no-untyped-def]
    data = report.to_json()
    assert (data["fiscal_year"], data["fiscal_year_wareki"], data["environment"]) == (2026, "令和8年度", "lab")
    assert data["title"] == "年度末データ納品報告書" and data["ok"] is False
    assert (data["started"], data["finished"]) == ("2027-04-01T06:00:00+09:00", "2027-04-01T06:41:07+09:00")
    summary = data["summary"]
    assert (summary["towns"], summary["delivered"], summary["failed"]) == (3, 1, 2)
    # ina alone was delivered: its 5 files hold 1200 * (1 + 2 + 3 + 4 + 5) records
    assert summary["records"] == 1200 * 15
    ina_files = [f"ina-FY2026.{s}" for s in ("tar.gz.age", "tar.gz.age.sha256", "manifest.json", "nouhinsho.pdf")]
    assert [f.file for f in report.towns[2].delivered] == ina_files
    assert summary["bytes_delivered"] == sum(f.bytes for f in report.towns[2].delivered) > 1200  # ina's only
    assert [lay["follows"] for lay in summary["layouts"]] == ["中間標準レイアウト仕様 V2.7 (SAMPLE)"] * 3
    assert summary["failed_towns"] == [
        {"town": "ogose", "name": "越生町", "stage": "delivery", "reason": report.towns[0].failure.reason},
        {
            "town": "hatoyama",
            "name": "鳩山町",
            "stage": "export",
            "reason": EXPORT_ERROR,
        },
    ]
    assert "Connection refused" in summary["failed_towns"][0]["reason"]
    # the failed towns first, in the run's order, then the delivered
    assert [t["town"] for t in data["towns"]] == ["ogose", "hatoyama", "ina"]
    ogose, hatoyama, ina = data["towns"]
    assert ina["ok"] and ina["failure"] is None and ina["records"] == 18000
    assert ina["snapshot"] == {"host": "dc1-db1", "lsn": "0/4B0", "time": "2027-04-01 06:00"}
    assert ina["files"][0] == {
        "file": "individual-resident-tax-assessment.csv",
        "layout": "individual-resident-tax",
        "record": "assessment",
        "format": "csv",
        "encoding": "utf-8",
        "records": 1200,
        "bytes": 120000,
        "sha256": _sha("ina", 1),
    }
    assert ina["data_bytes"] == 1200 * 15 * 100
    # the package's SHA-256 and size: what was read back on the far side
    assert (ina["package"], ina["package_sha256"]) == ("ina-FY2026.tar.gz.age", _sha("ina", 90))
    assert ina["package_bytes"] == len(b"age-encryption.org/v1\n") + 1200
    assert (ina["server"], ina["delivered_at"], ina["seconds"]) == ("ina-sv01", "2027-04-01T06:41:07+09:00", 3.5)
    assert ina["verification"].startswith("受信側で全4ファイルのSHA-256一致")
    assert all(f["verified"] and f["action"] == "sent" for f in ina["delivered"])
    # ogose: packaged (its manifest is read), its delivery failed after the package went
    assert ogose["failure"]["stage"] == "delivery" and ogose["records"] == 300 * 15
    assert [f["file"] for f in ogose["delivered"]] == ["ogose-FY2026.tar.gz.age"]
    assert ogose["verification"].startswith("受信側で一致 1/1 ファイル、納品未完了")  # never "all matched"
    # hatoyama failed at export: nothing of the package lying there from an earlier run is reported
    assert hatoyama["files"] == [] and hatoyama["snapshot"] == {} and hatoyama["package_sha256"] is None
    assert hatoyama["verification"] == "未納品 not delivered"


def test_a_delivery_with_a_file_not_matched_on_the_far_side_is_a_failure(packages: Path) -> None:
    delivery = _delivered(packages, "ina")
    delivery.files[2].verified = False
    line = town_line("ina", "伊奈町", YEAR, packages, delivery, None)
    assert line.failure == Failure("delivery", "not verified on the far side: ina-FY2026.manifest.json")
    assert line.verification.startswith("受信側で一致 3/4 ファイル、納品未完了")
    assert line.bytes_delivered == sum(f.bytes for f in line.delivered if f.verified)
    # a town the run never delivered, nor said why: never reported as delivered
    assert town_line("ina", "伊奈町", YEAR, packages, None, None).failure == Failure("delivery", "not delivered")


def test_the_html_puts_the_failures_first_each_with_its_reason_before_the_rest(report) -> None:  # type: ignore[no-untyped-def]
    from handover.report import render_html

    html = render_html(report)
    assert "年度末データ納品報告書" in html and "令和8年度" in html and "FY2026" in html
    assert "未納品の団体あり / 2 town(s) not delivered" in html
    assert "2027-04-01 06:00:00 JST 〜 2027-04-01 06:41:07 JST" in html
    assert "18,000" in html and "中間標準レイアウト仕様 V2.7 (SAMPLE)" in html
    # the towns not delivered are listed before the summary of all towns, then in the details first
    listed = html.index("未納品 / Towns not delivered")
    assert listed < html.index("団体別一覧 / Towns") < html.index("団体別明細 / Per town")
    details = html[html.index("団体別明細 / Per town") :]
    assert details.index("越生町 (ogose)") < details.index("鳩山町 (hatoyama)") < details.index("伊奈町 (ina)")
    ogose = details[details.index("越生町 (ogose)") : details.index("鳩山町 (hatoyama)")]
    assert ogose.index("Connection refused") < ogose.index("抽出時点 / snapshot")  # the reason first
    assert "未完了 / not completed (試行 attempted 2027-04-01 06:41:07 JST)" in ogose
    hatoyama = details[details.index("鳩山町 (hatoyama)") : details.index("伊奈町 (ina)")]
    assert "抽出 export" in hatoyama and "11 digits, the item has 10" in hatoyama
    ina = details[details.index("伊奈町 (ina)") :]
    assert "ina-FY2026.tar.gz.age" in ina and _sha("ina", 90) in ina and _sha("ina", 5) in ina
    assert "WAL 0/4B0" in ina and "受信側で全4ファイルのSHA-256一致" in ina and "120,000" in ina
    assert "不一致 / NO" not in ina and 'class="failure"' not in ina
    assert 'src="data:image/png;base64,' in html  # the records per town chart


def test_the_report_is_written_as_html_pdf_and_json(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = write_report(report, tmp_path / "reports")
    folder = tmp_path / "reports" / "FY2026"
    assert paths == {kind: folder / f"handover-FY2026.{kind}" for kind in ("html", "pdf", "json")}
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report.to_json()
    assert "越生町" in paths["json"].read_text(encoding="utf-8")  # not \\u escapes
    pdf = paths["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 20_000
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Noto-Sans-CJK-JP" in fonts  # the Japanese font, embedded
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "年度末データ納品報告書" in text and "Connection refused" in text and "伊奈町" in text


def test_a_run_over_some_towns_does_not_overwrite_the_years_report(report) -> None:  # type: ignore[no-untyped-def]
    assert report_stem(report) == "handover-FY2026"
    report.every_town = False
    assert report_stem(report) == "handover-FY2026-hatoyama-ina-ogose"
    report.towns = report.towns * 2
    assert report_stem(report).startswith("handover-FY2026-6-towns-")


def test_packaging_goes_on_past_a_town_that_fails(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    (exports / "ina").mkdir(parents=True)
    (exports / "ina" / "manifest.json").write_text("{ not json")
    good = _manifest(exports / "ogose", "ogose", "越生町", 1)
    good["files"] = []
    (exports / "ogose").mkdir()
    (exports / "ogose" / "manifest.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    keys = keys_dir(tmp_path, "lab")
    recipients = {t: recipient(keys, t, make_if_missing=True) for t in ("ina", "ogose")}
    seen: list[str] = []
    made, failed = package_towns(exports, recipients, tmp_path / "out", lambda what, i, n: seen.append(what))
    assert [p.town for p in made] == ["ogose"] and made[0].path.exists()
    assert list(failed) == ["ina"] and "manifest.json: unreadable" in failed["ina"]
    assert seen == ["ina", "ogose", "done"]


@pytest.mark.parametrize(
    ("text", "today", "year"),
    [
        (None, dt.date(2027, 3, 31), 2026),
        ("current", dt.date(2027, 4, 1), 2027),
        ("previous", dt.date(2027, 4, 1), 2026),  # what the April 1st run delivers
        ("previous", dt.date(2027, 3, 31), 2025),
        ("2024", dt.date(2027, 4, 1), 2024),
    ],
)
def test_the_fiscal_year_as_the_commands_take_it(text: str | None, today: dt.date, year: int) -> None:
    assert parse_fiscal_year(text, today) == year


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("last", "give YYYY (the year its April is in"),
        ("26", "give YYYY"),
        ("1999", "before 2000"),
        ("2028", "fiscal year 2028: has not begun (the current one is 2027"),
    ],
)
def test_a_bad_fiscal_year_names_the_rule(text: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule.replace("(", r"\(")):
        parse_fiscal_year(text, dt.date(2027, 4, 1))
