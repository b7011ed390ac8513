"""The member towns and villages (団体), their town halls, routers, circuits and subscriptions (towns.yaml)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Asn, Hostname, InventoryModel, NonEmptyText, Slug, Vlan
from .layers import TOWN_SEGMENTS, TownSegmentId
from .systems import ParameterValue

# Platforms a town's CE router can be. `frr` is what the lab runs; the others are the production
# CPE the carrier installs (Cisco IOS-XE, and the Japanese Yamaha RTX and NEC UNIVERGE IX).
RouterPlatform = Literal["cisco_ios", "yamaha_rtx", "nec_ix", "frr"]


class TownHallSite(InventoryModel):
    name: NonEmptyText  # e.g. 伊奈町役場
    # One VLAN per segment of the town hall: its server LAN and the three layers (三層分離).
    vlans: dict[TownSegmentId, Vlan]

    @model_validator(mode="after")
    def _a_vlan_per_segment(self) -> TownHallSite:
        missing = [s for s in TOWN_SEGMENTS if s not in self.vlans]
        if missing:
            raise ValueError(
                f"vlans needs one VLAN per segment ({', '.join(TOWN_SEGMENTS)}): missing {', '.join(missing)}"
            )
        seen: dict[int, str] = {}
        for segment, vlan in self.vlans.items():
            if vlan in seen:
                raise ValueError(f"the {seen[vlan]} and {segment} segments share VLAN {vlan}: each needs its own")
            seen[vlan] = segment
        return self


class InOfficeServer(InventoryModel):
    name: Hostname
    role: Literal["probe", "file", "print", "directory"]
    vcpu: Annotated[int, Field(ge=1, le=64)] = 2
    memory_gb: Annotated[int, Field(ge=1, le=512)] = 4


class ClientCounts(InventoryModel):
    pcs: Annotated[int, Field(ge=0)]
    printers: Annotated[int, Field(ge=0)]
    multifunction: Annotated[int, Field(ge=0)] = 0
    scanners: Annotated[int, Field(ge=0)] = 0


class CeRouter(InventoryModel):
    name: Hostname
    asn: Asn
    platform: RouterPlatform
    # the hardware and software, where the platform's rules need them (inventory/platforms.py)
    model: NonEmptyText | None = None
    firmware: NonEmptyText | None = None


class Circuit(InventoryModel):
    id: NonEmptyText  # the carrier's circuit id, as on the contract
    carrier_edge: Slug
    bandwidth_mbps: Annotated[int, Field(gt=0)]


class Circuits(InventoryModel):
    primary: Circuit
    backup: Circuit


class Cutover(InventoryModel):
    wave: Annotated[int, Field(ge=1)]
    date: dt.date | None = None
    status: Literal["planned", "migrating", "live"]

    @model_validator(mode="after")
    def _live_has_date(self) -> Cutover:
        if self.status in ("live", "migrating") and self.date is None:
            raise ValueError(f"a town whose cut-over is '{self.status}' needs its cut-over date")
        return self


class ExternalSystem(InventoryModel):
    """A business need a town covers with another vendor's system instead of ours (only △)."""

    system: Slug
    vendor: NonEmptyText


class Town(InventoryModel):
    number: Annotated[int, Field(ge=1)]  # the seed's order; fixes the town's address block for good
    id: Slug
    name: NonEmptyText  # Japanese, as the town writes it: 伊奈町
    romaji: NonEmptyText
    kind: Literal["town", "village"]
    region: Slug  # the region it is run in at scale (regions.yaml)
    population: Annotated[int, Field(gt=0)]
    site: TownHallSite
    servers: Annotated[list[InOfficeServer], Field(min_length=1)]
    clients: ClientCounts
    router: CeRouter
    circuits: Circuits
    cutover: Cutover
    subscriptions: list[Slug]
    external_systems: list[ExternalSystem] = []
    parameters: dict[Slug, dict[str, ParameterValue]] = {}

    @model_validator(mode="after")
    def _kind_matches_name(self) -> Town:
        suffix = {"town": "町", "village": "村"}[self.kind]
        if not self.name.endswith(suffix):
            raise ValueError(f"kind is '{self.kind}' but the name {self.name} does not end with {suffix}")
        return self

    @property
    def probe_server(self) -> InOfficeServer:
        return next((s for s in self.servers if s.role == "probe"), self.servers[0])


class TownsFile(InventoryModel):
    # A control total typed from the source document; when given, the towns must add up to it.
    expected_total_population: Annotated[int, Field(gt=0)] | None = None
    towns: list[Town]
