"""The recorded SLA minutes must lie on the minute, or they are not calendar minutes.

Prometheus evaluates a rule group at an offset inside its interval computed from a hash of the
group's name and its file's path (monitoring/rules.py `evaluation_offset`); municloud names the
minute group so that, loaded from the path `municloud monitor config` writes it to, it is evaluated
within a quarter second after every whole minute. Loaded from another path (an operator's own
Prometheus, a backfill from a copy of the rules), its samples fall at another second of the
minute: each then covers a 60 s window straddling two calendar minutes, and counting them as
calendar minutes shifts outages and data gaps by one minute without a word (a run of down minutes
came out one short, a data gap one minute short). So the report reads the phase of the samples
first and refuses, with the reason and the fix, rather than count off-phase ones.

The check is one range query of the phase of the newest sample at every hour (a group's phase is
constant while its file stays where it is; an hour's step finds a rule file moved within the
period): the worst phase seen and how many series had it. Backfilled samples lie exactly on the
minute, a live server's within MINUTE_PHASE_TOLERANCE_S after it.
"""

from __future__ import annotations

from ..promapi import PrometheusAPI, PrometheusError
from ..rules import MINUTE_PHASE_TOLERANCE_S
from .calendar import Window

STEP_S = 3600


class OffPhaseMinutes(PrometheusError):
    """The recorded minutes are not aligned with the calendar minutes: the report refuses them."""


def _off_phase(series: str, tolerance: float) -> str:
    phase = f"(timestamp({series}) % 60)"
    # a sample within the tolerance before the minute (clock jitter of a backfill) is on the minute too
    return f"({phase} > {tolerance}) < {60 - tolerance}"


def check_minute_phase(
    api: PrometheusAPI, window: Window, series: str, tolerance: float = MINUTE_PHASE_TOLERANCE_S
) -> None:
    """Raise OffPhaseMinutes when any sample of `series` in the window lies off the minute."""
    start, end = window.start.timestamp(), window.end.timestamp()
    off = _off_phase(series, tolerance)
    worst = api.query_range(f"max({off})", start, end, STEP_S)
    phases = [value for s in worst for _, value in s.values]
    if not phases:
        return
    counted = api.query_range(f"count({off})", start, end, STEP_S)
    series_count = int(max((value for s in counted for _, value in s.values), default=0))
    first = min(at for s in worst for at, _ in s.values)
    raise OffPhaseMinutes(
        f"the recorded SLA minutes ({series}) of {series_count} series lie {max(phases):.1f} s after the "
        f"minute (first seen at epoch {first:.0f}), not on it: each covers a window across two calendar "
        "minutes, which the report will not count as calendar minutes. Their rule file was loaded from "
        "another path than the one its minute group is named for. Fix: load the rule file from the path "
        "`municloud monitor config` prints (or generate it for your path with `municloud monitor config "
        "--out DIR`, DIR being where your Prometheus reads it), and re-record the period's minutes "
        "(`promtool tsdb create-blocks-from rules` with the file at that path)"
    )
