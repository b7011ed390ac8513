"""The SLA tests against a real Prometheus (Debian's package) backfilled with a month of probe data
whose outages are known; skipped when promtool or prometheus is not installed."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, MaintenanceWindow

from .backfill import BackfilledPrometheus, ProbeSeries, backfilled_prometheus

MONTH = "2026-05"  # Fri 1st; holidays Sun 3, Mon 4, Tue 5 and the substitute holiday Wed 6


def jst(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CONTRACT_TZ)


# ina / resident-registry: critical tier, office hours (08:30-17:15 on business days)
REGISTRY = ProbeSeries(
    "ina",
    "resident-registry",
    "critical",
    down=[
        (jst(12, 10, 0), jst(12, 10, 2)),  # 2 min: shorter than the test contract's 3 min minimum
        (jst(13, 14, 0), jst(13, 14, 10)),  # 10 min, counted
        (jst(20, 13, 30), jst(20, 14, 0)),  # inside the test contract's maintenance window
        (jst(21, 20, 0), jst(21, 21, 0)),  # outside service hours
        (jst(29, 16, 45), jst(30, 1, 0)),  # across midnight: 16:45-17:15 counted (30 min)
        (jst(6, 10, 0), jst(6, 11, 0)),  # on the substitute holiday: no service
    ],
    gaps=[(jst(25, 9, 0), jst(25, 9, 20))],  # 20 minutes without any probe result
)
# ina / convenience-store-payment: essential tier, extended hours (06:30-23:00 every day, holidays too)
PAYMENT = ProbeSeries(
    "ina",
    "convenience-store-payment",
    "essential",
    down=[
        (jst(9, 22, 50), jst(10, 6, 40)),  # across midnight: 22:50-23:00 and 06:30-06:40 counted
        (jst(31, 22, 58), jst(1, 0, 5, month=6)),  # across the month's end: 2 min in May, length 67 min
        (jst(5, 12, 0), jst(5, 12, 30)),  # Children's Day: the extended calendar serves holidays
        (jst(12, 10, 0), jst(12, 10, 2)),  # the same 2 min blip
    ],
    gaps=[],
)
# ogose / resident-registry: no probe data at all (its exporter never reported)
DATA_START, DATA_END = jst(30, 23, month=4), jst(1, 1, month=6)


def restricted(inventory: Inventory) -> Inventory:
    """The shipped contract, with only the three systems above subscribed."""
    towns = tuple(
        t.model_copy(update={"subscriptions": {"ina": ["resident-registry", "convenience-store-payment"]}[t.id]})
        if t.id == "ina"
        else t.model_copy(update={"subscriptions": ["resident-registry"]})
        for t in inventory.towns
        if t.id in ("ina", "ogose")
    )
    return dataclasses.replace(inventory, towns=towns)


def test_contract(inventory: Inventory) -> Inventory:
    """A 3-minute minimum outage and a maintenance window inside office hours (Wed 20th 13:00-15:00)."""
    window = MaintenanceWindow(
        id="test-maintenance",
        name="試験保守 (test maintenance)",
        recurrence="once",
        starts_at=jst(20, 13),
        ends_at=jst(20, 15),
    )
    sla = inventory.sla.model_copy(
        update={"min_outage_seconds": 180, "maintenance_windows": [*inventory.sla.maintenance_windows, window]}
    )
    return dataclasses.replace(restricted(inventory), sla=sla)


@pytest.fixture(scope="session")
def shipped_inventory() -> Inventory:
    return restricted(load_inventory())


@pytest.fixture(scope="session")
def contract_inventory() -> Inventory:
    return test_contract(load_inventory())


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, shipped_inventory: Inventory
) -> Iterator[BackfilledPrometheus]:
    if not (shutil.which("promtool") and shutil.which("prometheus")):
        pytest.skip("needs Debian's prometheus package (prometheus, promtool)")
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with backfilled_prometheus(shipped_inventory, [REGISTRY, PAYMENT], DATA_START, DATA_END, workdir) as prom:
        yield prom
