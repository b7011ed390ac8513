"""Largest-remainder rounding (最大剰余方式): integer yen shares that add up to the total exactly.

Written here rather than taken from an apportionment package: those take vote counts or floats and
a seat count, and break ties their own way; cost sharing needs exact fractions (a 4 : 6 mix of an
equal and a population share is not a float-safe number) and a tie-break a finance officer can
repeat by hand: the earlier town in the list gets the yen.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def largest_remainder(total: int, weights: Sequence[Fraction | int]) -> list[int]:
    """Split `total` yen in proportion to `weights`: each share is its exact quota rounded down,
    then the yen left over go one each to the largest remainders (ties: the earlier entry)."""
    if total < 0:
        raise ValueError(f"cannot share a negative amount ({total:,} yen)")
    weight_sum = sum(weights, Fraction(0))
    if any(w < 0 for w in weights):
        raise ValueError("a share weight cannot be negative")
    if weight_sum == 0:
        if total:
            raise ValueError(f"nothing to share {total:,} yen by: every weight is 0")
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[tuple[Fraction, int]] = []
    for index, weight in enumerate(weights):
        whole, rest = divmod(Fraction(weight) * total, weight_sum)
        shares.append(int(whole))
        remainders.append((-rest, index))  # sort: largest remainder first, then the earlier entry
    left = total - sum(shares)
    for _, index in sorted(remainders)[:left]:
        shares[index] += 1
    return shares
