"""The SLA fetch's batched passes (monitoring/sla/fetch.py) against a stand-in for Prometheus that
evaluates the few PromQL forms the fetch sends over samples held in memory, with Prometheus 2's
range semantics (both ends included). The minutes it finds must equal the ones worked out directly
from the samples: down if any sample of the minute is 1, missing if the minute has no sample."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import numpy as np
import pytest

from inventory.model.sla import CONTRACT_TZ
from monitoring.promapi import Series
from monitoring.sla.calendar import Window, span_period
from monitoring.sla.fetch import BAD_SERIES, Key, _batches, _pairs_selector, _town_batches, fetch_minutes

TERM = re.compile(r"(\w+)_over_time\(" + re.escape(BAD_SERIES) + r"\{([^}]*)\}\[(\d+)ms\]\)")
MATCHER = re.compile(r'(\w+)(=~|=)"([^"]*)"')


class FakePrometheus:
    """Answers `F_over_time(series{matchers}[Nms])` terms joined by `or`, optionally `> 0`."""

    def __init__(self, samples: dict[Key, list[tuple[float, float]]]) -> None:
        self.samples = samples
        self.queries = 0

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.queries += 1
        positive = expr.endswith(" > 0")
        terms = TERM.findall(expr)
        assert terms, expr
        out = []
        for key, values in self.samples.items():
            labels = {"town": key[0], "system": key[1]}
            for function, matchers, range_ms in terms:
                if all(_matches(labels.get(n, ""), op, v) for n, op, v in MATCHER.findall(matchers)):
                    points = _evaluate(function, values, int(range_ms) / 1000, start, end, step)
                    points = [(t, v) for t, v in points if v > 0 or not positive]
                    if points:
                        out.append(Series(labels, points))
                    break
        return out


def _matches(value: str, op: str, pattern: str) -> bool:
    return re.fullmatch(pattern, value) is not None if op == "=~" else value == pattern


def _evaluate(function: str, values: list[tuple[float, float]], range_s: float, start: float, end: float, step: float):
    points = []
    steps = round((end - start) / step)
    for i in range(steps + 1):
        at = start + i * step
        inside = [v for t, v in values if at - range_s - 1e-6 <= t <= at + 1e-6]
        if inside:
            points.append((at, {"count": len(inside), "sum": sum(inside), "max": max(inside)}[function]))
    return points


def _expected(samples: list[tuple[float, float]], window: Window) -> tuple[np.ndarray, np.ndarray]:
    seen = np.zeros(window.minutes, dtype=bool)
    bad = np.zeros(window.minutes, dtype=bool)
    start = window.start.timestamp()
    for t, v in samples:
        minute = int((t - 30 - start) // 60)
        if 0 <= minute < window.minutes:
            seen[minute] = True
            bad[minute] |= v >= 1
    return np.flatnonzero(bad), np.flatnonzero(~seen)


def _window() -> Window:
    # two days and a bit: the last day and the last hour are cut short, and the window starts at 23:00
    start = datetime(2026, 5, 1, tzinfo=CONTRACT_TZ)
    return Window(span_period(start, start + timedelta(days=2, hours=1, minutes=17)), timedelta(hours=1))


def _series(window: Window, rng: random.Random, phase: float, kind: str) -> list[tuple[float, float]]:
    """One sample a minute (at `phase` s past it, as a rule evaluated off the minute), 5 min past the
    window's end too, with the faults of `kind`."""
    start = window.start.timestamp()
    out = []
    for minute in range(window.minutes + 5):
        t = start + 60 * minute + 30 + phase
        if kind == "gaps" and (100 <= minute < 105 or minute == 1500 or 1440 <= minute < 2880):
            continue  # a 5-minute gap, a lone one, and the window's second whole day
        value = 1.0 if kind == "down" and (rng.random() < 0.01 or 700 <= minute < 760) else 0.0
        out.append((t, value))
        if kind == "double" and minute in (50, 51):
            out.append((t + 10, 1.0 if minute == 50 else 0.0))  # two samples in one minute
        if kind == "gaps" and minute == 2000:
            out.append((t, 1.0))
    return out


@pytest.mark.parametrize("batch", [1, 3, 2000])
def test_fetch_minutes_equals_the_samples_minute_by_minute(batch: int) -> None:
    window = _window()
    rng = random.Random(6)
    kinds = ["good", "down", "gaps", "double"]
    samples: dict[Key, list[tuple[float, float]]] = {}
    for town in ("ageo", "ina", "ogose", "yorii"):
        for i, system in enumerate(("registry", "tax", "payment")):
            kind = kinds[(len(samples) + i) % len(kinds)]
            samples[(town, system)] = _series(window, rng, rng.choice([0.0, 17.25, 29.0]), kind)
    samples[("ina", "unsubscribed")] = _series(window, rng, 0.0, "down")  # in Prometheus, not asked for
    expected = [k for k in samples if k[1] != "unsubscribed"] + [("silent", "registry")]
    api = FakePrometheus(samples)

    got = fetch_minutes(api, window, expected, workers=2, batch_series=batch)  # type: ignore[arg-type]

    assert set(got) == set(expected)
    for key in expected:
        down, missing = _expected(samples.get(key, []), window)
        assert got[key].down.tolist() == down.tolist(), key
        assert got[key].missing.tolist() == missing.tolist(), key
    assert got[("silent", "registry")].missing.size == window.minutes
    assert any(got[k].down.size for k in expected) and any(got[k].missing.size < window.minutes for k in expected)


def test_progress_counts_every_query() -> None:
    window = _window()
    rng = random.Random(1)
    samples = {
        ("ina", "registry"): _series(window, rng, 0.0, "down"),
        ("ogose", "tax"): _series(window, rng, 0, "gaps"),
    }
    api = FakePrometheus(samples)
    seen: list[tuple[int, int]] = []
    fetch_minutes(api, window, list(samples), lambda done, total: seen.append((done, total)), batch_series=1)  # type: ignore[arg-type]
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1] and len(seen) >= 3  # all three passes ran queries


def test_town_batches_keep_towns_whole_and_bounded() -> None:
    keys = [(f"t{t:02d}", f"s{s}") for t in range(10) for s in range(t % 4 + 1)]
    batches = _town_batches(keys, 5)
    assert sorted(t for b in batches for t in b) == sorted({t for t, _ in keys})
    per_town = {t: sum(1 for k in keys if k[0] == t) for t, _ in keys}
    for b in batches:
        assert sum(per_town[t] for t in b) <= 5
    assert _town_batches([("big", f"s{i}") for i in range(9)], 5) == [["big"]]  # never split a town


def test_batches_bound_the_series_per_query() -> None:
    keys = [(f"t{i}", "s") for i in range(7)]
    assert [len(b) for b in _batches(keys, 3)] == [3, 3, 1]
    assert sorted(k for b in _batches(keys, 3) for k in b) == sorted(keys)


def test_pairs_selector_names_exactly_the_pairs_in_a_balanced_tree() -> None:
    keys = [(town, f"sys{i}") for i in range(5) for town in ("a", "b")] + [("c", "sys0")]
    expr = _pairs_selector(keys, "max_over_time", "59999ms")
    terms = TERM.findall(expr)
    assert len(terms) == 5 and expr.count(" or ") == 4
    assert ("max", 'system="sys0",town=~"a|b|c"', "59999") in terms
    depth = max(expr[: i + 1].count("(") - expr[: i + 1].count(")") for i in range(len(expr)))
    assert depth == 3 + 1  # 3 levels of `or` (a chain would be 4), plus the function's parenthesis
