"""The regions (regions.yaml) against the towns: region ids and names unique, and every town's
region declared (the execution plan serves whole regions; a town in no known region would be run
by no node). That every town names one is the town model's (a required field)."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..model.regions import RegionsFile
from ..problems import unknown_name
from .identity import duplicates
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("regions")
def regions_are_unique(files: LoadedFiles) -> Iterator[Finding]:
    regions: RegionsFile = files.regions  # type: ignore[assignment]
    for attr in ("id", "name"):
        yield from duplicates(
            ((getattr(r, attr), ("regions", i, attr)) for i, r in enumerate(regions.regions)), "regions", attr
        )


@INVENTORY_RULES.rule("towns", "regions", complete=("regions",))
def every_town_is_in_a_known_region(files: LoadedFiles) -> Iterator[Finding]:
    regions: RegionsFile = files.regions  # type: ignore[assignment]
    known = [r.id for r in regions.regions]
    for i, town in enumerate(files.towns.towns):
        if town.region not in known:
            yield (
                "towns",
                ("towns", i, "region"),
                unknown_name("region", town.region, known) + f": regions.yaml declares {', '.join(known)}",
            )
