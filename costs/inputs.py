"""The allocation's input for one fiscal year, or for the whole period, from the inventory.

For the whole period the amounts are the sum of its fiscal years, and a town's current cost and an
annual cap are its annual figures times the number of years; a cap given as a ratio is that ratio
of the current cost, rounded down to the yen (a cap is never rounded up past what was agreed).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from inventory.model.costs import Cap, CostsFile
from inventory.model.towns import Town

from .allocation import AllocationError, AllocationInput, CostLine, Share, TownFacts


def exact(weight: float) -> Fraction:
    """A weight as the decimal it was written as (0.4 is 2/5, not the float nearest to it)."""
    return Fraction(str(weight))


def exact_share(share: dict[str, float]) -> Share:
    return {basis: exact(weight) for basis, weight in share.items()}  # type: ignore[misc]


def span_label(costs: CostsFile, fiscal_year: int | None) -> str:
    return costs.period.label if fiscal_year is None else f"FY{fiscal_year}"


def allocation_input(costs: CostsFile, towns: Sequence[Town], fiscal_year: int | None = None) -> AllocationInput:
    """Raises AllocationError for a fiscal year outside the period or a cap that cannot be worked out."""
    period = costs.period
    if fiscal_year is not None and fiscal_year not in period.fiscal_years:
        raise AllocationError([(None, f"FY{fiscal_year} is outside the cost period {period.label}")])
    years = [fiscal_year] if fiscal_year is not None else list(period.fiscal_years)
    span = span_label(costs, fiscal_year)
    own = {t.id: t for t in costs.towns}
    facts: list[TownFacts] = []
    failures: list[tuple[str | None, str]] = []
    for town in towns:
        entry = own.get(town.id)
        current = entry.current_annual_yen if entry is not None else None
        cap, why = _cap_yen(costs.cap_of(entry), current, len(years))
        if why:
            failures.append((town.id, why))
        facts.append(
            TownFacts(
                id=town.id,
                name=town.name,
                population=town.population,
                subscribed_systems=len(town.subscriptions),
                clients=town.clients.pcs,
                circuits=len(dict(town.circuits)),  # primary and backup
                current_yen=None if current is None else current * len(years),
                cap_yen=cap,
            )
        )
    if failures:
        raise AllocationError(failures)
    items = tuple(
        CostLine(item.id, item.name, item.step, sum(item.amount(y) for y in years), exact_share(item.share))
        for item in costs.items
    )
    adjustment = costs.adjustment
    return AllocationInput(
        span=span,
        towns=tuple(facts),
        items=items,
        adjust=adjustment is not None,
        reallocation_share=exact_share(adjustment.reallocation.share) if adjustment else None,
    )


def _cap_yen(cap: Cap | None, current_annual: int | None, years: int) -> tuple[int | None, str]:
    if cap is None:
        return None, ""
    if cap.annual_yen is not None:
        return cap.annual_yen * years, ""
    assert cap.ratio is not None
    if current_annual is None:
        return None, (
            f"has no current cost (current_annual_yen), which the adjustment step needs: its cap is "
            f"{cap.ratio * 100:g}% of its current cost"
        )
    return int(exact(cap.ratio) * current_annual * years), ""
