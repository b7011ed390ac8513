"""The BCP drills of a report's period beside the SLA's minutes.

A drill cuts circuits or a data center on purpose and measures each outage with its own fast probes
(to the millisecond). The SLA engine counts contract minutes from Prometheus' 15-second probes. A
reader of the SLA report must see both side by side: which drills ran in the period, which (town,
system) each one touched (its fast probes failed), how long that outage was, and how many down
minutes the engine counted for the same town and system while the drill ran, with why when none.

This module only reads the drills' journals (bcp_drills/journal.py validates them) and looks up the
engine's counts for each drill's span (`SystemResult.minutes_between`): the counting stays in the
engine.

Journals are the `journal.json` files `municloud drill run` writes into
`<state_dir>/drills/<env>/<YYYYmmdd-HHMMSS>-<scenario>/`. A file that is not a valid journal, or a
drill folder without a journal (a drill still running, or one killed before it wrote it), is named in
a warning, never skipped in silence: when its times cannot be read, it is named whenever it may belong
to the period (its folder's stamp is before the period's end and it was written after the period's
start), so that old leftovers do not fill every later report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bcp_drills.journal import JOURNAL_FILE, Journal, JournalError, Outage, read_journal
from inventory.model.sla import CONTRACT_TZ

from .calendar import Period
from .engine import SpanMinutes, SystemResult

DRILL_FOLDER = re.compile(r"^(\d{8}-\d{6})-")  # the runner's folder stamp, in the host's local time

Key = tuple[str, str]  # (town, system)


@dataclass(frozen=True)
class TouchedSystem:
    """One (town, system) whose fast probes failed during a drill, and what the SLA counted for it."""

    town: str
    system: str
    outage_ms: float | None  # the drill's measured outage; None when it never recovered
    recovered: bool
    minutes: SpanMinutes | None  # the engine's minutes over the drill's span; None: not in the report
    explanation: str  # one line: what was counted, or why nothing was

    @property
    def counted_minutes(self) -> int | None:
        return None if self.minutes is None else self.minutes.counted_minutes


@dataclass(frozen=True)
class DrillInPeriod:
    journal: Path
    scenario: str
    title_ja: str
    title_en: str
    started: datetime
    ended: datetime  # as recorded, or when its last step ended
    verdict: str
    status: str  # the Chaos Toolkit run's status
    dry_run: bool
    towns: tuple[str, ...]  # the towns the drill probed from
    touched: tuple[TouchedSystem, ...]


@dataclass(frozen=True)
class DrillsInPeriod:
    source: Path
    drills: tuple[DrillInPeriod, ...]
    warnings: tuple[str, ...]

    def for_towns(self, towns: Iterable[str]) -> DrillsInPeriod:
        """The drills that probed from any of `towns`, with only those towns' touched systems."""
        wanted = set(towns)
        return replace(
            self,
            drills=tuple(
                replace(d, touched=tuple(t for t in d.touched if t.town in wanted))
                for d in self.drills
                if wanted & set(d.towns)
            ),
        )


# ---- finding the journals ------------------------------------------------------------------------
def _aware(moment: datetime) -> datetime:
    """Journal times carry their offset; a naive one is taken as Japan time, like the report's own."""
    return moment.replace(tzinfo=CONTRACT_TZ) if moment.tzinfo is None else moment


def drill_span(journal: Journal) -> tuple[datetime, datetime]:
    """[started, ended] of the drill's run; a journal without an end ends when its last step did."""
    record = journal.municloud
    started = _aware(record.started)
    ends = [record.ended, journal.end]
    ended = next((_aware(e) for e in ends if e is not None), None)
    if ended is None:
        last = [s.end for s in record.steps if s.end is not None]
        ended = datetime.fromtimestamp(max(last), CONTRACT_TZ) if last else started
    return started, max(started, ended)


def overlaps(span: tuple[datetime, datetime], period: Period) -> bool:
    """The run shares at least an instant with [period.start, period.end)."""
    started, ended = span
    return started < period.end and (ended > period.start or started >= period.start)


def _may_belong(path: Path, period: Period) -> bool:
    """For a file or folder whose drill times cannot be read: could it belong to the period?"""
    folder = path if path.is_dir() else path.parent
    try:
        written = max(p.stat().st_mtime for p in [path, *folder.iterdir()])
    except OSError:
        return True  # cannot tell: name it
    if datetime.fromtimestamp(written, CONTRACT_TZ) < period.start:
        return False
    stamp = DRILL_FOLDER.match(folder.name)
    if stamp is None:
        return True
    began = datetime.strptime(stamp.group(1), "%Y%m%d-%H%M%S").astimezone()  # the host's local time
    return began < period.end


