"""When a town's service was last known good before its latest incident, from the probes' raw
samples in Prometheus (`municloud_probe_success`, one sample per system per probe round): what
`municloud db restore --before-incident` restores to. The damage happened between that round and
the next, whose probes failed; restoring to the good round loses at most one probe interval."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .promapi import PrometheusAPI


class NoIncident(LookupError):
    """No failed probe round of the town in the window looked at (or no data at all)."""


@dataclass(frozen=True)
class Incident:
    town: str
    last_good: float  # Unix time of the last round where every system answered
    first_bad: float  # the next round: some system did not
    ongoing: bool  # no good round since


def latest_incident(api: PrometheusAPI, town: str, now: float, lookback_s: float = 6 * 3600) -> Incident:
    """The town's latest run of failed probe rounds within `lookback_s` before `now`, and the good
    round before it. NoIncident when every round was good or the window holds no good round before
    the failures (the incident began before it: look further back)."""
    window = f"{int(lookback_s)}s"
    series = api.query(f'municloud_probe_success{{town="{town}"}}[{window}]', now)
    rounds: dict[float, bool] = defaultdict(lambda: True)  # a round is good when every system answered
    for s in series:
        for at, value in s.values:
            rounds[round(at, 3)] = rounds[round(at, 3)] and value >= 1
    if not rounds:
        raise NoIncident(f"Prometheus holds no probe data of {town} in the last {window}")
    times = sorted(rounds)
    bad = [t for t in times if not rounds[t]]
    if not bad:
        raise NoIncident(f"every probe round of {town} in the last {window} succeeded: no incident to restore before")
    last_bad = bad[-1]
    # back from the latest failed round to the start of its run
    i = times.index(last_bad)
    while i > 0 and not rounds[times[i - 1]]:
        i -= 1
    if i == 0:
        raise NoIncident(f"{town}'s probes failed from the start of the last {window}: the good state is older")
    ongoing = last_bad == times[-1]
    return Incident(town, times[i - 1], times[i], ongoing)
