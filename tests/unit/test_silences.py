"""Silences from the contract's maintenance windows, the network's change windows and the drills
(monitoring/silences.py): the specs each kind of window gives (dates, horizon, matchers, the tails
after a window, read from the rules), and a real Alertmanager (Debian's) on loopback proving that
sync creates them once, that they silence exactly the alerts they cover, that a window removed loses
its silences, and that a drill's silence is removed when the drill fails."""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bcp_drills.scenario import ACTIVITY_KINDS, scenarios
from inventory.check import load_inventory
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ, MaintenanceWindow
from monitoring import silences
from monitoring.alertmanager import AlertmanagerAPI, api_time
from monitoring.rules import BURN_ALERTS
from monitoring.silences import Coverage, Matcher
from network.plan import DevicePlan, Plan
from network.windows import window_at
from toolkit.processes import wait_until

JST = CONTRACT_TZ


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory()


def _window(**fields: Any) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"id": "w", "name": "保守 (test)", **fields})


def _by_source(specs: list[silences.SilenceSpec]) -> dict[str, list[silences.SilenceSpec]]:
    found: dict[str, list[silences.SilenceSpec]] = {}
    for spec in specs:
        found.setdefault(spec.source, []).append(spec)
    return found


# ---- the rules' tails ---------------------------------------------------------------------------


def test_each_burn_alert_lingers_its_for_and_its_short_window(inventory: Inventory) -> None:
    rules = {(r.alertname, r.labels.get("window")): r for r in silences.covered_rules(inventory)}
    for severity, long, short, _ in BURN_ALERTS:
        rule = rules[(f"MunicloudErrorBudgetBurn{severity.capitalize()}", f"{long}/{short}")]
        waits = 120 if severity == "page" else 900  # the rules' `for:`
        expected = waits + silences.seconds(short) + 30 + silences.PROMETHEUS_RESEND_DELAY_S
        assert rule.lingering == math.ceil(expected / 60) * 60
    # an instant condition: its `for:`, one evaluation and the resend delay (1m + 30 s + 1m -> 3 min)
    assert rules[("MunicloudDataCenterNotServing", None)].lingering == 180


def test_prometheus_durations() -> None:
    assert silences.seconds("90s") == 90
    assert silences.seconds("1h30m") == 5400
    assert silences.seconds("3d") == 259200
    with pytest.raises(ValueError):
        silences.seconds("5 minutes")


# ---- maintenance windows ------------------------------------------------------------------------


def test_the_monthly_window_on_the_third_sunday_with_a_tail_per_rule(inventory: Inventory) -> None:
    now = datetime(2027, 1, 10, 12, 0, tzinfo=JST)
    specs = _by_source(silences.maintenance_specs(inventory, now))
    monthly = specs["maintenance:monthly-patch@2027-01-17"]  # the 3rd Sunday of January 2027
    assert {s.starts for s in monthly} == {datetime(2027, 1, 17, 1, 0, tzinfo=JST)}
    window_end = datetime(2027, 1, 17, 5, 0, tzinfo=JST)
    rules = silences.covered_rules(inventory)
    ends = {s.ends - window_end for s in monthly}
    assert ends == {timedelta(seconds=r.lingering) for r in rules if r.kind in silences.MAINTENANCE_KINDS}
    page = next(s for s in monthly if Matcher("window", "1h/5m") in s.matchers)
    assert page.ends == window_end + timedelta(minutes=9)  # 2m for + 5m + 30 s evaluation + 1m resend
    assert Matcher("alertname", "MunicloudErrorBudgetBurnPage") in page.matchers
    assert Matcher("kind", "service") in page.matchers
    # no town matcher: sla.yaml's windows have no scope, they cover every town
    assert not any(m.name == "town" for s in monthly for m in s.matchers)
    covered = {m.value for s in monthly for m in s.matchers if m.name == "kind"}
    assert "wan" not in "|".join(covered) and "backup" not in "|".join(covered)
    assert "[" not in page.comment and "monthly-patch" in page.comment and "保守時間帯" in page.comment
    # February's (the 21st) starts beyond the 35 days: not yet
    assert "maintenance:monthly-patch@2027-02-21" not in specs


def test_the_once_window_is_silenced_ahead_and_dropped_once_over(inventory: Inventory) -> None:
    ahead = _by_source(silences.maintenance_specs(inventory, datetime(2027, 1, 10, tzinfo=JST)))
    once = ahead["maintenance:fy-end-update-2027@2027-03-27"]  # 76 days ahead: the next occurrence
    assert {s.starts for s in once} == {datetime(2027, 3, 27, 18, 0, tzinfo=JST)}
    longest = max(s.ends for s in once)
    assert longest == datetime(2027, 3, 28, 18, 0, tzinfo=JST) + timedelta(minutes=377)  # the 3d/6h ticket's tail
    during_tail = _by_source(silences.maintenance_specs(inventory, longest - timedelta(minutes=1)))
    assert [len(during_tail["maintenance:fy-end-update-2027@2027-03-27"])] == [1]  # only the longest tail left
    after = silences.maintenance_specs(inventory, longest + timedelta(seconds=1))
    assert not any(s.source.startswith("maintenance:fy-end-update-2027") for s in after)


