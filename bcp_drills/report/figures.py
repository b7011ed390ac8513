"""What the drill reports say, worked out from the journals and nothing else: targets against
actuals with pass or fail, the timeline, the observations, the per-town outage, the annual
aggregates. No rendering here (see `render.py`).

Nothing is made up: where a journal lacks a figure the report says so (`no data`, データなし). In
the journal an `outage_ms` of null means the probes never failed (no outage), which is a figure;
an `rto_ms` of null for a system that did fail is missing data.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from inventory.model.sla import CONTRACT_TZ

from ..journal import DrillRecord, Journal, Outage, Step, Verdict
from ..verdicts import worst_verdict

Result = Literal["pass", "fail", "no data", "not measured"]

RESULT_LABEL: dict[str, str] = {
    "pass": "合格 / pass",
    "fail": "不合格 / fail",
    "no data": "データなし / no data",
    "not measured": "対象外 / not measured",
}


def local_time(value: float | datetime | None, with_date: bool = True) -> str:
    """An epoch or a datetime in Japan time, to the millisecond; naive datetimes are UTC (chaoslib)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CONTRACT_TZ)
    else:
        moment = datetime.fromtimestamp(value, CONTRACT_TZ)
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    return text + " JST"


def duration_text(ms: float | None) -> str:
    """452.3 ms, 8.12 s, 3 min 20.0 s; '—' when there is none."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:,.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:,.2f} s"
    minutes, rest = divmod(ms / 1000, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.1f} s"
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours} h {minutes:02d} min" + (f" {rest:.1f} s" if rest >= 0.05 else "")


@dataclass(frozen=True)
class Check:
    """One target against its actual."""

    target_ms: float
    actual_ms: float | None
    result: Result
    note: str = ""

    @property
    def label(self) -> str:
        return RESULT_LABEL[self.result]


@dataclass(frozen=True)
class SystemRow:
    town: str
    town_name: str
    system: str
    system_name: str
    tier: str
    outage: Outage
    affected: bool
    rto: Check
    rpo: Check
    lost_writes: int | None


@dataclass(frozen=True)
class TimelineRow:
    step: Step
    start: str
    end: str
    offset: str  # from the fault (or from the drill's start in a dry run)
    over_budget: bool


@dataclass(frozen=True)
class Observation:
    source: Literal["runner", "report"]  # written by the drill runner, or found by the report's checks
    text: str


@dataclass(frozen=True)
class TownOutage:
    """The worst outage seen from one town in one drill (over its systems)."""

    town: str
    name: str
    affected: bool
    outage_ms: float | None  # None: no probe data from this town
    recovered: bool
    no_outage: bool  # every probe of the town answered throughout


@dataclass
class DrillFigures:
    journal: Journal
    record: DrillRecord
    rows: list[SystemRow]
    timeline: list[TimelineRow]
    rollbacks: list[TimelineRow]
    observations: list[Observation]
    towns: list[TownOutage]
    reference: str  # what the timeline's offsets count from

    @property
    def verdict(self) -> Verdict:
        return self.record.verdict


def rto_check(outage: Outage, target_s: float, dry_run: bool) -> Check:
    target = target_s * 1000
    if dry_run:
        return Check(target, None, "not measured", "リハーサル(障害なし) / dry run: no fault injected")
    if not outage.recovered:
        return Check(target, outage.rto_ms, "fail", "復旧せず / never recovered")
    if outage.outage_ms is None and outage.rto_ms is None:
        return Check(target, None, "pass", "停止なし / no outage")
    if outage.rto_ms is None:
        return Check(target, None, "no data", "復旧時刻データなし / no recovery time recorded")
    return Check(target, outage.rto_ms, "pass" if outage.rto_ms <= target else "fail")


def rpo_check(record: DrillRecord, target_s: float) -> Check:
    target = target_s * 1000
    if record.dry_run:
        return Check(target, None, "not measured", "リハーサル / dry run")
    if record.rpo is None:
        return Check(target, None, "no data", "書込み未計測 / writes not measured in this drill")
    if record.rpo.lost_span_ms is None:
        return Check(target, None, "no data", "消失範囲データなし / no lost-write span recorded")
    span = record.rpo.lost_span_ms
    return Check(target, span, "pass" if span <= target else "fail")


def _offset(moment: float | None, reference: float | None) -> str:
    if moment is None or reference is None:
        return "—"
    return f"T{moment - reference:+.3f} s"


def _timeline(steps: Sequence[Step], reference: float | None) -> list[TimelineRow]:
    return [
        TimelineRow(
            s, local_time(s.start), local_time(s.end, with_date=False), _offset(s.start, reference), s.over_budget
        )
        for s in steps
    ]


def _rollback_rows(journal: Journal) -> list[TimelineRow]:
    rows = []
    for run in journal.rollbacks:
        step = Step(
            name=run.name,
            kind="restore",
            performed_by="municloud",
            start=run.start.timestamp() if run.start else None,
            end=run.end.timestamp() if run.end else None,
            ms=run.duration * 1000 if run.duration is not None else None,
            status="succeeded" if run.status == "succeeded" else "failed",
            detail=f"Chaos Toolkit {run.type}: {run.status}",
        )
        rows.append(TimelineRow(step, local_time(run.start), local_time(run.end, with_date=False), "—", False))
    return rows


def _town_outages(record: DrillRecord) -> list[TownOutage]:
    towns = []
    for town in record.towns:
        rows = [o for o in record.outages if o.town == town.id]
        measured = [o.outage_ms for o in rows if o.outage_ms is not None]
        towns.append(
            TownOutage(
                town=town.id,
                name=town.name,
                affected=town.id in record.affected_towns,
                outage_ms=(max(measured) if measured else 0.0) if rows else None,
                recovered=all(o.recovered for o in rows),
                no_outage=bool(rows) and not measured,
            )
        )
    return towns


def _report_findings(journal: Journal, rows: Sequence[SystemRow], towns: Sequence[TownOutage]) -> list[str]:
    """Every deviation from the hypothesis the journal's own figures show."""
    record = journal.municloud
    found: list[str] = []
    if record.stop_condition is not None:
        stop = record.stop_condition
        found.append(f"停止条件が作動 / stop condition '{stop.name}' tripped at {local_time(stop.at)}: {stop.detail}")
    if journal.status != "completed":
        found.append(f"実験は完了せず / the experiment ended '{journal.status}', not 'completed'")
    states = journal.steady_states
    if states is not None and states.before is not None and states.before.steady_state_met is False:
        found.append("開始前の定常状態が満たされず / the steady state was not met before the drill")
    if states is not None and states.after is not None and states.after.steady_state_met is False:
        found.append("終了後の定常状態が満たされず / the steady state was not met after the drill")
    elif journal.deviated:
        found.append("定常状態から逸脱 / the experiment deviated from its steady-state hypothesis")
    for row in rows:
        where = f"{row.town_name} {row.system_name}"
        if row.rto.result == "fail" and not row.outage.recovered:
            found.append(f"{where}: プローブ({row.outage.probe})が復旧せず / the probe never came back")
        elif row.rto.result == "fail":
            found.append(
                f"{where}: RTO {duration_text(row.rto.actual_ms)} exceeds the {row.tier} target "
                f"{duration_text(row.rto.target_ms)}"
            )
        elif row.rto.result == "no data":
            found.append(f"{where}: RTO データなし / no recovery time recorded")
    for row in rows:
        if row.rpo.result == "fail":
            found.append(
                f"RPO: lost writes spanning {duration_text(row.rpo.actual_ms)} exceed the {row.tier} target "
                f"{duration_text(row.rpo.target_ms)}"
            )
            break
    for town in towns:
        if town.affected and town.outage_ms is None and not record.dry_run:
            found.append(f"{town.name}: 障害対象だがプローブデータなし / affected by the fault but no probe data")
    for step in record.steps:
        if step.status == "failed":
            found.append(f"手順失敗 / step '{step.name}' failed" + (f": {step.detail}" if step.detail else ""))
        if step.over_budget:
            found.append(
                f"手順超過 / step '{step.name}' took {duration_text(step.ms)}, over its budget of "
                f"{duration_text(step.budget_ms)}"
            )
    for run in journal.rollbacks:
        if run.status != "succeeded":
            found.append(f"ロールバック失敗 / rollback '{run.name}' ended '{run.status}'")
    return found


