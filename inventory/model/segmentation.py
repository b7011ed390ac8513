"""The three-layer separation (三層分離) as data (segmentation.yaml): the segments of every town hall,
what each is sized for, the targets outside them, and the flows that are allowed (default deny).

The layers are the guideline's own (`layers.py`); which model of the guideline the cloud follows, the
shares of each town's devices per segment and the flows are data. What the flows may and may not say
is checked by the rules (`inventory/rules/segmentation.py`), which name the file, the flow and the
rule when one would break the separation.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import InventoryModel, NonEmptyText, Slug
from .layers import LAYERS, Layer
from .towns import ClientCounts

# The guideline's models: α (each layer apart), β and β' (work moved to the internet layer), α'
# (令和6年10月: LGWAN接続系 may use chosen cloud services by local breakout). Only α is built.
GuidelineModel = Literal["alpha", "alpha-prime", "beta", "beta-prime"]
BUILT_MODELS: tuple[GuidelineModel, ...] = ("alpha",)
ServiceKind = Literal["business", "database", "backup", "management", "lgwan", "internet", "diagnostic"]
Percent = Annotated[int, Field(ge=0, le=100)]
Port = Annotated[int, Field(ge=1, le=65535)]
DEVICE_KINDS = ("pcs", "printers", "multifunction", "scanners")  # ClientCounts' fields


class DeviceShares(InventoryModel):
    """Which share (percent) of a town's devices of each kind stand in one segment."""

    pcs: Percent
    printers: Percent
    multifunction: Percent
    scanners: Percent


class TownSegment(InventoryModel):
    id: Layer
    name: NonEmptyText  # as the guideline writes it: マイナンバー利用事務系
    resident_data: bool  # the segment that uses the core business systems
    share: DeviceShares  # SAMPLE unless a town gives its own counts (towns:)

    @model_validator(mode="after")
    def _resident_data_is_the_mynumber_layer(self) -> TownSegment:
        if self.resident_data != (self.id == "mynumber"):
            raise ValueError("resident_data is true for the mynumber segment and for no other (三層分離)")
        return self


class Service(InventoryModel):
    """A protocol and port a flow allows, and what kind of service it is (the rules key on it).
    `icmp` is the echo request (ping) alone, without a port: a diagnostic, never a way to a service."""

    id: Slug
    name: NonEmptyText
    protocol: Literal["tcp", "udp", "icmp"]
    port: Port | None = None
    kind: ServiceKind

    @model_validator(mode="after")
    def _port_for_tcp_and_udp_only(self) -> Service:
        if self.protocol == "icmp" and self.port is not None:
            raise ValueError("icmp (the echo request) has no port")
        if self.protocol != "icmp" and self.port is None:
            raise ValueError(f"{self.protocol} needs a port")
        if (self.kind == "diagnostic") != (self.protocol == "icmp"):
            raise ValueError("a diagnostic service is icmp (echo request), and icmp is a diagnostic service")
        return self

    @property
    def label(self) -> str:
        return "icmp echo" if self.protocol == "icmp" else f"{self.protocol}/{self.port}"


class ExternalTarget(InventoryModel):
    """A network outside the town halls and the data centers' servers that a layer reaches."""

    id: Slug
    name: NonEmptyText  # LGWAN接続ゲートウェイ, 自治体情報セキュリティクラウド
    layer: Layer


_ENDPOINT = re.compile(r"^(town|other-town|dc|peer-dc|external):([a-z][a-z0-9-]*)$|^(service|ops|management)$")


class Endpoint(InventoryModel):
    """One end of a flow, written in the file as text:

    town:<segment>        the segment of the same town as the flow's other end (lan, mynumber,
                          lgwan, internet); on its own, every town's
    other-town:<segment>  another town's segment (always refused: it is here so a rule can say so)
    dc:<network>          a data center network (datacenters.yaml) at the same site as the other end
    peer-dc:<network>     that network at the other site
    service               the business systems' service address (announced by both sites)
    ops                   the operations center
    management            every node's management address (the out-of-band management network)
    external:<target>     a target of `externals` (the LGWAN gateway, the security cloud's proxy)
    """

    kind: Literal["town", "other-town", "dc", "peer-dc", "service", "ops", "management", "external"]
    name: str = ""  # the segment, network or target; empty for service and ops

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


def _endpoint(value: object) -> object:
    if not isinstance(value, str):
        return value
    match = _ENDPOINT.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not an endpoint: write town:<segment>, other-town:<segment>, dc:<network>, "
            "peer-dc:<network>, external:<target>, service, ops or management"
        )
    if match.group(3):
        return {"kind": match.group(3)}
    return {"kind": match.group(1), "name": match.group(2)}


class Flow(InventoryModel):
    id: Slug
    name: NonEmptyText  # what the flow is for, in the operators' words
    sources: Annotated[list[Endpoint], Field(min_length=1, alias="from")]
    destinations: Annotated[list[Endpoint], Field(min_length=1, alias="to")]
    service: Slug

    @field_validator("sources", "destinations", mode="before")
    @classmethod
    def _endpoints(cls, value: object) -> object:
        items = value if isinstance(value, list) else [value]
        return [_endpoint(item) for item in items]


class SegmentationFile(InventoryModel):
    guideline_model: GuidelineModel
    default_action: Literal["deny"]  # what no flow allows is refused; there is no other choice
    headroom_percent: Annotated[int, Field(ge=0, le=400)]  # room for growth in every segment
    town_segments: Annotated[list[TownSegment], Field(min_length=3, max_length=3)]
    # A town's own device counts per segment, where it knows them (replacing the shares).
    towns: dict[Slug, dict[Layer, ClientCounts]] = {}
    services: Annotated[list[Service], Field(min_length=1)]
    externals: list[ExternalTarget] = []
    flows: list[Flow]

    @model_validator(mode="after")
    def _one_segment_per_layer(self) -> SegmentationFile:
        ids = [s.id for s in self.town_segments]
        if sorted(ids) != sorted(LAYERS):
            raise ValueError(f"town_segments must be exactly one of each layer ({', '.join(LAYERS)}); got {ids}")
        for kind in DEVICE_KINDS:
            shares = {s.id: getattr(s.share, kind) for s in self.town_segments}
            if sum(shares.values()) != 100:
                written = ", ".join(f"{layer} {p}%" for layer, p in shares.items())
                raise ValueError(f"the shares of {kind} must add up to 100% across the segments ({written})")
        return self

    def segment(self, layer: str) -> TownSegment:
        return next(s for s in self.town_segments if s.id == layer)

    def service_by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    def business_service(self) -> Service:
        """The core business systems' service: what the flow to the DC service address allows."""
        return self.service_by_id()[
            next(f.service for f in self.flows if any(d.kind == "service" for d in f.destinations))
        ]
