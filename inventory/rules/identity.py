"""Ids, names and numbers that must be unique, and control totals."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..loader import LoadedFiles
from ..problems import Loc
from .registry import INVENTORY_RULES, Finding


def duplicates(items: Iterable[tuple[object, Loc]], file_key: str, what: str) -> Iterator[Finding]:
    """A finding for every item whose value was already used by an earlier one."""
    first: dict[object, Loc] = {}
    for value, loc in items:
        if value in first:
            earlier = first[value]
            where = f"{earlier[0]} #{earlier[1] + 1}" if len(earlier) > 1 and isinstance(earlier[1], int) else ""
            yield file_key, loc, f"{what} {value!r} is already used{' by ' + where if where else ''}"
        else:
            first[value] = loc


@INVENTORY_RULES.rule("towns")
def towns_are_unique(files: LoadedFiles) -> Iterator[Finding]:
    towns = files.towns.towns
    for attr, what in (("id", "id"), ("name", "name"), ("romaji", "romaji name"), ("number", "number")):
        yield from duplicates(((getattr(t, attr), ("towns", i, attr)) for i, t in enumerate(towns)), "towns", what)


@INVENTORY_RULES.rule("systems")
def systems_are_unique(files: LoadedFiles) -> Iterator[Finding]:
    systems = files.systems.systems
    for attr, what in (("id", "id"), ("name", "name"), ("name_en", "English name"), ("number", "number")):
        yield from duplicates(
            ((getattr(s, attr), ("systems", i, attr)) for i, s in enumerate(systems)), "systems", what
        )


@INVENTORY_RULES.rule("towns", complete=("towns",))
def population_matches_control_total(files: LoadedFiles) -> Iterator[Finding]:
    expected = files.towns.expected_total_population
    total = sum(t.population for t in files.towns.towns)
    if expected is not None and total != expected:
        yield (
            "towns",
            ("expected_total_population",),
            (f"the towns' populations add up to {total:,}, not {expected:,}"),
        )


@INVENTORY_RULES.rule("towns", "datacenters")
def host_names_are_unique(files: LoadedFiles) -> Iterator[Finding]:
    names: list[tuple[object, Loc, str]] = []
    for i, t in enumerate(files.towns.towns):
        names += [(s.name, ("towns", i, "servers", j, "name"), "towns") for j, s in enumerate(t.servers)]
    for i, dc in enumerate(files.datacenters.datacenters):
        names += [(n, ("datacenters", i, "server_tiers"), "datacenters") for n, _role in dc.servers()]
    seen: set[object] = set()
    for name, loc, file_key in names:
        if name in seen:
            yield file_key, loc, f"host name {name!r} is already used by another server"
        seen.add(name)


@INVENTORY_RULES.rule("datacenters")
def datacenters_have_one_primary(files: LoadedFiles) -> Iterator[Finding]:
    dcs = files.datacenters.datacenters
    yield from duplicates(((d.id, ("datacenters", i, "id")) for i, d in enumerate(dcs)), "datacenters", "id")
    roles = [d.role for d in dcs]
    if roles.count("primary") != 1:
        yield (
            "datacenters",
            ("datacenters",),
            f"exactly one data center must be 'primary' (found {roles.count('primary')})",
        )
    if "backup" not in roles:
        yield "datacenters", ("datacenters",), "a backup data center is required (the BCP fails over to it)"
    for i, dc in enumerate(dcs):
        yield from duplicates(
            ((n.vlan, ("datacenters", i, "networks", j, "vlan")) for j, n in enumerate(dc.networks)),
            "datacenters",
            "VLAN",
        )
        yield from duplicates(
            ((n.id, ("datacenters", i, "networks", j, "id")) for j, n in enumerate(dc.networks)),
            "datacenters",
            "network id",
        )
        if not any(n.purpose == "replication" for n in dc.networks):
            yield "datacenters", ("datacenters", i, "networks"), "a 'replication' network is required"