def drill_figures(journal: Journal, system_names: Mapping[str, str] | None = None) -> DrillFigures:
    """Everything one drill's report shows. `system_names` gives the systems' Japanese names (from
    the inventory); a system without one is shown by its id."""
    record = journal.municloud
    names = system_names or {}
    rows = []
    for outage in record.outages:
        target = record.targets[outage.tier]
        lost = None
        if record.rpo is not None and outage.town in record.rpo.by_town:
            lost = record.rpo.by_town[outage.town].lost
        rows.append(
            SystemRow(
                town=outage.town,
                town_name=record.town_name(outage.town),
                system=outage.system,
                system_name=names.get(outage.system, outage.system),
                tier=outage.tier,
                outage=outage,
                affected=outage.town in record.affected_towns,
                rto=rto_check(outage, target.rto_seconds, record.dry_run),
                rpo=rpo_check(record, target.rpo_seconds),
                lost_writes=lost,
            )
        )
    towns = _town_outages(record)
    reference = record.fault_at if record.fault_at is not None else record.started.timestamp()
    observations = [Observation("runner", text) for text in record.observations]
    recorded = set(record.observations)
    found = [text for text in _report_findings(journal, rows, towns) if text not in recorded]
    if found and record.verdict == "passed":
        found.append(
            "判定の不整合 / the runner's verdict is 'passed', yet the checks above found deviations: "
            "read it as 'passed with findings' at best"
        )
    observations += [Observation("report", text) for text in found]
    return DrillFigures(
        journal=journal,
        record=record,
        rows=rows,
        timeline=_timeline(record.steps, reference),
        rollbacks=_rollback_rows(journal),
        observations=observations,
        towns=towns,
        reference="障害注入時刻 / the fault injection"
        if record.fault_at is not None
        else "開始時刻 / the drill's start",
    )


