"""The SLA contract: tiers, penalty bands, service calendars and maintenance windows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..loader import LoadedFiles
from ..model.sla import MaintenanceWindow
from .identity import duplicates
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("sla", complete=("sla",))
def tiers_and_calendars_are_consistent(files: LoadedFiles) -> Iterator[Finding]:
    sla = files.sla
    yield from duplicates(((t.id, ("tiers", i, "id")) for i, t in enumerate(sla.tiers)), "sla", "tier id")
    yield from duplicates(((c.id, ("calendars", i, "id")) for i, c in enumerate(sla.calendars)), "sla", "calendar id")
    yield from duplicates(
        ((w.id, ("maintenance_windows", i, "id")) for i, w in enumerate(sla.maintenance_windows)),
        "sla",
        "window id",
    )
    calendars = {c.id for c in sla.calendars}
    for i, tier in enumerate(sla.tiers):
        if tier.service_hours not in calendars:
            yield "sla", ("tiers", i, "service_hours"), f"unknown calendar '{tier.service_hours}'"


@INVENTORY_RULES.rule("sla")
def penalty_bands_cover_0_to_100(files: LoadedFiles) -> Iterator[Finding]:
    for i, tier in enumerate(files.sla.tiers):
        loc = ("tiers", i, "penalty_bands")
        bands = sorted(enumerate(tier.penalty_bands), key=lambda b: b[1].min_percent)
        edge = 0.0
        for j, band in bands:
            if band.min_percent > edge:
                yield "sla", (*loc, j), f"gap: no band covers {edge}% to {band.min_percent}%"
            elif band.min_percent < edge:
                yield "sla", (*loc, j), f"overlap: {band.min_percent}% to {edge}% is in two bands"
            edge = max(edge, band.max_percent)
        if edge < 100:
            yield "sla", loc, f"gap: no band covers {edge}% to 100%"
        credits = [b.credit_percent for _, b in bands]
        if any(lower < higher for lower, higher in itertools.pairwise(credits)):
            yield "sla", loc, "credit must not grow as availability rises (lower bands earn at least as much)"
        for j, band in bands:
            if band.min_percent <= tier.availability_target_percent < band.max_percent and band.credit_percent:
                yield (
                    "sla",
                    (*loc, j),
                    (f"the band holding the target {tier.availability_target_percent}% must earn no credit"),
                )


@INVENTORY_RULES.rule("sla")
def maintenance_windows_do_not_overlap(files: LoadedFiles) -> Iterator[Finding]:
    windows = files.sla.maintenance_windows
    for i, w in enumerate(windows):
        for j in range(i):
            if _overlap(windows[j], w):
                yield "sla", ("maintenance_windows", i), f"overlaps maintenance window '{windows[j].id}'"


def _overlap(a: MaintenanceWindow, b: MaintenanceWindow) -> bool:
    if a.recurrence != "once" and b.recurrence != "once":
        if a.weekday != b.weekday or not _times_overlap(a, b):
            return False
        # Two monthly windows on different n-th weekdays never meet; weekly meets every n-th.
        return not (a.recurrence == b.recurrence == "monthly" and a.nth != b.nth)
    once, other = (a, b) if a.recurrence == "once" else (b, a)
    start, end = once.local_period()
    return bool(other.occurrences(start, end))


def _times_overlap(a: MaintenanceWindow, b: MaintenanceWindow) -> bool:
    return a.start < b.end and b.start < a.end  # type: ignore[operator]
