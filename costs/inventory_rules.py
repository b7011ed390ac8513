"""The cost model's check that needs the cost engine itself: whether the agreed steps can be applied
to costs.yaml for the period and every fiscal year. It lives with the costs (the inventory sits below
every domain and cannot import the engine); `municloud inventory check` and every command that loads
the inventory compose it with the inventory's own rules."""

from __future__ import annotations

from collections.abc import Iterator

from inventory.loader import LoadedFiles
from inventory.rules import Finding, RuleSet

from .allocation import AllocationError, allocate
from .inputs import allocation_input

COST_RULES = RuleSet()


@COST_RULES.rule("costs", "towns", complete=("costs", "towns"))
def costs_can_be_shared(files: LoadedFiles) -> Iterator[Finding]:
    """Runs the allocation itself for the period and every fiscal year, so that `inventory check`
    refuses what `cost allocate` would refuse: a missing current cost, a re-allocation that pushes
    a town over its cap."""
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
