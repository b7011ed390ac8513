"""An outage still down at the edge of the minutes the engine reads (the period widened by a margin on
each side, monitoring/sla/calendar.py Window) is open there: it is flagged as beginning before / going
on past that time, in the data (engine.Outage, the JSON's incidents) and in the town's HTML (and so
the PDF), never shown as starting or ending at the margin's edge. Only the period's minutes count, as
before (issue 20, part 5)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from inventory.check import load_inventory
from inventory.model.sla import CONTRACT_TZ
from monitoring.sla.calendar import Window, span_period, window_for
from monitoring.sla.engine import Outage, SeriesMinutes
from monitoring.sla.fetch import Key
from monitoring.sla.render import render_html
from monitoring.sla.report import SlaReportData, assemble_report, evaluate_all, report_json

INV = load_inventory()
PERIOD = span_period(datetime(2026, 11, 25, 9, tzinfo=CONTRACT_TZ), datetime(2026, 11, 25, 12, tzinfo=CONTRACT_TZ))
WINDOW = window_for(PERIOD, INV.sla.min_outage_seconds)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 25, hh, mm, tzinfo=CONTRACT_TZ)


def report_of(down: list[tuple[int, int]]) -> SlaReportData:
    """ina's first system down over the given [first, last) window minutes, everything else up; every
    minute of the period scheduled (the every-minute view), so the counts are plain to check."""

    def minutes(window: Window, keys: list[Key]) -> dict[Key, SeriesMinutes]:
        assert window == WINDOW
        out = {k: SeriesMinutes.all_up() for k in keys}
        indices = np.concatenate([np.arange(a, b) for a, b in down]).astype(np.int64)
        out[keys[0]] = SeriesMinutes(indices, np.zeros(0, dtype=np.int64))
        return out

    towns = evaluate_all(INV, PERIOD, ["ina"], minutes, every_minute=True)
    return assemble_report(INV, PERIOD, towns, "synthetic", every_minute=True)


def outages(report: SlaReportData) -> tuple[Outage, ...]:
    return report.town("ina").systems[0].outages


def incidents_table(html: str) -> str:
    """The town's incidents table (the method's text names the wording too)."""
    start = html.index("障害一覧")
    return html[start : html.index("</table>", start)]


def test_the_window_is_the_period_and_a_margin_each_side() -> None:
    assert (WINDOW.start, WINDOW.end) == (at(8), at(13))  # the margin: one hour (min_outage <= 3600 s)


def test_an_outage_down_at_the_windows_last_minute_continues_past_it() -> None:
    report = report_of([(WINDOW.index(at(11, 30)), WINDOW.minutes)])
    [o] = outages(report)
    assert o.continues and not o.began_before
    assert (o.start, o.end) == (at(11, 30), WINDOW.end)  # seen until the margin's edge, not ended there
    assert o.length_seconds == 90 * 60  # what was seen: at least that long
    # the counting is the period's, as before: 11:30-12:00
    assert (o.scheduled_minutes, report.town("ina").systems[0].downtime_minutes) == (30, 30)


def test_an_outage_down_at_the_windows_first_minute_began_before_it() -> None:
    report = report_of([(0, WINDOW.index(at(9, 20)))])
    [o] = outages(report)
    assert o.began_before and not o.continues
    assert (o.start, o.end) == (WINDOW.start, at(9, 20))
    assert (o.scheduled_minutes, report.town("ina").systems[0].downtime_minutes) == (20, 20)


def test_an_outage_over_the_whole_window_is_open_at_both_ends() -> None:
    report = report_of([(0, WINDOW.minutes)])
    [o] = outages(report)
    assert o.began_before and o.continues
    assert report.town("ina").systems[0].downtime_minutes == PERIOD.minutes


def test_an_outage_that_ends_or_begins_inside_the_window_is_closed() -> None:
    last = WINDOW.minutes - 1  # up again at the window's last minute: it ended, the engine saw it end
    report = report_of([(1, WINDOW.index(at(9, 10))), (WINDOW.index(at(11, 50)), last)])
    assert [(o.began_before, o.continues) for o in outages(report)] == [(False, False), (False, False)]
    assert outages(report)[1].end == WINDOW.moment(last)


def test_the_json_flags_the_open_edges() -> None:
    report = report_of(
        [
            (0, WINDOW.index(at(9, 20))),
            (WINDOW.index(at(10)), WINDOW.index(at(10, 15))),
            (WINDOW.index(at(11, 30)), WINDOW.minutes),
        ]
    )
    incidents = report_json(report)["towns"][0]["systems"][0]["incidents"]
    assert [(i["began_before"], i["continues"]) for i in incidents] == [(True, False), (False, False), (False, True)]
    assert incidents[2]["end"] == WINDOW.end.isoformat()
    assert [i["scheduled_minutes"] for i in incidents] == [20, 15, 30]


def test_the_html_says_it_continues_past_the_margins_edge_instead_of_ending_there() -> None:
    report = report_of([(0, WINDOW.index(at(9, 20))), (WINDOW.index(at(11, 30)), WINDOW.minutes)])
    html = " ".join(incidents_table(render_html(report, ["ina"])).split())
    assert '2026-11-25 13:00 以降も継続 <span class="en">(continues past 13:00)</span>' in html
    assert '2026-11-25 08:00 以前に開始 <span class="en">(began before 08:00)</span>' in html
    assert '1 h 30 min 以上 <span class="en">at least</span>' in html  # 11:30 to 13:00, and on
    assert '1 h 20 min 以上 <span class="en">at least</span>' in html  # before 08:00 to 09:20


def test_a_closed_outage_is_shown_as_before() -> None:
    report = report_of([(WINDOW.index(at(10)), WINDOW.index(at(10, 15)))])
    html = incidents_table(render_html(report, ["ina"]))
    assert "以降も継続" not in html and "以前に開始" not in html and "以上 <span" not in html
    assert "<td>2026-11-25 10:00</td>" in html and "<td>2026-11-25 10:15</td>" in html
