"""The cost model (costs.yaml): the joint cost items and how they are shared among the towns.

Each item is shared by a weighted mix of bases (the council's running costs 4 : 6 between an equal
share and a population share, say); each town's current cost and the agreed cap drive the
adjustment step. The seed gives the five-year totals, the 4 : 6 rule and the four steps; every
other figure in the shipped costs.yaml is a sample, marked as such.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import InventoryModel, NonEmptyText, Slug

# What a sharing rule can weigh: every town alike, its residents, the business systems it
# subscribes, its client PCs, its carrier circuits.
Basis = Literal["equal", "population", "subscribed_systems", "clients", "circuits"]
Step = Literal["basic", "migration"]
FiscalYear = Annotated[int, Field(ge=1989, le=2200)]  # 年度: April to March, named by the April


def _not_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"a cost cannot be negative (got {value:,} yen)")
    return value


Yen = Annotated[int, AfterValidator(_not_negative)]
Weight = Annotated[float, Field(ge=0, le=1)]


def _weights_sum_to_one(share: dict[Basis, float]) -> dict[Basis, float]:
    if not share:
        raise ValueError("a sharing rule needs at least one basis (e.g. {population: 1})")
    total = sum(share.values())
    # The weights are decimals as people write them (0.4 + 0.6); float addition is close, not exact.
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9):
        written = " + ".join(f"{k} {v:g}" for k, v in share.items())
        raise ValueError(f"the shares must add up to 1, but {written} = {total:g}")
    return share


ShareRule = Annotated[dict[Basis, Weight], AfterValidator(_weights_sum_to_one)]


class CostPeriod(InventoryModel):
    first_fiscal_year: FiscalYear
    last_fiscal_year: FiscalYear

    @model_validator(mode="after")
    def _ordered(self) -> CostPeriod:
        if self.first_fiscal_year > self.last_fiscal_year:
            raise ValueError(
                f"first_fiscal_year ({self.first_fiscal_year}) is after last_fiscal_year ({self.last_fiscal_year})"
            )
        return self

    @property
    def fiscal_years(self) -> range:
        return range(self.first_fiscal_year, self.last_fiscal_year + 1)

    @property
    def label(self) -> str:
        years = len(self.fiscal_years)
        return f"FY{self.first_fiscal_year}-FY{self.last_fiscal_year} ({years} year{'s' if years > 1 else ''})"


class CostItem(InventoryModel):
    id: Slug
    name: NonEmptyText  # as the council's papers write it, e.g. 事務局経費 (secretariat)
    step: Step  # basic: shared in step 1 (and adjusted); migration: shared in step 4
    share: ShareRule
    annual_yen: Yen | None = None  # the same amount in every fiscal year of the period
    yen_by_fiscal_year: dict[FiscalYear, Yen] = {}  # or year by year (a one-off cost: one year)

    @model_validator(mode="after")
    def _one_amount(self) -> CostItem:
        if (self.annual_yen is None) == (not self.yen_by_fiscal_year):
            raise ValueError("give the amount either as annual_yen or as yen_by_fiscal_year (one of the two)")
        return self

    def amount(self, fiscal_year: int) -> int:
        if self.annual_yen is not None:
            return self.annual_yen
        return self.yen_by_fiscal_year.get(fiscal_year, 0)


class Cap(InventoryModel):
    """The most a town pays after the adjustment: a ratio of its current cost, or an amount a year."""

    ratio: Annotated[float, Field(gt=0)] | None = None
    annual_yen: Yen | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Cap:
        if (self.ratio is None) == (self.annual_yen is None):
            raise ValueError("a cap is either a ratio of the current cost or an annual_yen amount (one of the two)")
        return self


class Reallocation(InventoryModel):
    share: ShareRule  # among the towns that were not adjusted


class Adjustment(InventoryModel):
    cap: Cap  # every town's cap unless its own entry under towns gives one
    reallocation: Reallocation


class TownCost(InventoryModel):
    id: Slug  # the town's id in towns.yaml
    current_annual_yen: Yen | None = None  # what the town pays a year today for what the items replace
    cap: Cap | None = None  # the town's own agreed cap, instead of adjustment.cap


class CostsFile(InventoryModel):
    period: CostPeriod
    sla_fee_item: Slug  # the item whose monthly share the SLA credits are a percentage of
    items: Annotated[list[CostItem], Field(min_length=1)]
    adjustment: Adjustment | None = None  # no adjustment rule: steps 2 and 3 are skipped
    towns: list[TownCost] = []

    def cap_of(self, own: TownCost | None) -> Cap | None:
        """A town's agreed cap: its own, else the common one; None without an adjustment rule."""
        if self.adjustment is None:
            return None
        return own.cap if own is not None and own.cap is not None else self.adjustment.cap