def test_horizon_edges() -> None:
    weekly = _window(recurrence="weekly", weekday="sun", start="01:00", end="05:00")
    now = datetime(2027, 1, 3, 0, 0, tzinfo=JST)  # a Sunday, an hour before its window
    starts = [s for s, _ in silences.occurrences_to_silence(weekly, now, timedelta(days=14))]
    assert starts == [datetime(2027, 1, 3, 1, tzinfo=JST), datetime(2027, 1, 10, 1, tzinfo=JST)]
    # an occurrence starting exactly at the horizon's end is not in it
    edge = datetime(2027, 1, 3, 1, tzinfo=JST)
    starts = [s for s, _ in silences.occurrences_to_silence(weekly, edge, timedelta(days=7))]
    assert starts == [edge]
    # under way: kept (its silence starts in the past, Alertmanager starts it at once), and the next one
    during = silences.occurrences_to_silence(weekly, datetime(2027, 1, 3, 4, 59, tzinfo=JST), timedelta(days=1))
    assert [s for s, _ in during] == [edge, datetime(2027, 1, 10, 1, tzinfo=JST)]
    # a 5th Sunday skips months: the next one is silenced however far beyond the horizon
    fifth = _window(recurrence="monthly", weekday="sun", nth=5, start="01:00", end="05:00")
    (start, _), *_ = silences.occurrences_to_silence(fifth, datetime(2027, 2, 1, tzinfo=JST), timedelta(days=35))
    assert start == datetime(2027, 5, 30, 1, tzinfo=JST)


# ---- drills and network changes -----------------------------------------------------------------


def test_every_drill_activity_says_what_it_sets_off() -> None:
    assert set(silences.DRILL_ALERT_KINDS) == set(ACTIVITY_KINDS)


def test_a_drill_silences_its_towns_and_the_site_wide_alerts_apart(inventory: Inventory) -> None:
    found = scenarios()
    towns = ["ina", "miyoshi", "yorii"]
    cut = silences.drill_coverage(found["wan-primary-circuit-loss"], towns, ["ina"])
    assert cut == [Coverage(("wan", "service"), ("ina",))]
    dc = silences.drill_coverage(found["dc-site-loss"], towns, ["ina"])  # affects every town
    assert dc == [Coverage(("datacenter", "service", "backup"), tuple(towns))]
    rules = silences.covered_rules(inventory)
    start = datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    specs = silences.coverage_specs(rules, dc, "drill:dc-site-loss@x", "訓練 / drill", start, start)
    per_town = [s for s in specs if any(m.name == "town" for m in s.matchers)]
    assert {m for s in per_town for m in s.matchers if m.name == "town"} == {Matcher.any_of("town", towns)}
    assert {m.value for s in per_town for m in s.matchers if m.name == "kind"} == {"service"}
    site_wide = [s for s in specs if s not in per_town]
    assert {m.value for s in site_wide for m in s.matchers if m.name == "kind"} == {"datacenter", "backup"}
    server = silences.drill_coverage(found["town-server-loss"], towns, ["yorii"])  # affects: none
    assert server == [Coverage(("probe-data",), ("yorii",))]


def test_a_change_silences_the_wan_alerts_of_the_towns_it_touches(inventory: Inventory) -> None:
    town = inventory.towns[0]
    edge = next(e for e in inventory.wan.carrier.edges if e.id == inventory.towns[1].circuits.primary.carrier_edge)

    def plan(*devices: DevicePlan) -> Plan:
        return Plan("p1", "now", "me", "prod", list(devices))

    ce = DevicePlan(town.router.name, "frr", "ce", town.id, remediation=["x"])
    assert silences.changed_towns(inventory, plan(ce)) == [town.id]
    unchanged = DevicePlan(town.router.name, "frr", "ce", town.id)
    assert silences.changed_towns(inventory, plan(unchanged)) == []
    pe = DevicePlan(edge.name, "frr", "pe", None, remediation=["x"])
    on_edge = {
        t.id for t in inventory.towns if edge.id in (t.circuits.primary.carrier_edge, t.circuits.backup.carrier_edge)
    }
    assert set(silences.changed_towns(inventory, plan(pe))) == on_edge


