"""Largest-remainder rounding (最大剰余方式): integer yen shares that add up to the total exactly.

Written here rather than taken from an apportionment package: those take vote counts or floats and
a seat count, and break ties their own way; cost sharing needs exact fractions (a 4 : 6 mix of an
equal and a population share is not a float-safe number) and a tie-break a finance officer can
repeat by hand: the earlier town in the list gets the yen.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` yen in proportion to integer `weights`: each share is its exact quota rounded
    down, then the yen left over go one each to the largest remainders (ties: the earlier entry).

    Weights are integers so that the arithmetic is exact and fast: scale exact fractions by their
    common denominator first."""
    if total < 0:
        raise ValueError(f"cannot share a negative amount ({total:,} yen)")
    if any(w < 0 for w in weights):
        raise ValueError("a share weight cannot be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError(f"nothing to share {total:,} yen by: every weight is 0")
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        whole, rest = divmod(weight * total, weight_sum)  # quota = whole + rest / weight_sum
        shares.append(whole)
        remainders.append((-rest, index))  # largest remainder first, then the earlier entry
    left = total - sum(shares)
    for _, index in heapq.nsmallest(left, remainders):
        shares[index] += 1
    return shares
