"""One month's charge per town, with its SLA credits as a separate line.

The charge: a town pays its fiscal year's share (the allocation's total, migration included: the
seed's contracts level one-off costs into the monthly fee) in 12 monthly instalments, April to
March. The annual amount is split by the largest remainder over 12 equal parts, so the yen left
over go to the earliest months, and the 12 instalments add up to the annual share exactly.

The SLA credit: the penalty bands give credit_percent "of the system's monthly fee". A town's
monthly fee for one system is its monthly instalment of the SLA fee item (costs.yaml's
sla_fee_item, the system usage fee) in the basic allocation (step 1), divided equally among the
business systems it subscribes. The basic allocation, not the adjusted one: the adjustment moves
money between towns; it does not change what the service is worth. Each credit line is rounded
down to the yen (円未満切り捨て) and the town's credit is the sum of its lines; it never exceeds
the month's charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from inventory.loader import Inventory

from .allocation import Allocation, allocate
from .inputs import allocation_input, exact
from .rounding import largest_remainder
from .sla_report import SlaReport

FISCAL_YEAR_START_MONTH = 4  # 年度: April to March


class MonthError(ValueError):
    pass


def parse_month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        if len(text) != 7:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        raise MonthError(f"'{text}' is not a month: write it as YYYY-MM (e.g. 2027-04)") from None


def fiscal_year_of(month: date) -> int:
    return month.year if month.month >= FISCAL_YEAR_START_MONTH else month.year - 1


def instalment_number(month: date) -> int:
    """1 for April, 12 for March."""
    return (month.month - FISCAL_YEAR_START_MONTH) % 12 + 1


def instalment(annual_yen: int, month: date) -> int:
    """The month's part of an annual amount paid in 12 instalments (April first)."""
    return largest_remainder(annual_yen, [1] * 12)[instalment_number(month) - 1]


@dataclass(frozen=True)
class CreditLine:
    system: str
    system_name: str
    tier: str
    availability_percent: float | None
    credit_percent: float
    monthly_fee: Fraction  # the town's monthly fee for this system, exact
    credit_yen: int


@dataclass(frozen=True)
class TownCharge:
    town: str
    name: str
    charge_yen: int
    sla_fee_yen: int  # the month's instalment of the SLA fee item (basic allocation)
    subscribed_systems: int
    credits: tuple[CreditLine, ...]
    credit_yen: int
    credit_limited: bool  # the lines added up to more than the charge

    @property
    def due_yen(self) -> int:
        return self.charge_yen - self.credit_yen


@dataclass(frozen=True)
class Invoice:
    month: str
    fiscal_year: int
    allocation: Allocation
    sla_applied: bool
    towns: tuple[TownCharge, ...]

    @property
    def instalment(self) -> int:
        return instalment_number(parse_month(self.month))

    @property
    def charge_yen(self) -> int:
        return sum(t.charge_yen for t in self.towns)

    @property
    def credit_yen(self) -> int:
        return sum(t.credit_yen for t in self.towns)

    @property
    def due_yen(self) -> int:
        return sum(t.due_yen for t in self.towns)


def make_invoice(inventory: Inventory, month_text: str, report: SlaReport | None = None) -> Invoice:
    """Raises MonthError for a month outside the cost period; AllocationError as `allocate` does.
    The report must have been checked against the month and the inventory (sla_report.check_report)."""
    month = parse_month(month_text)
    fiscal_year = fiscal_year_of(month)
    period = inventory.costs.period
    if fiscal_year not in period.fiscal_years:
        raise MonthError(f"{month_text} is in FY{fiscal_year}, outside the cost period {period.label}")
    allocation = allocate(allocation_input(inventory.costs, inventory.towns, fiscal_year))
    fee_by_town = allocation.basic[inventory.costs.sla_fee_item]
    credits_by_town = {entry.town: entry.systems for entry in report.towns} if report else {}
    charges = []
    for i, town in enumerate(inventory.towns):
        charge = instalment(allocation.total[i], month)
        sla_fee = instalment(fee_by_town[i], month)
        per_system = Fraction(sla_fee, len(town.subscriptions))
        lines = tuple(
            CreditLine(
                system=line.system,
                system_name=inventory.system_by_id[line.system].name,
                tier=line.tier,
                availability_percent=line.availability_percent,
                credit_percent=line.credit_percent,
                monthly_fee=per_system,
                credit_yen=int(exact(line.credit_percent) / 100 * per_system),  # rounded down
            )
            for line in credits_by_town.get(town.id, [])
        )
        owed = sum(line.credit_yen for line in lines)
        charges.append(
            TownCharge(
                town=town.id,
                name=town.name,
                charge_yen=charge,
                sla_fee_yen=sla_fee,
                subscribed_systems=len(town.subscriptions),
                credits=lines,
                credit_yen=min(owed, charge),
                credit_limited=owed > charge,
            )
        )
    return Invoice(month_text, fiscal_year, allocation, report is not None, tuple(charges))
