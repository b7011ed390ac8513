"""A town's hand-over package: made from an export folder, encrypted to the town's age key, with its
納品書 and clear manifest; opened and verified with the town's key (checksums, counts, every record
against its layout); a changed byte, another town's key or a missing key are each named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from handover.export import TownExport
from handover.layouts import load_layouts
from handover.package import TownKeyError, identity, keys_dir, package_town, recipient, verify_package
from handover.records import RecordWriter
from residents.synthetic import TABLES, dataset, generate, rows


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """An export folder as `handover export` writes it, from a generated town (no database)."""
    root = tmp_path_factory.mktemp("handover")
    generate(dataset([("ogose", 2, "越生町", 300)], seed=3, scale=1.0), root / "generated")
    layouts = load_layouts()
    folder = root / "export" / "ogose"
    result = TownExport("ogose", "越生町", 2026, folder, {"host": "dc1-db1", "lsn": "0/1", "time": "2026-12-07"})
    for layout in layouts.values():
        for record in layout.records:
            writer = RecordWriter(layout, record, folder / f"{layout.id}-{record.id}.csv")
            for row in rows(root / "generated" / "ogose" / f"{record.source}.csv.gz"):
                values = dict(zip(TABLES[record.source], (v or None for v in row), strict=True))
                if record.source != "resident_tax" or values["fiscal_year"] == "2026":
                    writer.add(values)
            result.files.append((layout, writer.close()))
    manifest = result.manifest("tester@ops", dt.datetime(2027, 3, 31, 18, 0))
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


def test_a_package_opens_with_the_towns_key_only_and_verifies(exported: Path, tmp_path: Path) -> None:
    keys = keys_dir(tmp_path, "lab")
    package = package_town(exported, recipient(keys, "ogose", make_if_missing=True), tmp_path / "out")
    assert package.path.name == "ogose-FY2026.tar.gz.age" and package.path.read_bytes()[:20].startswith(b"age-")
    assert "住民票コード" not in package.path.read_bytes().decode("latin-1")  # nothing in the clear
    assert package.nouhinsho_pdf.stat().st_size > 10_000
    html = package.nouhinsho_pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert "納品書" in html and "越生町" in html and "令和8年度" in html and package.sha256 in html
    assert (keys / "ogose.key").stat().st_mode & 0o777 == 0o600
    result = verify_package(package.path, identity(keys / "ogose.key"), load_layouts(), tmp_path / "opened")
    assert result.ok, result.problems
    assert (result.town, result.fiscal_year, result.files) == ("ogose", 2026, 5) and result.records > 300
    # another town's key opens nothing
    recipient(keys, "ina", make_if_missing=True)
    other = verify_package(package.path, identity(keys / "ina.key"), load_layouts(), tmp_path / "other")
    assert not other.ok and "cannot be opened" in other.problems[0]


def test_a_changed_file_is_found(exported: Path, tmp_path: Path) -> None:
    keys = keys_dir(tmp_path, "lab")
    target = exported.parent.parent / "tampered" / "ogose"
    target.mkdir(parents=True)
    for path in exported.iterdir():
        data = path.read_bytes()
        if path.name == "individual-resident-tax-assessment.csv":
            data = data.replace(b",5000\r\n", b",5001\r\n", 1)
        (target / path.name).write_bytes(data)
    package = package_town(target, recipient(keys, "ogose", make_if_missing=True), tmp_path / "out")
    result = verify_package(package.path, identity(keys / "ogose.key"), load_layouts(), tmp_path / "opened")
    assert result.problems == ["individual-resident-tax-assessment.csv: SHA-256 differs from the manifest's"]


def test_a_missing_or_malformed_key_is_named(tmp_path: Path) -> None:
    keys = keys_dir(tmp_path, "prod")
    with pytest.raises(TownKeyError, match=r"ina\.pub: missing"):
        recipient(keys, "ina", make_if_missing=False)
    keys.mkdir(parents=True)
    (keys / "ina.pub").write_text("ssh-ed25519 AAAA\n")
    with pytest.raises(TownKeyError, match="not an age X25519 public key"):
        recipient(keys, "ina", make_if_missing=False)
