"""The four agreed steps of sharing the joint cost (費用按分), over plain numbers.

1. Basic allocation (基本按分): every recurring cost item is shared by its own rule (a weighted mix
   of bases: equal, population, subscribed systems, client PCs, circuits).
2. Adjustment (金額調整): a town whose basic total exceeds its cap (a ratio of its current cost, or
   an amount agreed in advance) pays its cap; the difference is its adjustment.
3. Re-allocation (再按分): the sum of the adjustments is shared among the towns that were not
   adjusted, by the agreed rule. This is done once: a town pushed over its own cap by it is an
   error for the council to settle, never a second round (which could go on without end).
4. Data migration: the one-off migration items, shared by their rule after the above.

Each item and the re-allocation are rounded to the yen by the largest remainder, so every step's
shares add up to its amount exactly, and so does each town's total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import get_args

from inventory.model.costs import Basis, Step

from .rounding import largest_remainder

BASES: tuple[Basis, ...] = get_args(Basis)  # in the order the inventory's model declares them
BASIS_LABELS: dict[str, str] = {
    "equal": "均等割 equal",
    "population": "人口割 population",
    "subscribed_systems": "利用業務数割 subscribed systems",
    "clients": "端末数割 client PCs",
    "circuits": "回線数割 circuits",
}
Share = Mapping[Basis, Fraction]  # weights that add up to 1


@dataclass(frozen=True)
class TownFacts:
    """What the sharing rules weigh for one town, and its current cost and cap over the span."""

    id: str
    name: str
    population: int
    subscribed_systems: int
    clients: int
    circuits: int
    current_yen: int | None = None
    cap_yen: int | None = None  # None: the town is never adjusted (no adjustment step)

    def basis(self, basis: Basis) -> int:
        return 1 if basis == "equal" else getattr(self, basis)


@dataclass(frozen=True)
class CostLine:
    id: str
    name: str
    step: Step
    amount_yen: int
    share: Share


@dataclass(frozen=True)
class AllocationInput:
    span: str  # what the amounts cover, for messages: "FY2026", "FY2026-FY2030 (5 years)"
    towns: tuple[TownFacts, ...]
    items: tuple[CostLine, ...]
    adjust: bool  # whether steps 2 and 3 apply (the cost model has an adjustment rule)
    reallocation_share: Share | None = None


class AllocationError(Exception):
    """The agreed rules cannot be applied; `failures` are (town id or None, what is wrong)."""

    def __init__(self, failures: Sequence[tuple[str | None, str]]) -> None:
        self.failures = list(failures)
        super().__init__("; ".join(f"{town + ': ' if town else ''}{why}" for town, why in self.failures))


@dataclass(frozen=True)
class Allocation:
    """Every step's yen per town, in the order of `input.towns`."""

    input: AllocationInput
    basic: dict[str, list[int]]  # basic item id -> yen per town
    basic_total: list[int]
    adjusted: list[bool]
    adjustment: list[int]  # taken off an adjusted town (0 for the others)
    reallocated: list[int]  # added to a town that was not adjusted
    after_adjustment: list[int]
    migration: dict[str, list[int]]
    migration_total: list[int]
    total: list[int]

    @property
    def towns(self) -> tuple[TownFacts, ...]:
        return self.input.towns

    @property
    def joint_yen(self) -> int:
        return sum(self.total)

    @property
    def adjustment_yen(self) -> int:
        return sum(self.adjustment)

    @property
    def current_yen(self) -> int | None:
        current = [t.current_yen for t in self.towns]
        return None if any(c is None for c in current) else sum(c for c in current if c is not None)

    def saving(self, index: int) -> int | None:
        current = self.towns[index].current_yen
        return None if current is None else current - self.total[index]


