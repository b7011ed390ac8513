"""The vendor's data centers: DC1 primary, DC2 backup (datacenters.yaml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Asn, Hostname, InventoryModel, NonEmptyText, Slug, Vlan


class ServerTier(InventoryModel):
    role: Literal["app", "db"]
    count: Annotated[int, Field(ge=1)]
    vcpu: Annotated[int, Field(ge=1, le=256)]
    memory_gb: Annotated[int, Field(ge=1, le=4096)]
    disk_gb: Annotated[int, Field(ge=1)]


class DcNetwork(InventoryModel):
    id: Slug
    vlan: Vlan
    purpose: Literal["app", "db", "replication", "management", "backup"]
    # Part of the resident-data layer (個人番号利用事務系) of the three-layer separation (三層分離).
    resident_data: bool
    # Reaches the internet (インターネット接続系): never the same network as resident data.
    internet_facing: bool = False

    @model_validator(mode="after")
    def _one_layer(self) -> DcNetwork:
        if self.resident_data and self.internet_facing:
            raise ValueError("a network cannot be both resident_data and internet_facing (三層分離)")
        return self


class EdgeRouter(InventoryModel):
    name: Hostname
    asn: Asn


class DataCenter(InventoryModel):
    id: Slug
    name: NonEmptyText
    role: Literal["primary", "backup"]
    carrier_edge: Slug  # the carrier edge router this site hangs off
    edge_router: EdgeRouter
    server_tiers: Annotated[list[ServerTier], Field(min_length=1)]
    networks: list[DcNetwork]

    def server_names(self, role: str) -> list[str]:
        """Host names of this site's servers of one role: dc1-app1, dc1-app2, dc1-db1, ..."""
        count = sum(t.count for t in self.server_tiers if t.role == role)
        return [f"{self.id}-{role}{i}" for i in range(1, count + 1)]


class Replication(InventoryModel):
    mode: Literal["synchronous", "asynchronous"]
    slot_name: Slug = "dc2-standby"


class DatacentersFile(InventoryModel):
    datacenters: list[DataCenter]
    replication: Replication