def test_a_change_is_silenced_until_its_window_ends_and_never_an_emergency(inventory: Inventory, monkeypatch) -> None:
    town = inventory.towns[0]
    the_plan = Plan("p1", "now", "me", "prod", [DevicePlan(town.router.name, "frr", "ce", town.id, remediation=["x"])])
    tuesday_night = datetime(2027, 1, 12, 23, 30, tzinfo=JST)
    inside = window_at(inventory, tuesday_night)
    assert inside is not None and inside.window.id == "weekday-night"
    assert inside.end == datetime(2027, 1, 13, 0, 0)
    assert window_at(inventory, datetime(2027, 1, 12, 12, 0, tzinfo=JST)) is None
    fake = _RecordingAPI()
    monkeypatch.setattr(silences, "api_for", lambda env: fake)
    with silences.change_silence(inventory, "prod", the_plan, False, print, now=tuesday_night) as record:
        assert record["source"] == "change-window:weekday-night@p1"
    (held,) = [c for c in fake.created if c["comment"].startswith("ネットワーク変更")][:1]
    assert held["matchers"] == [Matcher("kind", "wan").api(), Matcher("town", town.id).api()]
    # the hold lasts to the window's end plus the WAN alerts' longest tail (the circuit's 2m + 30 s + 1m)
    assert held["ends"] == datetime(2027, 1, 13, 0, 4, tzinfo=JST)
    assert fake.expired == [record["silences"][0]["id"]]
    fake.created.clear()
    with silences.change_silence(inventory, "prod", the_plan, True, print, now=tuesday_night) as record:
        assert record == {}
    noon = datetime(2027, 1, 12, 12, 0, tzinfo=JST)
    with silences.change_silence(inventory, "prod", the_plan, False, print, now=noon) as record:
        assert record == {}
    assert fake.created == []


class _RecordingAPI:
    url = "http://127.0.0.1:0"

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.expired: list[str] = []

    def create_silence(self, matchers, starts, ends, created_by, comment) -> str:  # type: ignore[no-untyped-def]
        self.created.append({"matchers": matchers, "starts": starts, "ends": ends, "comment": comment})
        return f"s{len(self.created)}"

    def expire_silence(self, silence_id: str) -> None:
        self.expired.append(silence_id)


def test_without_alertmanager_the_drill_runs_and_says_so_once(inventory: Inventory, monkeypatch) -> None:
    def none(env: str) -> AlertmanagerAPI:
        raise silences.NoAlertmanager(env)

    monkeypatch.setattr(silences, "api_for", none)
    notices: list[str] = []
    drill = _drill(inventory, "wan-primary-circuit-loss", Path("/nonexistent/20270110-120000-x"))
    ran = []
    with silences.drill_silence(drill, notices.append) as record:  # type: ignore[arg-type]
        ran.append(True)
    assert ran == [True]
    assert record["status"] == "no Alertmanager"
    assert len(notices) == 1 and "no Alertmanager" in notices[0]


def _drill(inventory: Inventory, scenario: str, out_dir: Path) -> SimpleNamespace:
    towns = [t.id for t in inventory.towns[:3]]
    return SimpleNamespace(
        scenario=scenarios()[scenario],
        inventory=inventory,
        binding=SimpleNamespace(name="lab"),
        towns=towns,
        selected=towns[:1],
        out_dir=out_dir,
    )


# ---- a real Alertmanager ------------------------------------------------------------------------

needs_alertmanager = pytest.mark.skipif(
    not shutil.which("prometheus-alertmanager"), reason="needs Debian's prometheus-alertmanager"
)
MINIMAL_CONFIG = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerAPI]:
    """Debian's Alertmanager on a free loopback port, clustering off, its data in tmp_path; stopped by
    the pid it was started with."""
    config = tmp_path / "alertmanager.yml"
    config.write_text(MINIMAL_CONFIG)
    port = _free_port()
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        api = AlertmanagerAPI(f"http://127.0.0.1:{port}")
        assert wait_until(api.ready, 30, 0.2), log.read_text()
        yield api
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _post(api: AlertmanagerAPI, labels: dict[str, str]) -> None:
    now = datetime.now(UTC)
    api.post_alerts(
        [
            {
                "labels": labels,
                "annotations": {"summary": "test"},
                "startsAt": api_time(now - timedelta(minutes=1)),
                "endsAt": api_time(now + timedelta(minutes=10)),
                "generatorURL": "http://127.0.0.1:9090/graph",
            }
        ]
    )


def _state(api: AlertmanagerAPI, alertname: str) -> dict[str, Any]:
    """The alert's status once Alertmanager holds it."""
    found: list[dict[str, Any]] = []

    def held() -> bool:
        found[:] = [a for a in api.alerts() if a["labels"]["alertname"] == alertname]
        return bool(found)

    assert wait_until(held, 10, 0.1), f"{alertname} never arrived"
    return found[0]["status"]


