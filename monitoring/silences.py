"""Silences from the contract, the network changes and the drills: planned work pages nobody.

Three sources, each silencing exactly the alerts it causes (the alerts' `kind` label, monitoring/rules.py):

  maintenance:<window>@<date>    every occurrence of sla.yaml's maintenance windows. The window's minutes
      are excluded from the SLA, so what they cost must not page: the business systems' burn rate
      (`service`), the towns' probe data while the vendor patches their in-office servers
      (`probe-data`: no-data minutes inside the window do not count either), and a site switched over
      (`datacenter`). The model gives a window no scope (no town, no system): it covers every town.
      The carrier's circuits (`wan`) are not the vendor's maintenance (a router change has a change
      window and its own silence), and backups and certificates (`backup`, `certificate`) are not
      excused by a window: a backup missed or a certificate expiring still reaches the vendor.
  change-window:<window>@<plan>  an emergency-free `net apply`: the `wan` alerts of the towns whose routers
      it changes (a town's CE router, or a carrier edge its circuits end on), for the rest of the
      window. Only the circuits: minutes lost to a change are not excluded from the SLA (only
      maintenance windows are), so a service outage during a change is told as any other.
  drill:<scenario>@<run>         `drill run`: what the scenario's method does (DRILL_ALERT_KINDS: a
      circuit cut makes `wan` and `service` alerts, a site isolated `datacenter`, `service` and
      `backup`, a town's servers stopped `probe-data` ...), for the towns its faults reach (every town
      for `affects: all-towns`, else the towns chosen with --town) and every system they subscribe
      (a drill's faults take a town's whole service, never one system of it).

When a silence ends. An alert caused in a window's last minutes may only fire, or still be firing,
after the window: its rule waits `for:` before firing, and an expression over a range (the burn
rates' short windows: 5m to 6h) stays true up to that range after its cause ended. Each covered rule
therefore gets its own tail (`lingering`): `for:` + the range its expression looks back on + one
evaluation interval + Prometheus' resend delay, all read from the generated rules. One silence per
distinct tail: a 6-hour tail for the 3d/6h ticket must not hold back the 1h/5m page for 6 hours. An
alert still firing after its tail has outlived the work and is told (it is no longer the window's).
An alert that fired and resolved while silenced is never sent: Alertmanager sends a resolved
notification only to a receiver told of the alert firing.

Silences are Alertmanager's (its API, monitoring/alertmanager.py); municloud's are created by
`municloud` and say their source at the end of their comment, which `sync` matches them by. The
maintenance silences are synchronised (`sync_contract`, at `monitor up` and by `municloud alerts
silences --sync`) for each window's next occurrence and every occurrence in the next HORIZON, so that
each exists before its window starts; a `net apply` and a drill hold theirs while they run (`hold`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, MaintenanceWindow, contract_time_text
from network.windows import window_at

from .alertmanager import AlertmanagerAPI, AlertmanagerError
from .notices import drill_notice
from .rules import alerting_rules, seconds

if TYPE_CHECKING:
    from bcp_drills.drill import Drill
    from bcp_drills.scenario import Scenario
    from network.plan import Plan

CREATED_BY = "municloud"
MAINTENANCE = "maintenance:"
CHANGE_WINDOW = "change-window:"
DRILL = "drill:"
# Each recurring window's next occurrence is always silenced; beyond it, those starting within this.
# 35 days: the longest gap between two occurrences of a monthly n-th weekday (1st to 4th) is 5 weeks,
# so a sync at any moment holds the next one, and a sync a month later still finds it in place.
HORIZON = timedelta(days=35)
# How far ahead the next occurrence of a window is looked for (a monthly 5th weekday skips months).
LOOK_AHEAD = timedelta(days=400)
# Prometheus sends a firing alert again every resend delay (`--rules.alert.resend-delay`, default 1m:
# monitoring/tsdb_server.py sets no other), so a change in an alert reaches Alertmanager within it.
PROMETHEUS_RESEND_DELAY_S = 60
# A `net apply` in an environment changed at any time (the lab) has no window to end with: its
# silence is bounded by this, not sized by it. The apply replaces it with the rules' tails when it
# ends; the bound only limits how long an apply killed outright leaves the circuits silenced.
UNRESTRICTED_APPLY_BOUND = timedelta(hours=1)
TOWN_KINDS = ("service", "probe-data", "wan")  # alerts per town: scoped with a town matcher
MAINTENANCE_KINDS = ("service", "probe-data", "datacenter")
CHANGE_WINDOW_KINDS = ("wan",)
# What each activity of a drill's method may set off (bcp_drills/scenario.py ACTIVITY_KINDS; a unit
# test holds every activity to an entry). Checks, waits and manual steps set off nothing themselves.
DRILL_ALERT_KINDS: dict[str, tuple[str, ...]] = {
    "cut_circuits": ("wan", "service"),
    "restore_circuits": ("wan", "service"),
    "stop_carrier_edge": ("wan", "service"),
    "start_carrier_edge": ("wan", "service"),
    # a site cut off: the other site answers (datacenter), writes refused (service), and the WAL of
    # the remaining database waits for the lost site's repository (backup)
    "isolate_site": ("datacenter", "service", "backup"),
    "restore_site": ("datacenter", "service", "backup"),
    "stop_town_servers": ("probe-data",),
    "start_town_servers": ("probe-data",),
    "db_failover": ("datacenter", "service"),
    "db_failback": ("datacenter", "service"),
    "destroy_town_data": ("service",),
    "restore_town_before_incident": ("service",),
    "heal": (),
    "await_recovery": (),
    "await_probe_gap": (),
    "measure_rpo": (),
    "await_damage_on_standby": (),
    "measure_restore_rpo": (),
    "wait": (),
    "manual": (),
}
_SOURCE = re.compile(r"\(source: (\S+)\)$")


class NoAlertmanager(AlertmanagerError):
    """No Alertmanager runs for the environment (`municloud monitor up` starts it)."""

    def __init__(self, env: str) -> None:
        super().__init__(f"no Alertmanager runs for environment '{env}' (`municloud monitor up --env {env}` starts it)")
        self.env = env


@dataclass(frozen=True, order=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False

    @classmethod
    def any_of(cls, name: str, values: Iterable[str]) -> Matcher:
        listed = sorted(set(values))
        if len(listed) == 1:
            return cls(name, listed[0])
        # the values are slugs and names: only RE2's metacharacters need escaping ("-" is none)
        return cls(name, "|".join(re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", v) for v in listed), is_regex=True)

    def api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": True}

    def __str__(self) -> str:
        return f'{self.name}{"=~" if self.is_regex else "="}"{self.value}"'


@dataclass(frozen=True)
class CoveredRule:
    """An alerting rule, and how long after its cause ended it may still fire (seconds)."""

    alertname: str
    kind: str
    labels: dict[str, str]
    lingering: int


@dataclass(frozen=True)
class Coverage:
    """Alerts of `kinds`; of `towns` only, for the kinds that are per town (None: every town)."""

    kinds: tuple[str, ...]
    towns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SilenceSpec:
    source: str
    matchers: tuple[Matcher, ...]
    starts: datetime
    ends: datetime
    comment: str

    @property
    def key(self) -> tuple[str, tuple[Matcher, ...]]:
        return _key(self.source, self.matchers)

    def full_comment(self) -> str:
        return f"{self.comment} (source: {self.source})"


@dataclass(frozen=True)
class Silence:
    """One of municloud's silences as Alertmanager holds it."""

    id: str
    source: str
    matchers: tuple[Matcher, ...]
    starts: datetime
    ends: datetime
    state: str  # active | pending | expired
    comment: str

    @property
    def key(self) -> tuple[str, tuple[Matcher, ...]]:
        return _key(self.source, self.matchers)


