"""The layers of the three-layer separation (三層分離) and the segments of a town hall.

They are the guideline's own (総務省「地方公共団体における情報セキュリティポリシーに関するガイドライン」),
so their ids are fixed here; the town halls (towns.yaml) and the policy (segmentation.yaml) use them.
"""

from __future__ import annotations

from typing import Literal

# マイナンバー利用事務系 (the core business systems), LGWAN接続系, インターネット接続系.
Layer = Literal["mynumber", "lgwan", "internet"]
LAYERS: tuple[Layer, ...] = ("mynumber", "lgwan", "internet")
# A town hall's segments: its server LAN (the CE's gateway, the in-office servers) and one per layer.
TownSegmentId = Literal["lan", "mynumber", "lgwan", "internet"]
TOWN_SEGMENTS: tuple[TownSegmentId, ...] = ("lan", "mynumber", "lgwan", "internet")


def segment_layer(segment: TownSegmentId) -> Layer:
    """The layer a town hall's segment belongs to. The server LAN holds the servers of the core
    systems' users (the SLA probe, file, print): it is part of the マイナンバー利用事務系."""
    return "mynumber" if segment == "lan" else segment
