"""The cost model (costs.yaml): its items and towns are consistent. Whether the agreed steps can be
applied is checked by the cost engine itself (`costs.inventory_rules`)."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..problems import unknown_name
from .identity import duplicates
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("costs", complete=("costs",))
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


@INVENTORY_RULES.rule("costs", "towns", complete=("costs", "towns"))
def cost_towns_are_towns(files: LoadedFiles) -> Iterator[Finding]:
    known = [t.id for t in files.towns.towns]
    ids = set(known)
    for i, entry in enumerate(files.costs.towns):
        if entry.id not in ids:
            yield "costs", ("towns", i, "id"), unknown_name("town", entry.id, known)