def _key(source: str, matchers: tuple[Matcher, ...]) -> tuple[str, tuple[Matcher, ...]]:
    """What a silence is matched by between a spec and Alertmanager: its source and its matchers."""
    return source, tuple(sorted(matchers))


@dataclass
class SyncResult:
    created: list[SilenceSpec] = field(default_factory=list)
    kept: list[Silence] = field(default_factory=list)
    expired: list[Silence] = field(default_factory=list)


# ---- the rules, and how long each may outlast its cause ------------------------------------------


def covered_rules(inventory: Inventory, towns: list[str] | None = None) -> list[CoveredRule]:
    """Every alerting rule municloud generates, with its lingering (see the module's docstring)."""
    found = []
    for group in alerting_rules(inventory, towns)["groups"]:
        interval = seconds(group.get("interval", "1m"))
        for rule in group["rules"]:
            tail = seconds(rule.get("for", "0s")) + _lookback(rule["expr"]) + interval + PROMETHEUS_RESEND_DELAY_S
            labels = {k: str(v) for k, v in rule.get("labels", {}).items()}
            found.append(CoveredRule(rule["alert"], labels["kind"], labels, _whole_minutes(tail)))
    return found


def _lookback(expr: str) -> float:
    """How long `expr` can stay true after its cause ended: the range it reads (`[5m]`, or a recorded
    rate's window, `...:rate5m`). Of several ANDed the shortest clears it, of several ORed the longest.
    absent_over_time's range delays the alert instead of prolonging it: counted all the same, long."""
    found = re.findall(r"\[(\w+)\]|:rate(\w+)\b", expr)  # one group of the two matched in each pair
    ranges = [seconds(selector or recorded) for selector, recorded in found]
    if not ranges:
        return 0.0
    return max(ranges) if " or " in expr else min(ranges)


