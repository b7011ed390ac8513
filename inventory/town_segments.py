"""What stands in each segment of a town hall (三層分離), and how big each segment must be.

A town that gives its own device counts per segment (segmentation.yaml `towns:`) gets exactly those;
every other town's devices of each kind are shared out by the file's percentages (SAMPLE), by largest
remainder, so the segments always add up to the town's counts in towns.yaml.
"""

from __future__ import annotations

from .model.layers import LAYERS, Layer
from .model.segmentation import DEVICE_KINDS, SegmentationFile
from .model.towns import ClientCounts, Town

MIN_SEGMENT_PREFIX = 28  # even an empty segment gets room for its gateway and a few devices
RESERVED_ADDRESSES = 3  # network, broadcast and the CE's gateway


def segment_devices(town: Town, policy: SegmentationFile) -> dict[Layer, ClientCounts]:
    """The devices in each of the town's three layer segments."""
    own = policy.towns.get(town.id)
    if own is not None:
        return {layer: own.get(layer, ClientCounts(pcs=0, printers=0)) for layer in LAYERS}
    split: dict[Layer, dict[str, int]] = {layer: {} for layer in LAYERS}
    for kind in DEVICE_KINDS:
        total = getattr(town.clients, kind)
        shares = {layer: getattr(policy.segment(layer).share, kind) for layer in LAYERS}
        for layer, count in largest_remainder(total, shares).items():
            split[layer][kind] = count
    return {layer: ClientCounts(**counts) for layer, counts in split.items()}


def largest_remainder(total: int, percents: dict[Layer, int]) -> dict[Layer, int]:
    """`total` split by `percents` (which add up to 100) into whole numbers adding up to `total`;
    the units left over go to the largest remainders, ties to the layer listed first."""
    exact = {layer: total * p for layer, p in percents.items()}  # in hundredths
    counts = {layer: value // 100 for layer, value in exact.items()}
    left = total - sum(counts.values())
    order = sorted(percents, key=lambda layer: (-(exact[layer] % 100), LAYERS.index(layer)))
    for layer in order[:left]:
        counts[layer] += 1
    return counts


def device_total(counts: ClientCounts) -> int:
    return sum(getattr(counts, kind) for kind in DEVICE_KINDS)


def segment_prefix(devices: int, headroom_percent: int) -> int:
    """The longest prefix holding `devices` plus the headroom, the gateway, network and broadcast."""
    need = -(-devices * (100 + headroom_percent) // 100) + RESERVED_ADDRESSES
    return min(MIN_SEGMENT_PREFIX, 32 - (need - 1).bit_length())
