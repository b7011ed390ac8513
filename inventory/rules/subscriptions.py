"""Which business systems a town may, must or must not take, and its tenant parameters."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..model.systems import SystemClass
from ..problems import unknown_name as _unknown
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("towns", "systems", complete=("systems",))
def subscriptions_follow_system_classes(files: LoadedFiles) -> Iterator[Finding]:
    systems = {s.id: s for s in files.systems.systems}
    known = list(systems)
    required = [s for s in files.systems.systems if s.system_class is SystemClass.REQUIRED]
    for i, town in enumerate(files.towns.towns):
        taken: set[str] = set()
        for j, sid in enumerate(town.subscriptions):
            loc = ("towns", i, "subscriptions", j)
            if sid not in systems:
                yield "towns", loc, _unknown("system", sid, known)
            elif sid in taken:
                yield "towns", loc, f"'{sid}' is subscribed twice"
            elif systems[sid].system_class is SystemClass.OUT_OF_SCOPE:
                yield "towns", loc, f"{systems[sid].label} is × (out of scope) and cannot be subscribed"
            taken.add(sid)
        missing = [s.label for s in required if s.id not in taken]
        if missing:
            yield (
                "towns",
                ("towns", i, "subscriptions"),
                (f"every ◎ (required) system must be subscribed; missing: {', '.join(missing)}"),
            )
        for j, ext in enumerate(town.external_systems):
            loc = ("towns", i, "external_systems", j, "system")
            system = systems.get(ext.system)
            if system is None:
                yield "towns", loc, _unknown("system", ext.system, known)
            elif system.system_class is SystemClass.REQUIRED:
                yield "towns", loc, f"{system.label} is ◎ (required): it must be ours, not {ext.vendor}'s"
            elif system.system_class is SystemClass.OPTION:
                yield (
                    "towns",
                    loc,
                    (f"{system.label} is ○ (option): take ours or none, never another vendor's system ({ext.vendor})"),
                )
            elif ext.system in taken:
                yield "towns", loc, f"{system.label} is both subscribed and covered by {ext.vendor}'s system"


@INVENTORY_RULES.rule("towns", "systems", complete=("systems",))
def tenant_parameters_are_valid(files: LoadedFiles) -> Iterator[Finding]:
    systems = {s.id: s for s in files.systems.systems}
    for i, town in enumerate(files.towns.towns):
        for sid, values in town.parameters.items():
            loc = ("towns", i, "parameters", sid)
            system = systems.get(sid)
            if system is None:
                yield "towns", loc, _unknown("system", sid, list(systems))
                continue
            if sid not in town.subscriptions:
                yield "towns", loc, f"parameters for {system.label}, which the town does not subscribe"
                continue
            for key, value in values.items():
                spec = system.parameters.get(key)
                if spec is None:
                    yield (
                        "towns",
                        (*loc, key),
                        _unknown(f"parameter of {system.label}", key, list(system.parameters)),
                    )
                elif problem := spec.check(value):
                    yield "towns", (*loc, key), problem


@INVENTORY_RULES.rule("systems", "sla", complete=("sla",))
def systems_reference_tiers_and_calendars(files: LoadedFiles) -> Iterator[Finding]:
    tiers = [t.id for t in files.sla.tiers]
    calendars = [c.id for c in files.sla.calendars]
    for i, system in enumerate(files.systems.systems):
        if system.tier not in tiers:
            yield "systems", ("systems", i, "tier"), _unknown("tier", system.tier, tiers)
        if system.service_hours is not None and system.service_hours not in calendars:
            yield (
                "systems",
                ("systems", i, "service_hours"),
                _unknown("calendar", system.service_hours, calendars),
            )