def _whole_minutes(value: float) -> int:
    return int(-(-value // 60) * 60)


def _group_matchers(members: list[CoveredRule], everyone: list[CoveredRule]) -> list[Matcher]:
    """The matchers that pick `members` out of `everyone` sharing their kinds: their alert names and,
    where a name stands for several rules (the burn rates' windows), the labels telling them apart."""
    names = sorted({r.alertname for r in members})
    matchers = [Matcher.any_of("alertname", names)]
    namesakes = [r for r in everyone if r.alertname in names]
    for key in sorted({k for r in namesakes for k in r.labels} - {"alertname", "kind", "town"}):
        wanted = {r.labels.get(key, "") for r in members}
        if wanted != {r.labels.get(key, "") for r in namesakes}:  # "" matches an alert without the label
            matchers.append(Matcher.any_of(key, wanted))
    return matchers


def _scope_matchers(kinds: Iterable[str], towns: tuple[str, ...] | None) -> list[Matcher]:
    matchers = [Matcher.any_of("kind", kinds)]
    if towns is not None:
        matchers.append(Matcher.any_of("town", towns))
    return matchers


def _parts(coverage: Coverage) -> list[tuple[tuple[str, ...], tuple[str, ...] | None]]:
    """`coverage` as silences can express it: the per-town kinds with their towns, the rest without."""
    per_town = tuple(k for k in coverage.kinds if k in TOWN_KINDS)
    whole = tuple(k for k in coverage.kinds if k not in TOWN_KINDS)
    if coverage.towns is None:
        return [(coverage.kinds, None)] if coverage.kinds else []
    return [(kinds, towns) for kinds, towns in ((per_town, coverage.towns), (whole, None)) if kinds]


def coverage_specs(
    rules: list[CoveredRule],
    coverage: list[Coverage],
    source: str,
    comment: str,
    starts: datetime,
    ends: datetime,
) -> list[SilenceSpec]:
    """Silences for `coverage` over [starts, ends), each group of rules with the same lingering
    silenced until `ends` + that lingering."""
    specs = []
    for part in coverage:
        if part.towns is not None and not part.towns:
            continue
        for kinds, towns in _parts(part):
            chosen = [r for r in rules if r.kind in kinds]
            for tail in sorted({r.lingering for r in chosen}):
                members = [r for r in chosen if r.lingering == tail]
                own_kinds = [k for k in kinds if any(r.kind == k for r in members)]
                matchers = (*_scope_matchers(own_kinds, towns), *_group_matchers(members, chosen))
                specs.append(SilenceSpec(source, matchers, starts, ends + timedelta(seconds=tail), comment))
    return specs


# ---- maintenance windows ------------------------------------------------------------------------


def occurrences_to_silence(
    window: MaintenanceWindow, now: datetime, horizon: timedelta = HORIZON, tails: timedelta = timedelta(0)
) -> list[tuple[datetime, datetime]]:
    """The occurrences of `window` (aware, Japan time) that get a silence at `now`: those under way or
    ended less than `tails` ago (their tail silences still run), the next one however far ahead, and
    every one starting within `horizon`. The model computes them (MaintenanceWindow.occurrences)."""
    local = now.astimezone(CONTRACT_TZ).replace(tzinfo=None)
    ahead = window.occurrences(local - tails, local + max(LOOK_AHEAD, horizon))
    upcoming = [s for s, _ in ahead if s >= local]
    chosen = [(s, e) for s, e in ahead if s < local + horizon or s == (upcoming or [None])[0]]
    return [(s.replace(tzinfo=CONTRACT_TZ), e.replace(tzinfo=CONTRACT_TZ)) for s, e in chosen]


def maintenance_specs(
    inventory: Inventory,
    now: datetime,
    horizon: timedelta = HORIZON,
    windows: list[MaintenanceWindow] | None = None,
) -> list[SilenceSpec]:
    """The silences of sla.yaml's maintenance windows (or `windows`) due at `now` (see
    occurrences_to_silence). An occurrence still under way, or whose tails are, is kept until its
    last tail ends."""
    rules = covered_rules(inventory)
    longest = timedelta(seconds=max((r.lingering for r in rules if r.kind in MAINTENANCE_KINDS), default=0))
    specs = []
    for window in inventory.sla.maintenance_windows if windows is None else windows:
        for start, end in occurrences_to_silence(window, now, horizon, tails=longest):
            source = f"{MAINTENANCE}{window.id}@{start:%Y-%m-%d}"
            comment = (
                f"保守時間帯「{window.name}」{contract_time_text(start)}〜{contract_time_text(end)} の通知停止 / "
                f"maintenance window {window.id}, {contract_time_text(start)} to {contract_time_text(end)} JST"
            )
            spans = coverage_specs(rules, [Coverage(MAINTENANCE_KINDS)], source, comment, start, end)
            specs += [s for s in spans if s.ends > now]
    return specs


# ---- Alertmanager ---------------------------------------------------------------------------------


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def municloud_silences(api: AlertmanagerAPI, include_expired: bool = False) -> list[Silence]:
    """municloud's silences (created by it, with a source), by start time."""
    found = []
    for item in api.silences():
        source = _SOURCE.search(item.get("comment", ""))
        state = item.get("status", {}).get("state", "")
        if item.get("createdBy") != CREATED_BY or source is None or (state == "expired" and not include_expired):
            continue
        matchers = tuple(
            Matcher(m["name"], m["value"], bool(m.get("isRegex"))) for m in item["matchers"] if m.get("isEqual", True)
        )
        found.append(
            Silence(
                item["id"],
                source.group(1),
                matchers,
                _parse_time(item["startsAt"]),
                _parse_time(item["endsAt"]),
                state,
                item.get("comment", ""),
            )
        )
    return sorted(found, key=lambda s: (s.starts, s.source, s.key))


def create(api: AlertmanagerAPI, spec: SilenceSpec) -> str:
    return api.create_silence([m.api() for m in spec.matchers], spec.starts, spec.ends, CREATED_BY, spec.full_comment())


def _same(silence: Silence, spec: SilenceSpec, now: datetime) -> bool:
    """Whether `silence` is what `spec` asks: the same end, and the same start unless both have begun
    (Alertmanager starts a silence created after its start at its creation)."""
    if abs((silence.ends - spec.ends).total_seconds()) >= 1:
        return False
    return abs((silence.starts - spec.starts).total_seconds()) < 1 or (spec.starts <= now and silence.starts <= now)


def sync(
    api: AlertmanagerAPI, specs: list[SilenceSpec], managed: tuple[str, ...], now: datetime | None = None
) -> SyncResult:
    """Make municloud's silences whose source starts with one of `managed` exactly `specs`: creates
    those missing, keeps those in place, expires those no spec asks for any more (a window removed or
    moved). Silences of other sources (a drill's, an apply's, an operator's) are left alone."""
    now = now or datetime.now(UTC)
    result = SyncResult()
    have: dict[tuple[str, tuple[Matcher, ...]], list[Silence]] = {}
    for silence in municloud_silences(api):
        if silence.source.startswith(managed):
            have.setdefault(silence.key, []).append(silence)
    wanted = {spec.key: spec for spec in specs if spec.ends > now}
    for key, spec in wanted.items():
        match = next((s for s in have.get(key, []) if _same(s, spec, now)), None)
        if match is not None:
            result.kept.append(match)
            have[key].remove(match)
        else:
            create(api, spec)
            result.created.append(spec)
    for silence in (s for left in have.values() for s in left):
        api.expire_silence(silence.id)
        result.expired.append(silence)
    return result


def api_for(env: str) -> AlertmanagerAPI:
    """The API of the environment's Alertmanager; NoAlertmanager when `monitor up` runs none."""
    from .server import alertmanager_url  # the process record; imported here, where it is asked

    url = alertmanager_url(env)
    if url is None:
        raise NoAlertmanager(env)
    return AlertmanagerAPI(url)


def sync_contract(
    inventory: Inventory, env: str, api: AlertmanagerAPI | None = None, now: datetime | None = None
) -> SyncResult:
    """The maintenance windows' silences in the environment's Alertmanager (`monitor up` calls it once
    Alertmanager is ready; `municloud alerts silences --sync`). NoAlertmanager when none runs,
    AlertmanagerError when it refuses."""
    api = api or api_for(env)
    now = now or datetime.now(UTC)
    return sync(api, maintenance_specs(inventory, now), (MAINTENANCE,), now)


# ---- silences held while something runs (a drill, a net apply) -----------------------------------


def _record(silence_id: str, spec: SilenceSpec) -> dict[str, Any]:
    return {
        "id": silence_id,
        "matchers": [str(m) for m in spec.matchers],
        "starts": spec.starts.astimezone(CONTRACT_TZ).isoformat(),
        "ends": spec.ends.astimezone(CONTRACT_TZ).isoformat(),
    }


@contextmanager
def hold(
    api: AlertmanagerAPI | None,
    rules: list[CoveredRule],
    coverage: list[Coverage],
    source: str,
    comment: str,
    until: datetime,
    notice: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Iterator[dict[str, Any]]:
    """Silence `coverage` while the body runs; yields the record of it (for a journal).

    Entering: one silence per part of the coverage, from now to `until` plus the longest lingering
    (the bound if the process dies: it then ends by itself). Leaving, however the body ends (an
    exception, Ctrl-C): those are expired (`removed_at`) and replaced by the rules' tails from that
    moment (`tails`: each ends by itself, its lingering later), so what the body's last minutes cause
    is not sent. Without an Alertmanager (`api` None) or when it refuses, the body runs all the same
    and the record says why nothing was silenced: a silence never stops the work it is for."""
    record: dict[str, Any] = {"source": source}
    if api is None:
        record["status"] = "no Alertmanager"
        yield record
        return
    record["alertmanager"] = api.url
    start = now()
    longest = max((r.lingering for r in rules if any(r.kind in c.kinds for c in coverage)), default=0)
    held: list[dict[str, Any]] = []
    try:
        for spec in _hold_specs(coverage, source, comment, start, until + timedelta(seconds=longest)):
            held.append({**_record(create(api, spec), spec), "removed_at": None})
        record["status"] = "silenced" if held else "nothing to silence"
    except AlertmanagerError as error:
        record["status"] = f"not silenced: {error}"
        notice(f"alerts not silenced ({source}): {error}")
    record["silences"] = held
    try:
        yield record
    finally:
        if held:
            _release(api, rules, coverage, source, comment, held, record, now(), notice)


def _hold_specs(
    coverage: list[Coverage], source: str, comment: str, starts: datetime, ends: datetime
) -> list[SilenceSpec]:
    return [
        SilenceSpec(source, tuple(_scope_matchers(kinds, towns)), starts, ends, comment)
        for part in coverage
        if part.towns is None or part.towns
        for kinds, towns in _parts(part)
    ]


def _release(
    api: AlertmanagerAPI,
    rules: list[CoveredRule],
    coverage: list[Coverage],
    source: str,
    comment: str,
    held: list[dict[str, Any]],
    record: dict[str, Any],
    moment: datetime,
    notice: Callable[[str], None],
) -> None:
    tails = []
    try:  # the tails first: no moment without a silence between the hold and its tails
        for spec in coverage_specs(rules, coverage, source, comment, moment, moment):
            tails.append(_record(create(api, spec), spec))
    except AlertmanagerError as error:
        notice(f"the tail silences of {source} could not be created: {error}")
    record["tails"] = tails
    for item in held:
        try:
            api.expire_silence(item["id"])
            item["removed_at"] = moment.astimezone(CONTRACT_TZ).isoformat()
        except AlertmanagerError as error:
            notice(
                f"silence {item['id']} ({source}) could not be removed; it ends by itself at {item['ends']}: {error}"
            )


def _api_or_notice(env: str, what: str, notice: Callable[[str], None]) -> AlertmanagerAPI | None:
    try:
        return api_for(env)
    except NoAlertmanager as error:
        notice(f"{what}: nothing silenced, {error}")
        return None


# ---- drills ---------------------------------------------------------------------------------------


def drill_coverage(scenario: Scenario, towns: list[str], selected: list[str]) -> list[Coverage]:
    """What a drill of `scenario` silences: the kinds its method's activities set off (its rollbacks do
    what the method undoes), for the towns its faults reach."""
    kinds = tuple(dict.fromkeys(k for step in scenario.method + scenario.rollbacks for k in DRILL_ALERT_KINDS[step.do]))
    reached = towns if scenario.affects == "all-towns" else selected
    return [Coverage(kinds, tuple(reached))] if kinds else []


def drill_silence(drill: Drill, notice: Callable[[str], None]) -> Any:
    """The silence `drill run` holds for the drill (bcp_drills.runner.run_drill's `silence`): from
    before the probes to after the rollbacks, at most the scenario's duration, and the notice that
    tells the towns it reaches, the vendor and the secretariat that it runs and when it ended; their
    record goes into the journal as municloud.silence (the notice's as its `notice`)."""
    scenario = drill.scenario
    source = f"{DRILL}{scenario.name}@{drill.out_dir.name}"
    comment = f"BCP訓練「{scenario.title.ja}」の通知停止 / BCP drill {scenario.name} ({scenario.title.en})"
    coverage = drill_coverage(scenario, list(drill.towns), list(drill.selected))
    api = _api_or_notice(drill.binding.name, f"drill {scenario.name}", notice)
    until = datetime.now(UTC) + timedelta(seconds=scenario.max_duration_seconds)
    reached = sorted({town for part in coverage for town in part.towns or ()})
    return _silenced_and_told(
        hold(api, covered_rules(drill.inventory), coverage, source, comment, until, notice),
        drill_notice(api, scenario.name, scenario.title.ja, reached, source, until, notice),
    )


@contextmanager
def _silenced_and_told(
    silence: AbstractContextManager[dict[str, Any]], told: AbstractContextManager[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The drill's silence, and inside it its notice (monitoring/notices.py): the journal's one record."""
    with silence as record, told as notice_record:
        record["notice"] = notice_record
        yield record


# ---- network changes ------------------------------------------------------------------------------


def changed_towns(inventory: Inventory, plan: Plan) -> list[str]:
    """The towns whose circuits a plan's changes touch: a town's CE router, or a carrier edge (PE)
    one of its circuits ends on. A data-center edge carries no town's circuit."""
    edges = {e.name: e.id for e in inventory.wan.carrier.edges}
    touched: set[str] = set()
    for device in plan.changed:
        if device.town:
            touched.add(device.town)
        edge = edges.get(device.name, device.name if device.role == "pe" else None)
        for town in inventory.towns:
            if edge in (town.circuits.primary.carrier_edge, town.circuits.backup.carrier_edge):
                touched.add(town.id)
    return sorted(touched)


def change_silence(
    inventory: Inventory,
    env: str,
    plan: Plan,
    emergency: bool,
    notice: Callable[[str], None],
    now: datetime | None = None,
) -> Any:
    """The silence `net apply` holds while it changes the routers: the changed towns' WAN alerts until
    the change window's end (an environment changed at any time: UNRESTRICTED_APPLY_BOUND), replaced
    by the rules' tails when the apply ends. An emergency change is not silenced (it is nobody's plan
    that the circuits go down), nor one outside every window (the apply refuses it)."""
    now = now or datetime.now(UTC)
    towns = changed_towns(inventory, plan)
    control = inventory.wan.change_control
    inside = window_at(inventory, now)
    if emergency or not towns:
        return _nothing()
    if env in control.unrestricted_environments:
        window_id, until = "unrestricted", now + UNRESTRICTED_APPLY_BOUND
    elif inside is not None:
        window_id, until = inside.window.id, inside.end.replace(tzinfo=CONTRACT_TZ)
    else:
        return _nothing()
    source = f"{CHANGE_WINDOW}{window_id}@{plan.id}"
    comment = f"ネットワーク変更 (変更枠 {window_id}) の通知停止 / network change in window {window_id}, plan {plan.id}"
    api = _api_or_notice(env, f"net apply {plan.id}", notice)
    return hold(
        api, covered_rules(inventory), [Coverage(CHANGE_WINDOW_KINDS, tuple(towns))], source, comment, until, notice
    )


@contextmanager
def _nothing() -> Iterator[dict[str, Any]]:
    yield {}
