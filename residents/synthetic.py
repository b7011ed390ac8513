"""A synthetic population for the lab's tenants: households, residents with their movement history,
個人住民税 assessments and 国民健康保険 eligibility, as many current residents per town as the
inventory's population (times the lab's scale), generated deterministically from a seed.

No real person's data: names come from Faker's ja_JP lists (kanji with their katakana), addresses
are the member town's name with Faker's ja_JP place names and made-up numbers, every code
(住民票コード, 世帯番号, 被保険者番号) is a counter. The hard cases a hand-over must survive are in
every town, not left to chance:
- family names with characters outside JIS X 0208: 髙橋 and 山﨑 (CP932 has them, as IBM/NEC
  extensions), 𠮷田 (outside the BMP: CP932 has no 𠮷);
- half-width kana (ｻﾄｳ) in the records kept from the old system (residents since before 1995);
- movements on both sides of the era change 平成→令和 (2019-04-30 and 2019-05-01);
- people who moved between member towns: current residents of one town who came from another,
  and the same people (same 住民票コード) as removed records (転出) in the town they left.

`generate` writes one gzip'd CSV file per town and table (PostgreSQL `COPY ... (FORMAT csv)`),
streaming: memory does not grow with the population. The output depends only on the seed, the towns (their
order, numbers and counts) and GENERATOR; `Dataset.fingerprint` names it, so seeding can tell
whether a database already holds exactly this dataset.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import random
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from faker.providers.address.ja_JP import Provider as JaAddress
from faker.providers.person.ja_JP import Provider as JaPerson

GENERATOR = "municloud-synthetic-residents/1"
CODES_FILE = Path(__file__).with_name("codes.yaml")
SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# The tables in load order (households before the residents that refer to them), with their columns
# in the order the CSV files carry them (schema.sql).
TABLES: dict[str, tuple[str, ...]] = {
    "households": ("household_no", "head_code", "postal_code", "address", "formed_on"),
    "residents": (
        "resident_code",
        "household_no",
        "family_name",
        "given_name",
        "family_kana",
        "given_kana",
        "birth_date",
        "sex",
        "relationship",
        "address",
        "resident_since",
        "status",
        "removed_on",
    ),
    "movements": ("resident_code", "seq", "reason", "moved_on", "reported_on", "other_address"),
    "resident_tax": ("fiscal_year", "resident_code", "taxable_income", "income_levy", "per_capita_levy"),
    "nhi_eligibility": ("resident_code", "insured_no", "acquired_on", "lost_on"),
}

# The hard family names, one in each of a town's first households (then now and then by chance).
HARD_FAMILY_NAMES = (("髙橋", "タカハシ"), ("山﨑", "ヤマザキ"), ("𠮷田", "ヨシダ"))
ERA_CHANGE = dt.date(2019, 5, 1)  # 平成 → 令和
OLD_SYSTEM_UNTIL = dt.date(1995, 1, 1)  # records from before keep the old system's half-width kana
TODAY = dt.date(2026, 4, 1)  # the dataset's "now": the start of fiscal year 2026 (a fixed date: deterministic)
MOVER_SHARE = 0.005  # households that came from another member town
HARD_NAME_SHARE = 0.004
# 個人住民税 (SAMPLE rates): 所得割 10 % (市町村 6 %, 県 4 %), 均等割 5,000 yen (市町村 3,000, 県 1,000,
# 森林環境税 1,000).
INCOME_LEVY_RATE = 0.10
PER_CAPITA_LEVY = 5000


@dataclass(frozen=True)
class TownPopulation:
    id: str
    number: int
    name: str  # as the inventory writes it (伊奈町)
    residents: int  # current residents to generate


@dataclass(frozen=True)
class Dataset:
    seed: int
    scale: float
    towns: tuple[TownPopulation, ...]
    fiscal_year: int = TODAY.year

    @property
    def fingerprint(self) -> str:
        text = f"{GENERATOR}|{self.seed}|{self.scale}|{self.fiscal_year}|" + "|".join(
            f"{t.id}:{t.number}:{t.residents}" for t in self.towns
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset(towns: Sequence[tuple[str, int, str, int]], seed: int, scale: float) -> Dataset:
    """The dataset for `towns` ((id, number, name, population) each) at `scale` (the lab's small
    profile takes a tenth): at least one resident per town."""
    if not 0 < scale <= 1:
        raise ValueError(f"the scale of a synthetic population is in (0, 1], not {scale}")
    return Dataset(seed, scale, tuple(TownPopulation(i, n, name, max(1, round(p * scale))) for i, n, name, p in towns))


@cache
def codes() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(CODES_FILE.read_text(encoding="utf-8"))


def schema_sql(schema: str) -> str:
    """The DDL of one town's tables (idempotent)."""
    return SCHEMA_FILE.read_text(encoding="utf-8").replace("{schema}", schema)


