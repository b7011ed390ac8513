"""The four steps of the cost allocation, on a small case worked out by hand, and its invariants."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from costs.allocation import AllocationError, AllocationInput, CostLine, TownFacts, allocate, share_amount
from costs.rounding import largest_remainder


def _town(tid: str, population: int, current: int | None = None, cap: int | None = None) -> TownFacts:
    return TownFacts(
        tid, f"{tid}町", population, subscribed_systems=30, clients=10, circuits=2, current_yen=current, cap_yen=cap
    )


FEE = CostLine("fee", "利用料", "basic", 1_000_000, {"equal": Fraction(2, 5), "population": Fraction(3, 5)})
MIGRATION = CostLine("migration", "データ移行", "migration", 100_000, {"equal": Fraction(1)})


def _three(b_cap: int = 400_000) -> AllocationInput:
    towns = (
        _town("a", 1_000, 150_000, 150_000),
        _town("b", 3_000, 400_000, b_cap),
        _town("c", 6_000, 800_000, 800_000),
    )
    return AllocationInput(
        "FY2027", towns, (FEE, MIGRATION), adjust=True, reallocation_share={"population": Fraction(1)}
    )


def test_three_towns_worked_by_hand() -> None:
    """1,000,000 yen, 4 : 6 equal : population among 1,000 / 3,000 / 6,000 residents:
    a 133,333.33 + 60,000, b 133,333.33 + 180,000, c 133,333.33 + 360,000; rounded down that is
    999,999 and the one yen left goes to a (all three remainders are 1/3: the earlier town).
    a's 193,334 exceeds its cap 150,000: adjusted by 43,334, re-allocated by population to b and c:
    14,444.67 and 28,889.33, rounded down 43,333, the yen left to b (remainder 2/3).
    Migration 100,000 equally: 33,333.33 each, the yen left to a."""
    a = allocate(_three())
    assert a.basic["fee"] == [193_334, 313_333, 493_333]
    assert a.adjusted == [True, False, False]
    assert a.adjustment == [43_334, 0, 0]
    assert a.reallocated == [0, 14_445, 28_889]
    assert a.after_adjustment == [150_000, 327_778, 522_222]
    assert a.migration["migration"] == [33_334, 33_333, 33_333]
    assert a.total == [183_334, 361_111, 555_555]
    assert a.joint_yen == 1_100_000
    assert [a.saving(i) for i in range(3)] == [-33_334, 38_889, 244_445]


def test_reallocation_pushing_a_town_over_its_cap_is_an_error_not_a_second_round() -> None:
    with pytest.raises(AllocationError) as caught:
        allocate(_three(b_cap=320_000))
    ((town, why),) = caught.value.failures
    assert town == "b"
    assert "313,333 + 14,445 = 327,778 > 320,000 yen" in why
    assert "made once, not repeated" in why


def test_every_town_over_its_cap_leaves_no_one_to_bear_the_adjustment() -> None:
    towns = tuple(_town(t, p, 1, 1) for t, p in (("a", 1), ("b", 2)))
    data = AllocationInput("FY2027", towns, (FEE,), adjust=True, reallocation_share={"equal": Fraction(1)})
    with pytest.raises(AllocationError, match="no town is left to bear 999,998 yen"):
        allocate(data)


def test_a_basis_no_town_has_is_refused() -> None:
    towns = (TownFacts("a", "a町", 10, 30, clients=0, circuits=2), TownFacts("b", "b町", 10, 30, clients=0, circuits=2))
    with pytest.raises(AllocationError, match="no town has any 端末数割 client PCs"):
        share_amount(100, {"clients": Fraction(1)}, towns, "FY2027 端末")


# --- invariants -------------------------------------------------------------------------------

populations = st.lists(st.integers(min_value=1, max_value=2_000_000), min_size=1, max_size=40)
amounts = st.integers(min_value=0, max_value=10**12)
equal_weights = st.fractions(min_value=0, max_value=1, max_denominator=1000)


def _towns(pops: list[int], currents: list[int] | None = None, ratio: Fraction = Fraction(1)) -> tuple[TownFacts, ...]:
    currents = currents or [None] * len(pops)  # type: ignore[list-item]
    return tuple(
        TownFacts(
            f"t{i}",
            f"t{i}町",
            p,
            subscribed_systems=20 + i % 9,
            clients=p // 100 + 1,
            circuits=2,
            current_yen=c,
            cap_yen=None if c is None else int(ratio * c),
        )
        for i, (p, c) in enumerate(zip(pops, currents, strict=True))
    )


@given(amounts, st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=60))
def test_largest_remainder_adds_up_and_stays_within_a_yen(total: int, weights: list[int]) -> None:
    assume(sum(weights) > 0)
    shares = largest_remainder(total, weights)
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        quota = Fraction(weight * total, sum(weights))
        assert quota - 1 < share < quota + 1


@given(amounts, populations, equal_weights)
def test_every_item_is_shared_to_the_yen(total: int, pops: list[int], w: Fraction) -> None:
    share = {"equal": w, "population": Fraction(1) - w}
    assert sum(share_amount(total, share, _towns(pops), "item")) == total


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(1, 100_000), st.integers(1, 50_000_000)), min_size=2, max_size=25),
    st.integers(1, 10**9),
    st.fractions(min_value=Fraction(1, 2), max_value=Fraction(3, 2), max_denominator=100),
)
def test_no_town_above_its_cap_unless_refused(towns_data: list[tuple[int, int]], amount: int, ratio: Fraction) -> None:
    pops, currents = [p for p, _ in towns_data], [c for _, c in towns_data]
    item = CostLine("fee", "利用料", "basic", amount, {"equal": Fraction(2, 5), "population": Fraction(3, 5)})
    data = AllocationInput(
        "FY", _towns(pops, currents, ratio), (item,), adjust=True, reallocation_share={"population": Fraction(1)}
    )
    try:
        a = allocate(data)
    except AllocationError as error:
        # Refused only because the one round of re-allocation does not fit under the caps.
        assert error.failures
        assert all("over its cap" in why or "no town is left" in why for _, why in error.failures)
        return
    assert sum(a.total) == amount
    assert sum(a.reallocated) == sum(a.adjustment)
    for town, paid in zip(a.towns, a.after_adjustment, strict=True):
        assert town.cap_yen is not None and paid <= town.cap_yen


@given(amounts, populations, st.data(), st.fractions(min_value=0, max_value=Fraction(99, 100), max_denominator=100))
def test_a_towns_share_never_falls_when_only_its_population_grows(
    total: int, pops: list[int], data: st.DataObject, equal: Fraction
) -> None:
    share = {"equal": equal, "population": Fraction(1) - equal}
    town = data.draw(st.integers(0, len(pops) - 1))
    grown = list(pops)
    grown[town] += data.draw(st.integers(1, 1_000_000))
    before = share_amount(total, share, _towns(pops), "item")[town]
    after = share_amount(total, share, _towns(grown), "item")[town]
    assert after >= before
