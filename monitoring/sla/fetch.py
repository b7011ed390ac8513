"""From Prometheus' recorded per-minute series to each (town, system)'s down and no-data minutes.

The recording rule `municloud:sla_minute:bad` (see monitoring/rules.py) records, once a minute,
1 when at least the contract's share of the probes of the minute before failed, else 0; when there
was no probe sample in that minute it records nothing (and Prometheus marks the series stale). A
sample at time t covers (t - 60 s, t]; the engine puts it in the calendar minute holding the
middle of that span, t - 30 s. Samples recorded on the minute (backfilled data, rules evaluated on
the minute) fall exactly on their own minute.

Reading a month of minutes for 504 series straight would move ~22 million samples, so it is read
in two passes (both plain PromQL over the same recorded series, so anyone can repeat them):
1. per series and hour: `count_over_time` and `sum_over_time` over the hour's samples. An hour with
   60 samples and a sum of 0 is 60 measured, good minutes: nothing more is read.
2. for any other hour, the raw samples of that hour (a range-vector instant query), minute by minute.
The hour's window is [hour + 30 s, hour + 3630 s): the samples whose minute (t - 30 s) lies in the
hour; Prometheus 2's range selectors include both ends, hence the 3599999 ms range at +3629.999 s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..promapi import PrometheusAPI
from .calendar import Window
from .engine import SeriesMinutes

BAD_SERIES = "municloud:sla_minute:bad"
HOUR_RANGE = "3599999ms"
HOUR_EVAL_OFFSET = 3629.999  # seconds after the hour's start

Key = tuple[str, str]  # (town, system)
Progress = Callable[[int, int], None]  # (hours read, hours to read)


def _selector(towns: Iterable[str] | None) -> str:
    if towns is None:
        return BAD_SERIES
    pattern = "|".join(sorted(towns))
    return f'{BAD_SERIES}{{town=~"{pattern}"}}'


def hourly_summary(
    api: PrometheusAPI, window: Window, towns: Iterable[str] | None
) -> tuple[dict[Key, np.ndarray], dict[Key, np.ndarray]]:
    """Per series: samples and down samples in each hour of the window."""
    sel = _selector(towns)
    first = window.start.timestamp() + HOUR_EVAL_OFFSET
    last = first + (window.hours - 1) * 3600
    counts: dict[Key, np.ndarray] = {}
    sums: dict[Key, np.ndarray] = {}
    for expr, target in (
        (f"count_over_time({sel}[{HOUR_RANGE}])", counts),
        (f"sum_over_time({sel}[{HOUR_RANGE}])", sums),
    ):
        for s in api.query_range(expr, first, last, 3600):
            key = (s.labels.get("town", ""), s.labels.get("system", ""))
            row = target.setdefault(key, np.zeros(window.hours, dtype=np.int64))
            for t, v in s.values:
                row[round((t - first) / 3600)] += int(v)
    return counts, sums


def fetch_minutes(
    api: PrometheusAPI,
    window: Window,
    expected: list[Key],
    progress: Progress | None = None,
    workers: int = 8,
) -> dict[Key, SeriesMinutes]:
    """Every expected (town, system)'s down and no-data minutes over the window."""
    towns = {town for town, _ in expected}
    counts, sums = hourly_summary(api, window, towns)
    hours_total = window.hours
    # the last hour may be cut short by the window's end (never with whole-hour margins, but spans)
    minutes_in_hour = np.full(hours_total, 60)
    minutes_in_hour[-1] = window.minutes - 60 * (hours_total - 1)

    result: dict[Key, SeriesMinutes] = {}
    detail: dict[int, set[Key]] = defaultdict(set)
    missing_hours: dict[Key, list[int]] = defaultdict(list)
    for key in expected:
        c = counts.get(key)
        if c is None:
            result[key] = SeriesMinutes.all_missing(window)
            continue
        s = sums.get(key, np.zeros(hours_total, dtype=np.int64))
        for h in np.flatnonzero((c != minutes_in_hour) | (s > 0)).tolist():
            if c[h] == 0:
                missing_hours[key].append(h)
            else:
                detail[h].add(key)

    down: dict[Key, list[np.ndarray]] = defaultdict(list)
    missing: dict[Key, list[np.ndarray]] = defaultdict(list)
    for key, hours in missing_hours.items():
        for h in hours:
            missing[key].append(np.arange(60 * h, 60 * h + minutes_in_hour[h]))

    def read_hour(hour: int) -> tuple[int, dict[Key, list[tuple[float, float]]]]:
        keys = detail[hour]
        at = window.start.timestamp() + 3600 * hour + HOUR_EVAL_OFFSET
        samples: dict[Key, list[tuple[float, float]]] = {}
        for s in api.query(f"{_selector({t for t, _ in keys})}[{HOUR_RANGE}]", at):
            key = (s.labels.get("town", ""), s.labels.get("system", ""))
            if key in keys:
                samples.setdefault(key, []).extend(s.values)
        return hour, samples

    start = window.start.timestamp()
    if progress:
        progress(0, len(detail))
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for hour, samples in pool.map(read_hour, sorted(detail)):
            span = np.arange(60 * hour, 60 * hour + minutes_in_hour[hour])
            for key in detail[hour]:
                values = samples.get(key, [])
                seen = np.zeros(window.minutes, dtype=bool)
                bad = []
                for t, v in values:
                    minute = int((t - 30 - start) // 60)
                    if 0 <= minute < window.minutes:
                        seen[minute] = True
                        if v >= 1:  # two samples in one minute: down if either is
                            bad.append(minute)
                missing[key].append(span[~seen[span]])
                if bad:
                    down[key].append(np.unique(np.array(bad, dtype=np.int64)))
            done += 1
            if progress:
                progress(done, len(detail))

    for key in expected:
        if key in result:
            continue
        result[key] = SeriesMinutes(
            np.unique(np.concatenate(down[key])) if down[key] else np.zeros(0, dtype=np.int64),
            np.unique(np.concatenate(missing[key])) if missing[key] else np.zeros(0, dtype=np.int64),
        )
    return result
