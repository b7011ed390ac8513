"""The hand-over layouts as data: the shipped ones load, each refused case names the file, the entry
and the rule; and the records written from them: era dates, encodings, the 外字 list, fixed-length
fields, and nothing replaced or cut silently."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import yaml

from handover.export import export_script, fiscal_year_of, sections
from handover.layouts import LAYOUTS_DIR, LayoutError, load_layouts
from handover.reading import from_wareki, read_gaiji_list, read_records
from handover.records import GETA, RecordValueError, wareki, write_gaiji_list, write_records


@pytest.fixture(scope="module")
def layouts():
    return load_layouts()


def test_the_shipped_layouts_load_and_cover_three_business_areas(layouts) -> None:
    assert set(layouts) == {"resident-registry", "individual-resident-tax", "nhi-eligibility"}
    assert [r.source for r in layouts["resident-registry"].records] == ["households", "residents", "movements"]
    assert layouts["nhi-eligibility"].format == "fixed" and layouts["nhi-eligibility"].encoding == "cp932"
    for path in LAYOUTS_DIR.glob("*.yaml"):
        assert "# SAMPLE" in path.read_text(encoding="utf-8"), path  # until the official tables replace them


def _broken(tmp_path: Path, change) -> LayoutError:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((LAYOUTS_DIR / "resident-registry.yaml").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LayoutError) as caught:
        load_layouts(tmp_path)
    return caught.value


def _item(data: dict, record: int, item: int) -> dict:
    return data["records"][record]["items"][item]


@pytest.mark.parametrize(
    ("change", "entry", "rule"),
    [
        (lambda d: _item(d, 1, 0).update(column="code"), "records 'resident'", "no column 'code' in table residents"),
        (lambda d: _item(d, 1, 7).pop("codes"), "records 'resident'", "a code item names its code table"),
        (lambda d: _item(d, 1, 7).update(codes="gender"), "records 'resident'", "a code item names its code table"),
        (lambda d: _item(d, 1, 2).update(codes="sex"), "records 'resident'", "only a code item has a code table"),
        (lambda d: _item(d, 1, 2).pop("digits"), "records 'resident'", "a text item says its digits"),
        (lambda d: _item(d, 1, 3).update(name="氏"), "records 'resident'", "item name '氏' is used twice"),
        (lambda d: d["records"][2].update(source="moves"), "records 'movement'", "no table 'moves'"),
        (lambda d: d["records"][0].update(key="number"), "records 'household'", "the key column 'number'"),
        (lambda d: d["records"][2].update(id="resident"), "records 'resident'", "record id 'resident' is used twice"),
        (lambda d: d.update(encoding="shift-jis"), "", "encoding"),
        (lambda d: _item(d, 1, 0).update(digit=11), "records 'resident'", "unknown key 'digit'"),
    ],
)
def test_a_broken_layout_is_refused_naming_the_file_the_entry_and_the_rule(tmp_path, change, entry, rule) -> None:
    error = _broken(tmp_path, change)
    assert len(error.problems) >= 1
    problem = error.problems[0]
    assert problem.file.endswith("broken.yaml") and problem.line
    assert entry in problem.entry or entry in str(problem), str(problem)
    assert rule in str(problem), str(problem)


def test_two_files_with_one_layout_id_are_refused(tmp_path) -> None:
    text = (LAYOUTS_DIR / "individual-resident-tax.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(LayoutError, match="used by another file"):
        load_layouts(tmp_path)


def test_dates_are_written_in_the_era_with_its_two_digit_code() -> None:
    assert wareki(dt.date(2019, 4, 30)) == "04310430"  # 平成31年4月30日
    assert wareki(dt.date(2019, 5, 1)) == "05010501"  # 令和元年5月1日
    assert wareki(dt.date(1989, 1, 7)) == "03640107"  # 昭和64年
    assert wareki(dt.date(1989, 1, 8)) == "04010108"  # 平成元年


RESIDENT = {
    "resident_code": "01000000001",
    "household_no": "0000000001",
    "family_name": "髙橋",
    "given_name": "淳",
    "family_kana": "ﾀｶﾊｼ",
    "given_kana": "ジュン",
    "birth_date": "1972-05-13",
    "sex": "1",
    "relationship": "01",
    "address": "埼玉県伊奈町大字小室1番地",
    "resident_since": "2019-05-01",
    "status": "住民",
    "removed_on": None,
}


def _as(layouts, layout_id: str, **changes):  # type: ignore[no-untyped-def]
    return layouts[layout_id].model_copy(update=changes)


def test_a_utf8_csv_keeps_every_character_and_writes_half_width_kana_full_width(layouts, tmp_path) -> None:
    layout = layouts["resident-registry"]
    record = layout.records[1]
    rows = [RESIDENT, {**RESIDENT, "resident_code": "01000000002", "family_name": "𠮷田", "family_kana": "ヨシダ"}]
    written = write_records(layout, record, rows, tmp_path / "resident.csv")
    text = written.path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0].startswith("住民票コード,世帯番号,氏,名,")
    assert lines[1].split(",")[2:5] == ["髙橋", "淳", "タカハシ"] and "𠮷田" in lines[2]
    assert "05010501" in lines[1]  # 住民となった年月日 in 令和
    assert written.rows == 2 and written.normalised_kana == 1 and not written.gaiji
    assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()


def test_a_character_cp932_lacks_fails_the_record_or_goes_to_the_gaiji_list(layouts, tmp_path) -> None:
    record = layouts["resident-registry"].records[1]
    yoshida = {**RESIDENT, "family_name": "𠮷田"}
    refusing = _as(layouts, "resident-registry", encoding="cp932", gaiji="refuse")
    with pytest.raises(RecordValueError) as caught:
        write_records(refusing, record, [RESIDENT, yoshida], tmp_path / "r.csv")
    assert (caught.value.key, caught.value.item, caught.value.value) == ("01000000001", "氏", "𠮷田")
    assert "U+20BB7" in str(caught.value) and "cp932" in str(caught.value)
    assert not (tmp_path / "r.csv").exists()  # no half-written file
    listing = _as(layouts, "resident-registry", encoding="cp932", gaiji="list")
    written = write_records(listing, record, [RESIDENT, yoshida], tmp_path / "r.csv")
    text = written.path.read_bytes().decode("cp932")
    assert f"{GETA}田" in text and "髙橋" in text  # 髙 is in CP932 (an IBM extension), 𠮷 is not
    (gaiji,) = written.gaiji
    assert (gaiji.key, gaiji.item, gaiji.character, gaiji.codepoint) == ("01000000001", "氏", "𠮷", "U+20BB7")
    listed = write_gaiji_list(written.gaiji, tmp_path / "gaiji.csv").read_text(encoding="utf-8")
    assert "𠮷" in listed and "U+20BB7" in listed


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("resident_code", "010000000012", "12 digits, the layout allows 11"),
        ("resident_code", "0100000000A", "not a number"),
        ("relationship", "42", "not in the code table relationship"),
        ("sex", None, "required, but empty"),
        ("birth_date", "1972-02-30", "not a date"),
        ("family_name", "長" * 31, "31 characters, the layout allows 30"),
    ],
)
def test_a_value_that_breaks_the_layout_is_never_cut_or_replaced(layouts, tmp_path, column, value, reason) -> None:
    layout = layouts["resident-registry"]
    row = {**RESIDENT, column: value}
    with pytest.raises(RecordValueError) as caught:
        write_records(layout, layout.records[1], [row], tmp_path / "r.csv")
    assert reason in str(caught.value) and caught.value.key == row["resident_code"]


def test_fixed_length_records_in_cp932(layouts, tmp_path) -> None:
    layout = layouts["nhi-eligibility"]
    rows = [
        {"resident_code": "01000000002", "insured_no": "0100000001", "acquired_on": "2013-03-07", "lost_on": None},
        {
            "resident_code": "01000000004",
            "insured_no": "0100000002",
            "acquired_on": "2019-05-01",
            "lost_on": "2020-01-01",
        },
    ]
    written = write_records(layout, layout.records[0], rows, tmp_path / "nhi.dat")
    lines = written.path.read_bytes().split(b"\r\n")
    assert len(lines[0]) == len(lines[1]) == 11 + 10 + 8 + 8
    assert lines[0] == b"01000000002" + b"0100000001" + b"04250307" + b" " * 8
    assert lines[1].endswith(b"0501050105020101")


def test_the_export_reads_one_snapshot_and_splits_the_stream_by_table() -> None:
    script = export_script("ina", 2026, ["households", "resident_tax"])
    lines = script.splitlines()
    assert lines[0] == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" and lines[-1] == "COMMIT;"
    assert "FROM town_ina.resident_tax WHERE fiscal_year = 2026 ORDER BY resident_code" in script
    stream = iter(
        [
            ["@@municloud snapshot"],
            ["0/3000148", "2026-12-07 09:00:00+09"],
            ["@@municloud table households"],
            ["0000000001", "01000000001"],
            ["0000000002", "01000000004"],
            ["@@municloud table resident_tax"],
            ["@@municloud table movements"],
            ["01000000001", "1"],
        ]
    )
    got = [(name, list(rows)) for name, rows in sections(stream)]
    assert got == [
        ("snapshot", [["0/3000148", "2026-12-07 09:00:00+09"]]),
        ("table households", [["0000000001", "01000000001"], ["0000000002", "01000000004"]]),
        ("table resident_tax", []),
        ("table movements", [["01000000001", "1"]]),
    ]
    assert fiscal_year_of(dt.date(2027, 3, 31)) == 2026 and fiscal_year_of(dt.date(2027, 4, 1)) == 2027


def test_records_read_back_are_what_was_written(layouts, tmp_path) -> None:
    """reading.py inverts records.py: the round trip gives the rows back (half-width kana full-width,
    a 外字 restored from the list)."""
    layout = _as(layouts, "resident-registry", encoding="cp932", gaiji="list")
    record = layout.records[1]
    rows = [RESIDENT, {**RESIDENT, "resident_code": "01000000002", "family_name": "𠮷田", "removed_on": "2020-02-29"}]
    written = write_records(layout, record, rows, tmp_path / "r.csv")
    listed = write_gaiji_list(written.gaiji, tmp_path / "gaiji.csv")
    back = list(read_records(layout, record, written.path, read_gaiji_list(listed)))
    assert back == [{**r, "family_kana": "タカハシ"} for r in rows]
    nhi = layouts["nhi-eligibility"]
    row = {"resident_code": "01000000002", "insured_no": "0100000001", "acquired_on": "2019-05-01", "lost_on": None}
    fixed = write_records(nhi, nhi.records[0], [row], tmp_path / "nhi.dat")
    assert list(read_records(nhi, nhi.records[0], fixed.path)) == [row]
    assert from_wareki("04310430") == dt.date(2019, 4, 30) and from_wareki("05010501") == dt.date(2019, 5, 1)
    for bad in ("05010431", "99010101", "0501050"):
        with pytest.raises(ValueError):
            from_wareki(bad)
    (tmp_path / "short.dat").write_bytes(fixed.path.read_bytes()[5:])
    with pytest.raises(RecordValueError, match="bytes expected"):
        list(read_records(nhi, nhi.records[0], tmp_path / "short.dat"))
