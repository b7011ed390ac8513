"""The cost model (costs.yaml): its items and towns, and whether the agreed steps can be applied."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..problems import unknown_name
from . import Finding, rule
from .identity import duplicates


@rule("costs", complete=("costs",))
def cost_items_are_consistent(files: LoadedFiles) -> Iterator[Finding]:
    costs = files.costs
    yield from duplicates(((t.id, ("items", i, "id")) for i, t in enumerate(costs.items)), "costs", "cost item id")
    yield from duplicates(((t.id, ("towns", i, "id")) for i, t in enumerate(costs.towns)), "costs", "town")
    period = costs.period
    for i, item in enumerate(costs.items):
        for year in item.yen_by_fiscal_year:
            if year not in period.fiscal_years:
                yield (
                    "costs",
                    ("items", i, "yen_by_fiscal_year", year),
                    f"FY{year} is outside the cost period {period.label}",
                )
    items = {item.id: item for item in costs.items}
    fee_item = items.get(costs.sla_fee_item)
    if fee_item is None:
        yield "costs", ("sla_fee_item",), unknown_name("cost item", costs.sla_fee_item, list(items))
    elif fee_item.step != "basic":
        yield "costs", ("sla_fee_item",), f"'{fee_item.id}' is a {fee_item.step} item; the SLA fee is a basic item"


@rule("costs", "towns", complete=("costs", "towns"))
def cost_towns_are_towns(files: LoadedFiles) -> Iterator[Finding]:
    known = [t.id for t in files.towns.towns]
    ids = set(known)
    for i, entry in enumerate(files.costs.towns):
        if entry.id not in ids:
            yield "costs", ("towns", i, "id"), unknown_name("town", entry.id, known)


@rule("costs", "towns", complete=("costs", "towns"))
def costs_can_be_shared(files: LoadedFiles) -> Iterator[Finding]:
    """Runs the allocation itself for the period and every fiscal year, so that `inventory check`
    refuses what `cost allocate` would refuse: a missing current cost, a re-allocation that pushes
    a town over its cap."""
    # Imported here: the cost engine builds on the inventory's models, not the other way round.
    from costs.allocation import AllocationError, allocate
    from costs.inputs import allocation_input

    costs = files.costs
    entries = {t.id: i for i, t in enumerate(costs.towns)}
    towns = files.towns.towns
    if costs.adjustment is not None:
        missing = False
        for town in towns:
            index = entries.get(town.id)
            entry = costs.towns[index] if index is not None else None
            cap = costs.cap_of(entry)
            if cap is None or cap.ratio is None or (entry is not None and entry.current_annual_yen is not None):
                continue
            missing = True
            need = f"the adjustment step needs it (the cap is {cap.ratio * 100:g}% of the current cost)"
            if index is None:
                yield "costs", ("towns",), f"town '{town.id}' has no entry: no current cost, and {need}"
            else:
                yield "costs", ("towns", index, "current_annual_yen"), f"required: {need}"
        if missing:
            return
    # The whole period first, then year by year; the first span that fails is reported (the next
    # ones mostly fail for the same reason, and would bury it).
    for year in (None, *costs.period.fiscal_years):
        try:
            allocate(allocation_input(costs, towns, year))
        except AllocationError as error:
            for town_id, why in error.failures:
                index = entries.get(town_id) if town_id else None
                if index is not None:
                    yield "costs", ("towns", index), why
                elif town_id:
                    yield "costs", ("adjustment", "reallocation"), f"town '{town_id}': {why}"
                else:
                    yield "costs", ("adjustment",) if costs.adjustment else ("items",), why
            return
