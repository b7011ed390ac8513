"""The lab's synthetic residents: as many current residents as asked per town, the same files from the
same seed, and every hard case a hand-over must survive present in every town."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import LabHandle, bind_environment
from inventory.model.environment import EnvironmentConfig
from provisioning.residents import synthetic_dataset
from residents.seeding import dataset_files, loaded_query
from residents.synthetic import (
    ERA_CHANGE,
    HARD_FAMILY_NAMES,
    TABLES,
    dataset,
    generate,
    rows,
    schema_sql,
    to_halfwidth_kana,
)

TOWNS = [("ina", 1, "伊奈町", 4000), ("ogose", 2, "越生町", 1200), ("namegawa", 3, "滑川町", 1800)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, dict[str, int]]]:
    out = tmp_path_factory.mktemp("residents")
    return out, generate(dataset(TOWNS, seed=7, scale=0.5), out)


def _table(out: Path, town: str, table: str) -> list[dict[str, str]]:
    return [dict(zip(TABLES[table], r, strict=True)) for r in rows(out / town / f"{table}.csv.gz")]


def test_each_town_has_its_scaled_count_of_current_residents(generated) -> None:
    out, counts = generated
    for town, _, _, population in TOWNS:
        current = [r for r in _table(out, town, "residents") if r["status"] == "住民"]
        assert len(current) == population // 2, town
        assert counts[town]["residents"] == len(_table(out, town, "residents"))


def test_the_same_seed_gives_the_same_files_and_another_seed_others(tmp_path: Path, generated) -> None:
    out, _ = generated

    def digest(folder: Path) -> str:
        data = b"".join(gzip.decompress(p.read_bytes()) for p in sorted(folder.rglob("*.csv.gz")))
        return hashlib.sha256(data).hexdigest()

    generate(dataset(TOWNS, seed=7, scale=0.5), tmp_path / "again")
    generate(dataset(TOWNS, seed=8, scale=0.5), tmp_path / "other")
    assert digest(tmp_path / "again") == digest(out)
    assert digest(tmp_path / "other") != digest(out)
    assert (
        dataset(TOWNS, 7, 0.5).fingerprint == dataset(TOWNS, 7, 0.5).fingerprint != dataset(TOWNS, 7, 0.1).fingerprint
    )


def test_every_hard_case_is_in_every_town(generated) -> None:
    out, _ = generated
    for town, *_ in TOWNS:
        residents = _table(out, town, "residents")
        names = {r["family_name"] for r in residents}
        assert {name for name, _ in HARD_FAMILY_NAMES} <= names, town  # 髙, 﨑, 𠮷
        halfwidth = [r for r in residents if r["family_kana"] and "\uff61" <= r["family_kana"][0] <= "\uff9f"]
        assert halfwidth and all(dt.date.fromisoformat(r["resident_since"]) < dt.date(1995, 1, 1) for r in halfwidth)
        moved_on = {dt.date.fromisoformat(m["moved_on"]) for m in _table(out, town, "movements")}
        assert ERA_CHANGE in moved_on and ERA_CHANGE - dt.timedelta(days=1) in moved_on


def test_people_who_moved_between_member_towns_are_in_both(generated) -> None:
    out, _ = generated
    by_code = {town: {r["resident_code"]: r for r in _table(out, town, "residents")} for town, *_ in TOWNS}
    crossings = 0
    for town, *_ in TOWNS:
        for other, *_ in TOWNS:
            if other == town:
                continue
            for code in by_code[town].keys() & by_code[other].keys():
                now, before = by_code[town][code], by_code[other][code]
                if now["status"] == "住民":
                    assert before["status"] == "転出" and before["removed_on"] == now["resident_since"]
                    assert (before["family_name"], before["birth_date"]) == (now["family_name"], now["birth_date"])
                    crossings += 1
    assert crossings >= len(TOWNS)  # at least one household per town came from another


def test_records_are_consistent(generated) -> None:
    out, _ = generated
    for town, *_ in TOWNS:
        residents = _table(out, town, "residents")
        codes = [r["resident_code"] for r in residents]
        assert len(codes) == len(set(codes)) and all(len(c) == 11 and c.isdigit() for c in codes)
        households = {h["household_no"] for h in _table(out, town, "households")}
        assert {r["household_no"] for r in residents} <= households
        for table in ("movements", "resident_tax", "nhi_eligibility"):
            assert {r["resident_code"] for r in _table(out, town, table)} <= set(codes), (town, table)
        for r in residents:
            assert r["sex"] in ("1", "2") and r["relationship"] in ("01", "02", "03", "04")
            assert dt.date.fromisoformat(r["birth_date"]) <= dt.date.fromisoformat(r["resident_since"])


def test_half_width_kana_and_the_schema() -> None:
    assert to_halfwidth_kana("ヤマザキ") == "ﾔﾏｻﾞｷ" and to_halfwidth_kana("ジュンペイ") == "ｼﾞｭﾝﾍﾟｲ"
    sql = schema_sql("town_ina")
    assert "CREATE TABLE IF NOT EXISTS town_ina.residents" in sql and "{schema}" not in sql
    with pytest.raises(ValueError, match="scale"):
        dataset(TOWNS, 1, 0)


def test_the_load_is_one_transaction_that_records_the_dataset(tmp_path: Path) -> None:
    data = dataset(TOWNS[:2], seed=7, scale=0.1)
    folder = dataset_files(data, tmp_path / "residents", "business_app", "/var/lib/postgresql/x")
    sql = (folder / "ina" / "load.sql").read_text()
    lines = sql.splitlines()
    assert lines[:3] == ["\\set ON_ERROR_STOP on", "BEGIN;", "SET LOCAL ROLE business_app;"]
    assert lines.index("COMMIT;") > max(i for i, line in enumerate(lines) if line.startswith("COPY "))
    assert "FROM PROGRAM 'gzip -dc /var/lib/postgresql/x/ina/residents.csv.gz' (FORMAT csv);" in sql
    assert f"INSERT INTO town_ina.seed (dataset, residents) VALUES ('{data.fingerprint}', 400);" in sql
    assert "TRUNCATE town_ina.nhi_eligibility" in sql  # a re-load replaces, never adds
    # made once: a second call reuses the folder; another dataset replaces it
    stamp = (folder / "ina" / "residents.csv.gz").stat().st_mtime_ns
    assert dataset_files(data, tmp_path / "residents", "business_app", "/x") == folder
    assert (folder / "ina" / "residents.csv.gz").stat().st_mtime_ns == stamp
    other = dataset_files(dataset(TOWNS[:2], 8, 0.1), tmp_path / "residents", "business_app", "/x")
    assert (
        other != folder and not folder.exists() and [p.name for p in (tmp_path / "residents").iterdir()] == [other.name]
    )
    query = loaded_query(["ina", "ogose"], data.fingerprint)
    assert "('ina', 'town_ina'), ('ogose', 'town_ogose')" in query and data.fingerprint in query


def test_only_a_lab_environment_holds_synthetic_residents_and_only_with_a_profile() -> None:
    inventory = load_inventory()
    prod = bind_environment(inventory, "prod", Path("/nonexistent"))
    assert synthetic_dataset(inventory, prod) is None
    lab = bind_environment(inventory, "lab", Path("/nonexistent"))
    assert synthetic_dataset(inventory, lab) is None  # no lab handle: no profile
    small = dataclasses.replace(lab, lab=LabHandle(state_dir=Path("/x"), prefix="mct", profile="small"))
    data = synthetic_dataset(inventory, small)
    assert data is not None and data.scale == 0.1
    assert data.towns[0].residents == round(inventory.town(data.towns[0].id).population * 0.1)
    config = inventory.environment("prod").model_dump()
    with pytest.raises(ValueError, match="only a lab environment"):
        EnvironmentConfig.model_validate({**config, "synthetic_residents": {"seed": 1, "scale": {"full": 1.0}}})