# ---- half-width kana ---------------------------------------------------------------------------------

_FULL = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォッャュョー"
)
_HALF = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｯｬｭｮｰ"
_TO_HALF = {**dict(zip(_FULL, _HALF, strict=True)), "\u3099": "ﾞ", "\u309a": "ﾟ", "ヴ": "ｳﾞ"}


def to_halfwidth_kana(text: str) -> str:
    """ｻﾄｳ for サトウ, ｶﾞ for ガ (voiced marks as their own half-width characters), as old systems kept them."""
    return "".join(_TO_HALF.get(ch, ch) for ch in unicodedata.normalize("NFD", text))


# ---- generation ------------------------------------------------------------------------------------------


@dataclass
class _Writers:
    """One CSV writer per (town, table), all open while the towns are generated (movers write into
    the town they left)."""

    files: dict[tuple[str, str], Any]
    counts: dict[str, dict[str, int]]

    def row(self, town: str, table: str, values: Sequence[object]) -> None:
        self.files[town, table].writerow(["" if v is None else v for v in values])
        self.counts[town][table] += 1


def generate(data: Dataset, out_dir: Path) -> dict[str, dict[str, int]]:
    """Write <out_dir>/<town>/<table>.csv.gz for every town; the rows written per town and table."""
    counts = {t.id: dict.fromkeys(TABLES, 0) for t in data.towns}
    with ExitStack() as stack:
        files = {}
        for town in data.towns:
            (out_dir / town.id).mkdir(parents=True, exist_ok=True)
            for table in TABLES:
                path = out_dir / town.id / f"{table}.csv.gz"
                # the fastest level: the files cross one host and are loaded once
                handle = stack.enter_context(gzip.open(path, "wt", compresslevel=1, encoding="utf-8", newline=""))
                files[town.id, table] = csv.writer(handle, lineterminator="\n")
        writers = _Writers(files, counts)
        for town in data.towns:
            _Town(data, town, writers).generate()
    return counts


def _address_pool(rng: random.Random) -> list[str]:
    return rng.sample(list(JaAddress.towns), 12)