@needs_alertmanager
def test_sync_silences_exactly_the_covered_alerts_once(inventory: Inventory, alertmanager: AlertmanagerAPI) -> None:
    now = datetime.now(UTC)
    tonight = _window(
        id="tonight",
        recurrence="once",
        starts_at=(now - timedelta(minutes=10)).isoformat(),
        ends_at=(now + timedelta(hours=1)).isoformat(),
    )
    monthly = inventory.sla.maintenance_windows[0]
    specs = silences.maintenance_specs(inventory, now, windows=[tonight, monthly])
    first = silences.sync(alertmanager, specs, (silences.MAINTENANCE,), now)
    assert len(first.created) == len(specs) and not first.kept and not first.expired
    held = silences.municloud_silences(alertmanager)
    assert {s.key for s in held} == {s.key for s in specs}
    assert {s.state for s in held if s.source.startswith("maintenance:tonight@")} == {"active"}

    # a service alert of a town is silenced by tonight's window; a backup alert is not covered
    town = inventory.towns[0].id
    page = {
        "alertname": "MunicloudErrorBudgetBurnPage",
        "kind": "service",
        "town": town,
        "system": "juki",
        "tier": inventory.sla.tiers[0].id,
        "severity": "page",
        "window": "1h/5m",
    }
    _post(alertmanager, page)
    _post(alertmanager, {"alertname": "MunicloudBackupTooOld", "kind": "backup", "site": "dc1", "severity": "page"})
    status = _state(alertmanager, "MunicloudErrorBudgetBurnPage")
    assert status["state"] == "suppressed"
    (silenced_by,) = status["silencedBy"]
    assert next(s for s in held if s.id == silenced_by).source.startswith("maintenance:tonight@")
    backup = _state(alertmanager, "MunicloudBackupTooOld")
    assert backup["state"] == "active" and backup["silencedBy"] == []

    # again: nothing new
    again = silences.sync(alertmanager, specs, (silences.MAINTENANCE,), datetime.now(UTC))
    assert not again.created and not again.expired and len(again.kept) == len(specs)
    assert len(silences.municloud_silences(alertmanager)) == len(specs)

    # an operator's silence and a drill's are not the contract's: a sync leaves them alone
    drill = silences.SilenceSpec("drill:x@1", (Matcher("kind", "wan"),), now, now + timedelta(hours=1), "drill")
    silences.create(alertmanager, drill)
    # tonight's window removed from the contract: its silences are expired, the monthly ones kept
    removed = silences.sync(
        alertmanager, silences.maintenance_specs(inventory, now, windows=[monthly]), (silences.MAINTENANCE,), now
    )
    assert {s.source for s in removed.expired} == {f"maintenance:tonight@{now.astimezone(JST):%Y-%m-%d}"}
    assert not removed.created
    left = silences.municloud_silences(alertmanager)
    assert not any(s.source.startswith("maintenance:tonight") for s in left)
    assert any(s.source == "drill:x@1" for s in left)
    assert wait_until(lambda: _state(alertmanager, "MunicloudErrorBudgetBurnPage")["state"] == "active", 10, 0.2)


@needs_alertmanager
def test_a_drill_silence_is_removed_when_the_drill_fails(
    inventory: Inventory, alertmanager: AlertmanagerAPI, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(silences, "api_for", lambda env: alertmanager)
    drill = _drill(inventory, "wan-primary-circuit-loss", tmp_path / "20270110-120000-wan-primary-circuit-loss")
    town = drill.selected[0]
    circuit = {"alertname": "MunicloudWanCircuitDown", "kind": "wan", "town": town, "circuit": "primary"}
    notices: list[str] = []
    with pytest.raises(RuntimeError, match="the method failed"):  # noqa: SIM117
        with silences.drill_silence(drill, notices.append) as record:  # type: ignore[arg-type]
            _post(alertmanager, circuit)
            assert _state(alertmanager, "MunicloudWanCircuitDown")["state"] == "suppressed"
            raise RuntimeError("the method failed")
    assert notices == []
    (held,) = record["silences"]
    assert record["source"] == "drill:wan-primary-circuit-loss@20270110-120000-wan-primary-circuit-loss"
    assert held["removed_at"] is not None
    assert set(held["matchers"]) == {'kind=~"service|wan"', f'town="{town}"'}
    states = {s.id: s.state for s in silences.municloud_silences(alertmanager, include_expired=True)}
    assert states[held["id"]] == "expired"
    # the tails (each rule's lingering from the drill's end) are what is left, and still hold the circuit's alert
    tails = {t["id"] for t in record["tails"]}
    assert tails and all(states[t] == "active" for t in tails)
    time.sleep(0.2)
    assert _state(alertmanager, "MunicloudWanCircuitDown")["silencedBy"][0] in tails