def find_journals(source: Path, env: str, period: Period) -> tuple[list[tuple[Path, Journal]], list[str]]:
    """The valid journals of `env` whose run overlaps the period (by start), and a warning for every
    file or drill folder that may belong to the period but cannot be used. `source` is a folder
    (searched to any depth for journal.json) or one journal file."""
    if source.is_file():
        candidates = [source]
        folders: list[Path] = []
    elif source.is_dir():
        candidates = sorted(source.rglob(JOURNAL_FILE))
        folders = sorted(p for p in source.rglob("*") if p.is_dir() and DRILL_FOLDER.match(p.name))
    else:
        return [], []
    found: list[tuple[Path, Journal]] = []
    warnings: list[str] = []
    for folder in folders:
        if not (folder / JOURNAL_FILE).exists() and _may_belong(folder, period):
            warnings.append(
                f"{folder}: no {JOURNAL_FILE} (a drill still running, or stopped before it wrote its journal): "
                "left out of the report"
            )
    for path in candidates:
        try:
            _, journal = read_journal(path)
        except JournalError as error:
            if path == source or _may_belong(path, period):
                reasons = "; ".join(p.removeprefix(f"{path}: ") for p in error.problems)
                warnings.append(f"{path}: not a valid drill journal, left out of the report: {reasons}")
            continue
        if not overlaps(drill_span(journal), period):
            continue
        if journal.municloud.environment != env:
            warnings.append(
                f"{path}: a drill of environment '{journal.municloud.environment}', not '{env}': left out of the report"
            )
            continue
        found.append((path, journal))
    found.sort(key=lambda item: drill_span(item[1])[0])
    return found, warnings


# ---- the drills beside the SLA's minutes ---------------------------------------------------------
def touched_outages(journal: Journal) -> dict[Key, Outage]:
    """Per (town, system): the drill's outage when its fast probes failed (a measured outage, or one
    that never recovered); the longest one when a journal lists a pair twice."""
    touched: dict[Key, Outage] = {}
    for outage in journal.municloud.outages:
        if outage.outage_ms is None and outage.recovered:
            continue  # the probes never failed
        key = (outage.town, outage.system)
        before = touched.get(key)
        if before is None or _longer(outage, before):
            touched[key] = outage
    return touched


def _longer(a: Outage, b: Outage) -> bool:
    if not a.recovered or not b.recovered:
        return not a.recovered and b.recovered
    return (a.outage_ms or 0) > (b.outage_ms or 0)


def duration_text(ms: float | None) -> str:
    """A drill's outage as people read it: milliseconds below 10 s, seconds above."""
    if ms is None:
        return "never recovered"
    return f"{ms:,.1f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def explain(outage: Outage, minutes: SpanMinutes, down_share: float) -> str:
    """Why the SLA counted what it counted over the drill's run, in one line."""
    if minutes.counted_minutes:
        return f"{minutes.counted_minutes} scheduled minute(s) counted as downtime"
    if minutes.period_minutes and minutes.missing_minutes == minutes.period_minutes:
        return "no Prometheus probe data while the drill ran: nothing could be counted"
    if minutes.down_minutes:
        if minutes.service_minutes == 0:
            reason = "outside the service calendar"
        else:
            reason = next(
                (o.reason for o in minutes.outages if not o.counted),
                "its counted minutes lie outside the drill's run",
            )
        why = f"{minutes.down_minutes} down minute(s) measured, not counted: {reason}"
    else:
        no_minute = f"no minute had {down_share:.0%} or more of its probes failed"
        if outage.outage_ms is not None and outage.outage_ms < 60_000:
            why = f"shorter than a minute ({duration_text(outage.outage_ms)}): {no_minute}"
        else:
            why = f"below the contract's failed-share threshold: {no_minute}"
        if minutes.service_minutes == 0:
            why += "; the drill also ran outside the service calendar"
        elif minutes.scheduled_minutes == 0:
            why += "; the drill also ran in a maintenance window"
    if minutes.missing_minutes:
        why += f"; {minutes.missing_minutes} minute(s) without probe data"
    return why


def correlate(
    path: Path,
    journal: Journal,
    results: Mapping[Key, SystemResult],
    towns: Iterable[str],
    down_share: float,
) -> DrillInPeriod:
    """One drill: every (town, system) of `towns` it touched, with the engine's minutes over its span."""
    record = journal.municloud
    started, ended = drill_span(journal)
    wanted = set(towns)
    order = {key: i for i, key in enumerate(results)}  # the report's order: towns, then their systems
    pairs = sorted(touched_outages(journal).items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    touched = []
    for (town, system), outage in pairs:
        if town not in wanted:
            continue
        result = results.get((town, system))
        if result is None:
            touched.append(
                TouchedSystem(
                    town,
                    system,
                    outage.outage_ms,
                    outage.recovered,
                    None,
                    "not in this report: the inventory does not list this system for the town",
                )
            )
            continue
        minutes = result.minutes_between(started, ended)  # every minute the run overlaps
        touched.append(
            TouchedSystem(
                town, system, outage.outage_ms, outage.recovered, minutes, explain(outage, minutes, down_share)
            )
        )
    return DrillInPeriod(
        journal=path,
        scenario=record.scenario,
        title_ja=record.title_ja,
        title_en=record.title_en,
        started=started,
        ended=ended,
        verdict=record.verdict,
        status=journal.status,
        dry_run=record.dry_run,
        towns=tuple(t.id for t in record.towns),
        touched=tuple(touched),
    )


def drills_in_period(
    source: Path,
    env: str,
    period: Period,
    results: Mapping[Key, SystemResult],
    towns: list[str],
    down_share: float,
) -> DrillsInPeriod:
    """Every drill of `env` under `source` that ran in the period and probed from any of `towns`."""
    found, warnings = find_journals(source, env, period)
    drills = [correlate(path, journal, results, towns, down_share) for path, journal in found]
    return DrillsInPeriod(source, tuple(drills), tuple(warnings)).for_towns(towns)
