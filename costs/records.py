"""The allocation and the invoice as plain records: what --json and --csv print, and the rates.

A saving rate is shown to one decimal place rounded up, as the seed's deck shows it (2,678,889,600
of 6,013,262,000 yen is 44.5497%, which the deck writes 44.6%); the records carry the exact rate
beside it, to four decimals.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .allocation import BASIS_LABELS, Allocation, Share
from .invoice import Invoice

ROUNDING_RULE = (
    "Yen amounts are whole yen, rounded by the largest remainder (最大剰余方式): each share is rounded "
    "down, and the yen left over go to the largest remainders (ties: the earlier town), so the shares "
    "add up to each item's amount exactly."
)


def saving_rate(saving: int, current: int) -> Fraction | None:
    return Fraction(saving, current) if current else None


def rate_shown(rate: Fraction | None) -> str:
    """One decimal place, rounded up like the seed's deck: 0.445497 -> '44.6%'."""
    return "-" if rate is None else f"{math.ceil(rate * 1000) / 10:.1f}%"


def rate_exact(rate: Fraction | None) -> float | None:
    return None if rate is None else round(float(rate * 100), 4)


def share_text(share: Share | dict[str, Any]) -> str:
    """A sharing rule as a finance officer reads it: '均等割 equal 40% + 人口割 population 60%'."""
    return " + ".join(f"{BASIS_LABELS[basis]} {float(weight) * 100:g}%" for basis, weight in share.items() if weight)


def allocation_record(a: Allocation) -> dict[str, Any]:
    items = a.input.items
    towns = []
    for i, town in enumerate(a.towns):
        saving = a.saving(i)
        towns.append(
            {
                "town": town.id,
                "name": town.name,
                "basic": {item_id: col[i] for item_id, col in a.basic.items()},
                "basic_total": a.basic_total[i],
                "cap": town.cap_yen,
                "adjusted": a.adjusted[i],
                "adjustment": a.adjustment[i],
                "reallocated": a.reallocated[i],
                "after_adjustment": a.after_adjustment[i],
                "migration": {item_id: col[i] for item_id, col in a.migration.items()},
                "migration_total": a.migration_total[i],
                "total": a.total[i],
                "current": town.current_yen,
                "saving": saving,
                "saving_rate_percent": rate_exact(
                    saving_rate(saving, town.current_yen) if saving is not None and town.current_yen else None
                ),
            }
        )
    current = a.current_yen
    summary_rate = saving_rate(current - a.joint_yen, current) if current is not None else None
    return {
        "span": a.input.span,
        "rounding": ROUNDING_RULE,
        "items": [
            {"id": it.id, "name": it.name, "step": it.step, "amount": it.amount_yen, "share": share_text(it.share)}
            for it in items
        ],
        "adjustment_total": a.adjustment_yen,
        "towns": towns,
        "summary": {
            "current": current,
            "joint": a.joint_yen,
            "saving": None if current is None else current - a.joint_yen,
            "saving_rate": rate_shown(summary_rate),
            "saving_rate_percent": rate_exact(summary_rate),
        },
    }


def allocation_csv_rows(a: Allocation) -> list[list[object]]:
    """One header row, then one row per town; the columns of allocation_record, flattened."""
    basic_ids, migration_ids = list(a.basic), list(a.migration)
    header: list[object] = ["town", "name", *basic_ids, "basic_total", "cap", "adjusted", "adjustment"]
    header += ["reallocated", "after_adjustment", *migration_ids, "migration_total", "total", "current", "saving"]
    rows: list[list[object]] = [header]
    for i, town in enumerate(a.towns):
        row: list[object] = [town.id, town.name, *(a.basic[k][i] for k in basic_ids), a.basic_total[i]]
        row += [town.cap_yen, a.adjusted[i], a.adjustment[i], a.reallocated[i], a.after_adjustment[i]]
        row += [*(a.migration[k][i] for k in migration_ids), a.migration_total[i], a.total[i]]
        row += [town.current_yen, a.saving(i)]
        rows.append(["" if v is None else v for v in row])
    return rows


def invoice_record(invoice: Invoice) -> dict[str, Any]:
    return {
        "month": invoice.month,
        "fiscal_year": invoice.fiscal_year,
        "sla_credits_applied": invoice.sla_applied,
        "towns": [
            {
                "town": t.town,
                "name": t.name,
                "charge": t.charge_yen,
                "sla_fee": t.sla_fee_yen,
                "subscribed_systems": t.subscribed_systems,
                "credit": t.credit_yen,
                "credit_limited_to_charge": t.credit_limited,
                "due": t.due_yen,
                "credits": [
                    {
                        "system": c.system,
                        "tier": c.tier,
                        "availability_percent": c.availability_percent,
                        "credit_percent": c.credit_percent,
                        "monthly_fee": float(c.monthly_fee),
                        "credit": c.credit_yen,
                    }
                    for c in t.credits
                ],
            }
            for t in invoice.towns
        ],
        "totals": {"charge": invoice.charge_yen, "credit": invoice.credit_yen, "due": invoice.due_yen},
    }