# --- the annual drill: many journals ---


@dataclass(frozen=True)
class RunSummary:
    label: str  # the journal's file name, or its scenario and start
    figures: DrillFigures

    @property
    def record(self) -> DrillRecord:
        return self.figures.record


@dataclass
class TownAggregate:
    town: str
    name: str
    outages: list[tuple[str, float, bool]] = field(default_factory=list)  # (run, worst outage ms, recovered)
    rto_pass: int = 0
    rto_fail: int = 0
    rto_no_data: int = 0

    @property
    def worst_ms(self) -> float | None:
        return max((ms for _, ms, _ in self.outages), default=None)

    @property
    def median_ms(self) -> float | None:
        return statistics.median(ms for _, ms, _ in self.outages) if self.outages else None

    @property
    def unrecovered(self) -> int:
        return sum(1 for _, _, recovered in self.outages if not recovered)

    @property
    def targets(self) -> Result:
        if self.rto_fail:
            return "fail"
        if self.rto_no_data or not self.rto_pass:
            return "no data"
        return "pass"


@dataclass(frozen=True)
class ScenarioSummary:
    scenario: str
    title_ja: str
    title_en: str
    runs: list[RunSummary]

    @property
    def real_runs(self) -> list[RunSummary]:
        return [run for run in self.runs if not run.record.dry_run]

    @property
    def verdict(self) -> Verdict:
        counted = self.real_runs or self.runs
        return worst_verdict([run.record.verdict for run in counted])

    @property
    def targets(self) -> Result:
        checks = [row.rto.result for run in self.real_runs for row in run.figures.rows]
        if not checks:
            return "no data"
        return "fail" if "fail" in checks else ("no data" if "no data" in checks else "pass")


@dataclass
class AnnualFigures:
    runs: list[RunSummary]
    scenarios: list[ScenarioSummary]
    towns: list[TownAggregate]
    observations: list[tuple[str, Observation]]  # (run label, observation)
    verdict: Verdict
    notes: list[str]

    @property
    def first(self) -> datetime:
        return min(run.record.started for run in self.runs)

    @property
    def last(self) -> datetime:
        return max(run.record.started for run in self.runs)


def annual_figures(
    journals: Sequence[tuple[str, Journal]], system_names: Mapping[str, str] | None = None
) -> AnnualFigures:
    """The annual drill over many journals, each with its label. A town's outage in one drill is its
    worst system's outage; worst and median are over the drills that were not dry runs and probed
    that town. Dry runs are listed but count toward no figure and no verdict (unless there is
    nothing else)."""
    if not journals:
        raise ValueError("the annual report needs at least one journal")
    runs = sorted(
        (RunSummary(label, drill_figures(journal, system_names)) for label, journal in journals),
        key=lambda run: run.record.started,
    )
    scenarios: dict[str, ScenarioSummary] = {}
    for run in runs:
        record = run.record
        scenarios.setdefault(record.scenario, ScenarioSummary(record.scenario, record.title_ja, record.title_en, []))
        scenarios[record.scenario].runs.append(run)

    towns: dict[str, TownAggregate] = {}
    for run in runs:
        for town in run.record.towns:
            towns.setdefault(town.id, TownAggregate(town.id, town.name))
        if run.record.dry_run:
            continue
        for outage in run.figures.towns:
            if outage.outage_ms is not None:
                towns[outage.town].outages.append((run.label, outage.outage_ms, outage.recovered))
        for row in run.figures.rows:
            aggregate = towns[row.town]
            if row.rto.result == "pass":
                aggregate.rto_pass += 1
            elif row.rto.result == "fail":
                aggregate.rto_fail += 1
            elif row.rto.result == "no data":
                aggregate.rto_no_data += 1

    observations = [(run.label, obs) for run in runs for obs in run.figures.observations]
    real = [run for run in runs if not run.record.dry_run]
    notes = []
    if not real:
        notes.append("全てリハーサル / every run was a dry run: no fault was injected, no outage was measured")
    elif len(real) < len(runs):
        notes.append(f"{len(runs) - len(real)} of {len(runs)} runs were dry runs: listed, not counted in the figures")
    verdict = worst_verdict([run.record.verdict for run in (real or runs)])
    counted = {run.label for run in (real or runs)}
    if verdict == "passed" and any(obs.source == "report" and label in counted for label, obs in observations):
        verdict = "passed with findings"
    return AnnualFigures(
        runs=runs,
        scenarios=list(scenarios.values()),
        towns=list(towns.values()),
        observations=observations,
        verdict=verdict,
        notes=notes,
    )
