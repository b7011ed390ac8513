"""How the address plan is carved (addressing.yaml); the plan itself is derived in address_plan.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import InventoryModel

PrefixLength = Annotated[int, Field(ge=8, le=32)]


class AddressingFile(InventoryModel):
    # Room reserved for this many towns. Town n always gets block n, so raising the capacity
    # re-plans nothing that exists only if the supernet regions are given explicitly; see README.
    town_capacity: Annotated[int, Field(ge=1)]
    town_block_prefix: PrefixLength  # one block per town: LAN, layer segments, circuits, loopback
    town_lan_prefix: PrefixLength
    circuit_prefix: Literal[30, 31]
    management_per_town_prefix: PrefixLength  # management addresses of one town's nodes
    core_prefix: PrefixLength  # PE and DC links, loopbacks, DC LANs, the DC service prefix
    dc_lan_prefix: PrefixLength
    service_prefix: PrefixLength  # the business-systems service prefix announced by DC1 and DC2

    @model_validator(mode="after")
    def _fits_in_block(self) -> AddressingFile:
        # The top of a town's block (at most its upper half) holds its LAN, then a slot of the LAN's
        # size with the circuits and the loopback; the layer segments are sized per town below them
        # (the plan says when they do not fit).
        lan = 2 ** (32 - self.town_lan_prefix)
        have = 2 ** (32 - self.town_block_prefix)
        if 2 * lan > have // 2 or 2 * 2 ** (32 - self.circuit_prefix) + 1 > lan:
            raise ValueError(
                f"a town block /{self.town_block_prefix} ({have} addresses) cannot hold a LAN "
                f"/{self.town_lan_prefix} and a slot as large for two circuits /{self.circuit_prefix} and a "
                "loopback in its upper half: the layer segments need the rest"
            )
        return self
