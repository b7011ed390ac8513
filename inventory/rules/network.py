"""The WAN and the address plan: circuits, AS numbers, router names, overlaps, the lab's range."""

from __future__ import annotations

from collections.abc import Iterator

from ..address_plan import PlanError, plan_addresses, plan_problems
from ..loader import LoadedFiles
from ..platforms import platform_facts
from ..problems import Loc
from .identity import duplicates
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("towns", "wan", "datacenters", complete=("datacenters",))
def circuits_land_on_two_carrier_edges(files: LoadedFiles) -> Iterator[Finding]:
    edges = {e.id for e in files.wan.carrier.edges}
    known = ", ".join(sorted(edges))
    yield from duplicates(
        ((e.id, ("carrier", "edges", i, "id")) for i, e in enumerate(files.wan.carrier.edges)),
        "wan",
        "carrier edge id",
    )
    circuit_ids: list[tuple[object, Loc]] = []
    for i, town in enumerate(files.towns.towns):
        for role in ("primary", "backup"):
            circuit = getattr(town.circuits, role)
            loc = ("towns", i, "circuits", role)
            circuit_ids.append((circuit.id, (*loc, "id")))
            if circuit.carrier_edge not in edges:
                yield (
                    "towns",
                    (*loc, "carrier_edge"),
                    f"unknown carrier edge '{circuit.carrier_edge}' (known: {known})",
                )
        if town.circuits.primary.carrier_edge == town.circuits.backup.carrier_edge:
            yield (
                "towns",
                ("towns", i, "circuits", "backup", "carrier_edge"),
                (
                    f"the backup circuit must land on another carrier edge than the primary "
                    f"(both on '{town.circuits.primary.carrier_edge}')"
                ),
            )
    yield from duplicates(circuit_ids, "towns", "circuit id")
    for i, dc in enumerate(files.datacenters.datacenters):
        if dc.carrier_edge not in edges:
            yield (
                "datacenters",
                ("datacenters", i, "carrier_edge"),
                (f"unknown carrier edge '{dc.carrier_edge}' (known: {known})"),
            )


@INVENTORY_RULES.rule("towns", "wan", "datacenters")
def as_numbers_and_router_names_are_unique(files: LoadedFiles) -> Iterator[Finding]:
    asns: list[tuple[object, Loc, str]] = [(files.wan.carrier.asn, ("carrier", "asn"), "wan")]
    names: list[tuple[object, Loc, str]] = [
        (e.name, ("carrier", "edges", i, "name"), "wan") for i, e in enumerate(files.wan.carrier.edges)
    ]
    for i, dc in enumerate(files.datacenters.datacenters):
        asns.append((dc.edge_router.asn, ("datacenters", i, "edge_router", "asn"), "datacenters"))
        names.append((dc.edge_router.name, ("datacenters", i, "edge_router", "name"), "datacenters"))
    for i, town in enumerate(files.towns.towns):
        asns.append((town.router.asn, ("towns", i, "router", "asn"), "towns"))
        names.append((town.router.name, ("towns", i, "router", "name"), "towns"))
    for values, what in ((asns, "AS number"), (names, "router name")):
        seen: set[object] = set()
        for value, loc, file_key in values:
            if value in seen:
                yield file_key, loc, f"{what} {value!r} is already used by another router"
            seen.add(value)


@INVENTORY_RULES.rule(
    "towns", "wan", "datacenters", "addressing", "segmentation", "environments", complete=("datacenters",)
)
def address_plans_fit_their_environments(files: LoadedFiles) -> Iterator[Finding]:
    towns = files.towns.towns
    for name, env in files.environments.items():
        env_key = f"environment:{name}"
        try:
            plan = plan_addresses(
                env,
                files.addressing,
                towns,
                files.datacenters.datacenters,
                files.wan.carrier.edges,
                files.segmentation,
            )
        except PlanError as err:
            yield _plan_finding(files, env_key, err.subject, f"environment {name}: {err}")
            continue
        for subject, message in plan_problems(plan, env.kind):
            yield _plan_finding(files, env_key, subject, message)
        if env.kind == "lab" and env.router_platform not in (None, "frr"):
            yield env_key, ("router_platform",), "the lab's routers run FRR: router_platform must be 'frr'"


def _plan_finding(files: LoadedFiles, env_key: str, subject: tuple[str, ...], message: str) -> Finding:
    kind, what, *field = subject if subject else ("environment", "supernet")
    if kind == "town":
        index = next(i for i, t in enumerate(files.towns.towns) if t.id == what)
        return "towns", ("towns", index, *(field or ["number"])), message
    if kind == "addressing":
        return "addressing", (what,), message
    if kind == "datacenters":
        return "datacenters", ("datacenters",), message
    return env_key, tuple(what.split(".")), message


@INVENTORY_RULES.rule("wan", "sla", "environments")
def change_windows_stay_out_of_service_hours(files: LoadedFiles) -> Iterator[Finding]:
    """A network change window must not overlap the office hours any SLA tier counts (a change
    then would risk the counter services), and an unrestricted environment must exist."""
    control = files.wan.change_control
    for i, env in enumerate(control.unrestricted_environments):
        if env not in files.environments:
            known = ", ".join(sorted(files.environments)) or "none"
            yield (
                "wan",
                ("change_control", "unrestricted_environments", i),
                f"unknown environment '{env}' (known: {known})",
            )
    calendars = {c.id: c for c in files.sla.calendars}
    counted = [calendars[t.service_hours] for t in files.sla.tiers if t.service_hours in calendars]
    seen: set[str] = set()
    for i, window in enumerate(control.windows):
        loc = ("change_control", "windows", i)
        if window.id in seen:
            yield ("wan", (*loc, "id"), f"duplicate change window id '{window.id}'")
        seen.add(window.id)
        for cal in {c.id: c for c in counted}.values():
            if window.recurrence == "once":
                start, end = window.local_period()
                day = start.strftime("%a").lower()
                hours = (start.time(), end.time() if end.date() == start.date() else None)
            else:
                day, hours = str(window.weekday), (window.start, window.end)
            if day not in cal.days:
                continue
            w_start, w_end = hours
            if w_start is not None and w_start < cal.end and (w_end is None or w_end > cal.start):
                yield (
                    "wan",
                    loc,
                    f"change window '{window.id}' overlaps the service hours '{cal.id}' "
                    f"({day} {cal.start:%H:%M}-{cal.end:%H:%M}): move it out of service hours",
                )


@INVENTORY_RULES.rule("towns")
def town_routers_are_models_their_platform_has(files: LoadedFiles) -> Iterator[Finding]:
    """A Yamaha or NEC router names a known model with ports enough for a town hall, and its
    firmware version as the vendor writes it (inventory/platforms.py)."""
    for i, town in enumerate(files.towns.towns):
        facts = platform_facts(town.router.platform)
        loc = ("towns", i, "router")
        if (problem := facts.model_problem(town.router.model)) is not None:
            yield "towns", (*loc, "model"), problem
        if (problem := facts.firmware_problem(town.router.firmware)) is not None:
            yield "towns", (*loc, "firmware"), problem