class _Town:
    """One town's households, generated until its count of current residents is reached."""

    def __init__(self, data: Dataset, town: TownPopulation, out: _Writers) -> None:
        self.data = data
        self.town = town
        self.out = out
        self.rng = random.Random(f"{data.seed}:{town.id}")
        self.oaza = _address_pool(self.rng)
        self.others = [t for t in data.towns if t.id != town.id]
        self.households = 0
        self.residents = 0  # serial of this town's own 住民票コード
        self.movers = 0
        self.insured = 0
        self.current = 0  # current residents written (the removed records movers leave elsewhere are not)
        self.last_names = list(JaPerson.last_name_pairs)
        self.last_weights = list(JaPerson.last_name_pairs.values())
        self.female = JaPerson.first_name_female_pairs
        self.male = JaPerson.first_name_male_pairs

    # -- small pieces
    def address(self, town: TownPopulation | None = None, rng: random.Random | None = None) -> tuple[str, str]:
        rng = rng or self.rng
        town = town or self.town
        oaza = rng.choice(self.oaza)
        postal = f"3{rng.randint(50, 69)}-{rng.randint(0, 9999):04d}"
        return postal, f"埼玉県{town.name}大字{oaza}{rng.randint(1, 2999)}番地{rng.randint(1, 30)}"

    def code(self) -> str:
        self.residents += 1
        return f"{self.town.number:02d}{self.residents:09d}"

    def mover_code(self, origin: TownPopulation) -> str:
        """A 住民票コード given in the town the person came from (it stays with the person)."""
        self.movers += 1
        return f"{origin.number:02d}9{self.town.number:02d}{self.movers:06d}"

    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def family_name(self) -> tuple[str, str]:
        n = self.households
        if n <= len(HARD_FAMILY_NAMES):
            return HARD_FAMILY_NAMES[n - 1]
        if self.rng.random() < HARD_NAME_SHARE:
            return self.rng.choice(HARD_FAMILY_NAMES)
        kanji, kana, _ = self.rng.choices(self.last_names, self.last_weights)[0]
        return kanji, kana

    # -- a household
    def generate(self) -> None:
        while self.current < self.town.residents:
            self.household()

    def household(self) -> None:
        self.households += 1
        rng = self.rng
        left = self.town.residents - self.current
        size = min(left, rng.choices((1, 2, 3, 4, 5), (30, 30, 18, 15, 7))[0])
        family = self.family_name()
        postal, address = self.address()
        household_no = f"{self.households:010d}"
        head_age = rng.randint(20, 95) if size == 1 else rng.randint(28, 80)
        head_birth = self.date_between(
            TODAY - dt.timedelta(days=365 * (head_age + 1)), TODAY - dt.timedelta(days=365 * head_age)
        )
        origin = (
            rng.choice(self.others) if self.others and (self.households == 4 or rng.random() < MOVER_SHARE) else None
        )
        # when the household came: forced on both sides of the era change in a town's 5th and 6th
        arrived = {5: dt.date(2019, 4, 30), 6: ERA_CHANGE}.get(self.households)
        if arrived is None:
            born_here = origin is None and rng.random() < 0.55
            adult = min(TODAY, head_birth + dt.timedelta(days=365 * 18))
            arrived = head_birth if born_here else self.date_between(max(adult, dt.date(1970, 4, 1)), TODAY)
        members = self.members(size, head_birth, family)
        codes_ = [self.mover_code(origin) if origin else self.code() for _ in members]
        self.out.row(self.town.id, "households", (household_no, codes_[0], postal, address, arrived))
        previous = (
            self.address(origin, random.Random(f"{self.data.seed}:{origin.id}:{household_no}")) if origin else None
        )
        for code, (given, given_kana, sex, relationship, birth) in zip(codes_, members, strict=True):
            since = max(arrived, birth)
            old = since < OLD_SYSTEM_UNTIL
            kana = (to_halfwidth_kana(family[1]), to_halfwidth_kana(given_kana)) if old else (family[1], given_kana)
            self.out.row(
                self.town.id,
                "residents",
                (code, household_no, family[0], given, *kana, birth, sex, relationship, address, since, "住民", None),
            )
            self.current += 1
            self.movements(code, birth, since, previous, address)
            if origin is not None and previous is not None:
                self.left_behind(
                    origin, code, family, given, given_kana, sex, relationship, birth, since, previous, address
                )
            self.tax_and_insurance(code, birth, since)

    def members(self, size: int, head_birth: dt.date, family: tuple[str, str]) -> list[tuple]:
        rng = self.rng
        head_sex = rng.choice("12")
        out = [(*self.first_name(head_sex), head_sex, "01", head_birth)]
        if size >= 2:
            spouse_sex = "2" if head_sex == "1" else "1"
            birth = head_birth + dt.timedelta(days=rng.randint(-2000, 2000))
            out.append(
                (*self.first_name(spouse_sex), spouse_sex, "02" if spouse_sex == "2" else "03", min(birth, TODAY))
            )
        for _ in range(size - len(out)):
            sex = rng.choice("12")
            earliest = head_birth + dt.timedelta(days=365 * 20)
            birth = self.date_between(min(earliest, TODAY), TODAY) if earliest < TODAY else TODAY
            out.append((*self.first_name(sex), sex, "04", birth))
        return out

    def first_name(self, sex: str) -> tuple[str, str]:
        kanji, kana, _ = self.rng.choice(self.male if sex == "1" else self.female)
        return kanji, kana

    def movements(
        self, code: str, birth: dt.date, since: dt.date, previous: tuple[str, str] | None, address: str
    ) -> None:
        rng = self.rng
        seq = 1
        if since == birth:
            self.out.row(
                self.town.id, "movements", (code, seq, "02", birth, birth + dt.timedelta(days=rng.randint(0, 14)), None)
            )
        else:
            came_from = previous[1] if previous else f"東京都{rng.choice(self.oaza)}{rng.randint(1, 9)}丁目"
            self.out.row(
                self.town.id,
                "movements",
                (code, seq, "01", since, since + dt.timedelta(days=rng.randint(0, 14)), came_from),
            )
        if rng.random() < 0.25 and since < TODAY - dt.timedelta(days=60):  # moved within the town
            seq += 1
            moved = self.date_between(since + dt.timedelta(days=30), TODAY)
            self.out.row(self.town.id, "movements", (code, seq, "11", moved, moved, address))

    def left_behind(
        self,
        origin: TownPopulation,
        code: str,
        family: tuple[str, str],
        given: str,
        given_kana: str,
        sex: str,
        relationship: str,
        birth: dt.date,
        moved: dt.date,
        previous: tuple[str, str],
        address: str,
    ) -> None:
        """The same person in the town they left: a removed record (除票), 転出 to this town."""
        household_no = f"9{self.town.number:02d}{self.households:07d}"
        if relationship == "01":
            formed = max(birth, moved - dt.timedelta(days=365 * 5))
            self.out.row(origin.id, "households", (household_no, code, previous[0], previous[1], formed))
        since = max(birth, moved - dt.timedelta(days=365 * 5))
        self.out.row(
            origin.id,
            "residents",
            (
                code,
                household_no,
                family[0],
                given,
                family[1],
                given_kana,
                birth,
                sex,
                relationship,
                previous[1],
                since,
                "転出",
                moved,
            ),
        )
        self.out.row(origin.id, "movements", (code, 1, "01" if since != birth else "02", since, since, None))
        self.out.row(origin.id, "movements", (code, 2, "21", moved, moved - dt.timedelta(days=7), address))

    def tax_and_insurance(self, code: str, birth: dt.date, since: dt.date) -> None:
        rng = self.rng
        age = (TODAY - birth).days // 365
        if age >= 18 and rng.random() < 0.6:
            income = rng.randint(50, 900) * 10_000
            self.out.row(
                self.town.id,
                "resident_tax",
                (self.data.fiscal_year, code, income, round(income * INCOME_LEVY_RATE), PER_CAPITA_LEVY),
            )
        if age < 75 and rng.random() < 0.25:
            self.insured += 1
            acquired = max(since, self.date_between(dt.date(2000, 4, 1), TODAY))
            lost = self.date_between(acquired, TODAY) if rng.random() < 0.1 else None
            self.out.row(
                self.town.id, "nhi_eligibility", (code, f"{self.town.number:02d}{self.insured:08d}", acquired, lost)
            )


def rows(path: Path) -> Iterator[list[str]]:
    """The rows of one generated file (tests, verification)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.reader(handle)
