"""The notice of a BCP drill: while its silence keeps the alerts it causes from paging anyone, the
people it concerns are told that a drill runs (and, when it ends, that it ended) by an alert of its
own, `MunicloudDrillRunning` (kind `drill`), handed to Alertmanager the way Prometheus hands it
alerts: one per town the drill affects, routed to that town's officers and, grouped into one message
each, to the vendor and the secretariat (monitoring/alerting.py). The silences never cover kind
`drill`, so the notice is the one message a drill sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from inventory.model.sla import CONTRACT_TZ

from .alerting import DRILL_KIND, DRILL_NOTICE
from .alertmanager import AlertmanagerAPI, AlertmanagerError, api_time


def notice_alerts(
    scenario: str, title: str, towns: list[str], starts: datetime, ends: datetime, source: str
) -> list[dict[str, Any]]:
    return [
        {
            "labels": {
                "alertname": DRILL_NOTICE,
                "kind": DRILL_KIND,
                "severity": "info",
                "scenario": scenario,
                "town": town,
            },
            "annotations": {"summary": f"BCP drill {scenario} ({title})", "value": source},
            "startsAt": api_time(starts),
            "endsAt": api_time(ends),
        }
        for town in towns
    ]


@contextmanager
def drill_notice(
    api: AlertmanagerAPI | None,
    scenario: str,
    title: str,
    towns: list[str],
    source: str,
    until: datetime,
    notice: Callable[[str], None],
) -> Iterator[dict[str, Any]]:
    """Tell the drill's people it starts (the notice fires until `until`, the bound if this process
    dies) and, however the body ends, that it ended (the notice resolved now). Yields its record."""
    record: dict[str, Any] = {"alert": DRILL_NOTICE, "towns": list(towns)}
    if api is None or not towns:
        record["status"] = "not sent: no Alertmanager" if api is None else "not sent: no town affected"
        yield record
        return
    starts = datetime.now(UTC)
    try:
        api.post_alerts(notice_alerts(scenario, title, towns, starts, until, source))
        record["status"] = "sent"
        record["started"] = starts.astimezone(CONTRACT_TZ).isoformat()
    except AlertmanagerError as error:
        record["status"] = f"not sent: {error}"
        notice(f"the drill's notice was not sent: {error}")
    try:
        yield record
    finally:
        if record["status"] == "sent":
            ended = datetime.now(UTC)
            try:
                api.post_alerts(notice_alerts(scenario, title, towns, starts, ended, source))
                record["ended"] = ended.astimezone(CONTRACT_TZ).isoformat()
            except AlertmanagerError as error:
                notice(f"the drill's end was not told (its notice ends by itself at {until:%H:%M} UTC): {error}")