def share_amount(amount: int, share: Share, towns: Sequence[TownFacts], what: str) -> list[int]:
    """`amount` yen shared among `towns` by a weighted mix of bases, exactly, to the yen.

    A town's exact quota is amount x sum over bases of weight x its value / all towns' value. Over
    the common denominator of every weight and basis total these are integers: exact, and fast
    enough for 1,700 towns (Fraction objects per town are not)."""
    used: list[tuple[Fraction, list[int], int]] = []
    for basis, weight in share.items():
        if not weight:
            continue
        values = [t.basis(basis) for t in towns]
        basis_total = sum(values)
        if basis_total <= 0:
            raise AllocationError([(None, f"{what}: no town has any {BASIS_LABELS[basis]} to share by")])
        used.append((Fraction(weight), values, basis_total))
    denominator = math.lcm(*(w.denominator * basis_total for w, _, basis_total in used)) if used else 1
    weights = [0] * len(towns)
    for weight, values, basis_total in used:
        factor = weight.numerator * (denominator // (weight.denominator * basis_total))
        for i, value in enumerate(values):
            weights[i] += factor * value
    return largest_remainder(amount, weights)


def allocate(data: AllocationInput) -> Allocation:
    towns = data.towns
    if not towns:
        raise AllocationError([(None, f"{data.span}: no towns to share the cost among")])
    n = len(towns)
    basic = {
        item.id: share_amount(item.amount_yen, item.share, towns, f"{data.span} {item.name}")
        for item in data.items
        if item.step == "basic"
    }
    basic_total = [sum(col[i] for col in basic.values()) for i in range(n)]

    adjusted = [False] * n
    adjustment = [0] * n
    reallocated = [0] * n
    if data.adjust:
        _check_caps(data)
        for i, town in enumerate(towns):
            if town.cap_yen is not None and basic_total[i] > town.cap_yen:
                adjusted[i] = True
                adjustment[i] = basic_total[i] - town.cap_yen
        reallocated = _reallocate(data, basic_total, adjusted, sum(adjustment))
    after = [basic_total[i] - adjustment[i] + reallocated[i] for i in range(n)]

    migration = {
        item.id: share_amount(item.amount_yen, item.share, towns, f"{data.span} {item.name}")
        for item in data.items
        if item.step == "migration"
    }
    migration_total = [sum(col[i] for col in migration.values()) for i in range(n)]
    total = [after[i] + migration_total[i] for i in range(n)]
    return Allocation(
        data, basic, basic_total, adjusted, adjustment, reallocated, after, migration, migration_total, total
    )


def _check_caps(data: AllocationInput) -> None:
    missing = [(t.id, "has no cap (nor a current cost to take it from)") for t in data.towns if t.cap_yen is None]
    if missing:
        raise AllocationError([(town, f"{data.span}: {why}") for town, why in missing])


def _reallocate(data: AllocationInput, basic_total: list[int], adjusted: list[bool], pool: int) -> list[int]:
    """Share the adjustments' sum among the towns not adjusted, once; refuse what pushes one over."""
    reallocated = [0] * len(data.towns)
    if not pool:
        return reallocated
    receivers = [i for i, was in enumerate(adjusted) if not was]
    if not receivers:
        raise AllocationError(
            [(None, f"{data.span}: every town is over its cap; no town is left to bear {pool:,} yen of adjustments")]
        )
    if data.reallocation_share is None:
        raise AllocationError([(None, f"{data.span}: {pool:,} yen of adjustments but no re-allocation rule")])
    shares = share_amount(
        pool, data.reallocation_share, [data.towns[i] for i in receivers], f"{data.span} re-allocation"
    )
    failures: list[tuple[str | None, str]] = []
    for i, share in zip(receivers, shares, strict=True):
        reallocated[i] = share
        town = data.towns[i]
        cap = town.cap_yen
        if cap is not None and basic_total[i] + share > cap:
            failures.append(
                (
                    town.id,
                    f"{data.span}: re-allocating {pool:,} yen of adjustments would push it over its cap "
                    f"({basic_total[i]:,} + {share:,} = {basic_total[i] + share:,} > {cap:,} yen); the "
                    "re-allocation is made once, not repeated: agree another cap or re-allocation rule",
                )
            )
    if failures:
        raise AllocationError(failures)
    return reallocated
