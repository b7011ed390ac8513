"""`net apply` per region, without a lab: the changed routers grouped by region (the carrier and DC
edges in a group of their own, changed first), one canary per region chosen by the residents behind
it, a failed canary stopping its region and the whole change rolled back, and never more than the
allowed sessions in use at once through one carrier edge (counted by the fake routers themselves)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import network.apply as apply_module
from inventory.check import load_inventory
from network.apply import Applier, ApplyRefused, ApplyResult, Journal
from network.config import config_hash
from network.drivers.device import DeviceState
from network.fanout import SHARED, CanaryError, EdgeSlots, management_edges, region_groups, residents_behind
from network.plan import DevicePlan, Plan


@pytest.fixture(scope="module")
def inventory():
    return load_inventory()


@pytest.fixture(scope="module")
def binding(inventory):
    from inventory.environment import bind_environment

    return bind_environment(inventory, "lab", Path("/nonexistent"))


def _routers(binding) -> list[str]:
    return [r.name for r in binding.routers()]


# ---- grouping and canaries --------------------------------------------------------------------------------


def test_each_town_router_is_in_its_towns_region_and_the_edges_are_shared_and_first(inventory, binding) -> None:
    groups = region_groups(inventory, binding, _routers(binding))
    assert [g.region for g in groups] == [SHARED, *(r.id for r in inventory.regions)]
    assert set(groups[0].devices) == {"kddi-pe1", "kddi-pe2", "dc1-edge", "dc2-edge"}
    for group in groups[1:]:
        assert {inventory.town(binding.host(n).town).region for n in group.devices} == {group.region}
    every = [n for g in groups for n in g.devices]
    assert sorted(every) == sorted(_routers(binding))  # every router once
    hiki = next(g for g in groups if g.region == "hiki")
    assert hiki.name == "比企" and len(hiki.devices) == 7


def test_a_regions_canary_is_its_router_with_the_fewest_residents_whatever_the_order(inventory, binding) -> None:
    names = _routers(binding)
    expected = {
        SHARED: "dc2-edge",  # the backup site's edge: no resident's service crosses it (a tie with kddi-pe2)
        "kitaadachi": "ina-ce1",
        "iruma": "ogose-ce1",
        "hiki": "tokigawa-ce1",  # 12,403 residents, the fewest of 比企's seven
        "chichibu": "higashichichibu-ce1",  # 3,280
        "kodama": "misato-ce1",
        "osato": "yorii-ce1",
        "minamisaitama": "miyashiro-ce1",
    }
    for seed in range(5):
        random.Random(seed).shuffle(names)
        assert {g.region: g.canary for g in region_groups(inventory, binding, names)} == expected
    everyone = sum(inventory.town(t).population for t in binding.towns)
    assert (
        residents_behind(inventory, binding, "kddi-pe1") == residents_behind(inventory, binding, "dc1-edge") == everyone
    )
    assert residents_behind(inventory, binding, "kddi-pe2") == 0  # backup circuits only, DC2 the backup site
    # only the changed devices compete: without tokigawa, 鳩山町 (14,857) is 比企's canary
    hiki = ["ogawa-ce1", "hatoyama-ce1", "ranzan-ce1"]
    assert [g.canary for g in region_groups(inventory, binding, hiki)] == ["hatoyama-ce1"]


def test_an_explicit_canary_is_its_regions_and_two_in_one_region_are_refused(inventory, binding) -> None:
    names = _routers(binding)
    groups = {g.region: g for g in region_groups(inventory, binding, names, ["ogawa-ce1", "kddi-pe1"])}
    assert groups["hiki"].canary == "ogawa-ce1" and groups[SHARED].canary == "kddi-pe1"
    assert groups["chichibu"].canary == "higashichichibu-ce1"  # the others still chosen
    with pytest.raises(CanaryError, match="two canaries for region hiki"):
        region_groups(inventory, binding, names, ["ogawa-ce1", "ranzan-ce1"])
    with pytest.raises(CanaryError, match="not a changed device"):
        region_groups(inventory, binding, ["ina-ce1"], ["ogose-ce1"])


def test_a_town_routers_sessions_cross_both_its_circuits_edges_and_a_shared_ones_none(inventory, binding) -> None:
    edges = management_edges(inventory, binding)
    assert edges["ina-ce1"] == ("kddi-pe1", "kddi-pe2")
    assert edges["kddi-pe1"] == edges["dc1-edge"] == ()


def test_edge_slots_never_let_more_than_the_bound_through_one_edge() -> None:
    slots = EdgeSlots({f"ce{i}": ("pe1", "pe2") if i % 2 else ("pe2", "pe1") for i in range(12)}, per_edge=3)
    inside: dict[str, int] = defaultdict(int)
    peak: dict[str, int] = defaultdict(int)
    guard = threading.Lock()

    def session(name: str) -> None:
        with slots.hold(name):
            with guard:
                for edge in slots.edges_of[name]:
                    inside[edge] += 1
                    peak[edge] = max(peak[edge], inside[edge])
            time.sleep(0.01)
            with guard:
                for edge in slots.edges_of[name]:
                    inside[edge] -= 1

    threads = [threading.Thread(target=session, args=(f"ce{i}",)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)  # the edges taken in one order: no deadlock
    assert dict(peak) == {"pe1": 3, "pe2": 3} and slots.peak == {"pe1": 3, "pe2": 3}
    with pytest.raises(ValueError):
        EdgeSlots({}, per_edge=0)


# ---- a whole apply against fake routers -------------------------------------------------------------------


class Network:
    """What the fake routers share: the sessions in use per carrier edge (and the most at once), the
    order of the pushes, and which routers fail their post-checks."""

    def __init__(self, edges: dict[str, tuple[str, ...]], failing: set[str]) -> None:
        self.edges, self.failing = edges, failing
        self.in_use: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self.pushed: list[str] = []
        self.rolled_back: list[str] = []
        self._guard = threading.Lock()

    @contextmanager
    def session(self, name: str) -> Iterator[None]:
        """One command on `name`'s session: it crosses the router's carrier edges while it runs."""
        with self._guard:
            for edge in self.edges[name]:
                self.in_use[edge] += 1
                self.peak[edge] = max(self.peak[edge], self.in_use[edge])
        try:
            time.sleep(0.003)
            yield
        finally:
            with self._guard:
                for edge in self.edges[name]:
                    self.in_use[edge] -= 1


def _running(name: str) -> str:
    return f"hostname {name}\n"


class FakeRouter:
    supports_timed_revert = False

    def __init__(self, name: str, net: Network) -> None:
        self.name, self.net = name, net

    def __enter__(self) -> FakeRouter:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        with self.net.session(self.name):  # the log-in
            pass

    def close(self) -> None:
        pass

    def get_running_config(self) -> str:
        with self.net.session(self.name):
            return _running(self.name)

    def get_state(self) -> DeviceState:
        with self.net.session(self.name):
            return DeviceState()

    def push(self, commands: list[str]) -> str:
        with self.net.session(self.name):
            self.net.pushed.append(self.name)
            return ""

    def post_checks(self) -> list[str]:
        with self.net.session(self.name):
            return ["BGP session with kddi-pe1 down"] if self.name in self.net.failing else []

    def confirm(self) -> None:
        with self.net.session(self.name):
            pass

    def save(self) -> None:
        with self.net.session(self.name):
            pass


class FakeFleet:
    def __init__(self, binding, net: Network) -> None:
        self.binding, self.net = binding, net

    def driver(self, name: str) -> FakeRouter:
        return FakeRouter(name, self.net)

    @contextmanager
    def shared_server_connections(self) -> Iterator[None]:
        yield


@pytest.fixture
def change(inventory, binding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """change(failing=..., **options) -> (result, network): every router of the lab in one plan."""
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path))

    def healthy(drv, intent, converged, before, timeout):
        return drv.post_checks(), None

    def rollback(fleet, name, backup, reconnect_s=30.0, save=True):
        with fleet.driver(name) as drv:
            drv.get_running_config()
        fleet.net.rolled_back.append(name)
        return True, "restored from backup", []

    monkeypatch.setattr(apply_module, "wait_healthy", healthy)
    monkeypatch.setattr(apply_module, "rollback_device", rollback)
    monkeypatch.setattr(Applier, "_reachability", lambda self, towns: {})
    monkeypatch.setattr(Applier, "_reach_findings", lambda self, converged, only_town=None: [])

    def run(failing: set[str] = frozenset(), **options) -> tuple[ApplyResult, Network]:  # type: ignore[assignment]
        net = Network(management_edges(inventory, binding), set(failing))
        devices = [
            DevicePlan(
                r.name,
                "frr",
                r.role,
                r.town,
                config_hash("frr", _running(r.name)),
                "cfg",
                ["x"] * (60 if r.town else 300),
            )
            for r in binding.routers()
        ]
        plan = Plan("p", "now", "me", "lab", devices, override=True)
        result = Applier(plan, inventory, binding, fleet=FakeFleet(binding, net), **options).run()  # type: ignore[arg-type]
        return result, net

    return run


def _journal(result: ApplyResult) -> Journal:
    return Journal.load(apply_module.changes_dir() / f"{result.change_id}.json")


def test_the_shared_edges_go_first_then_each_regions_canary_then_its_others(change, inventory) -> None:
    result, net = change(workers=8)
    assert result.ok, {n: (r.status, r.detail) for n, r in result.results.items() if r.status != "applied"}
    shared = {"kddi-pe1", "kddi-pe2", "dc1-edge", "dc2-edge"}
    assert set(net.pushed[:4]) == shared and net.pushed[0] == "dc2-edge"  # the shared canary, alone first
    for region in result.regions.values():
        assert region.outcome == "applied" and region.canary_status == "applied"
        first = min(net.pushed.index(n) for n in region.devices)
        assert net.pushed[first] == region.canary  # nothing of the region before its canary
    assert result.canary == "dc2-edge" and result.regions["hiki"].canary == "tokigawa-ce1"
    journal = _journal(result).data
    assert journal["devices"]["tokigawa-ce1"]["region"] == "hiki" and journal["devices"]["kddi-pe1"]["region"] == SHARED
    assert journal["canaries"]["chichibu"] == "higashichichibu-ce1"
    assert journal["regions"]["hiki"] == "applied" and journal["status"] == "done"
    assert result.results["ogawa-ce1"].region == "hiki"


def test_sessions_through_a_carrier_edge_never_exceed_the_bound_whatever_the_workers(change) -> None:
    result, net = change(workers=16, sessions_per_edge=2)
    assert result.ok
    # every town router crosses both edges: the bound is reached, never passed, in every step
    assert dict(net.peak) == {"kddi-pe1": 2, "kddi-pe2": 2}
    result, net = change(workers=16, sessions_per_edge=5)
    assert result.ok and dict(net.peak) == {"kddi-pe1": 5, "kddi-pe2": 5}


def test_a_failed_canary_stops_its_region_and_the_change_is_rolled_back_whole(change) -> None:
    # one region at a time: 北足立 and 入間 applied, then 比企's canary fails
    result, net = change(failing={"tokigawa-ce1"}, workers=1)
    assert not result.ok
    hiki = result.regions["hiki"]
    assert (hiki.outcome, hiki.canary_status) == ("canary failed", "rolled-back")
    assert not set(hiki.devices[1:]) & set(net.pushed)  # its other devices never touched
    for name in hiki.devices[1:]:
        assert result.results[name].status == "skipped"
        assert "the canary tokigawa-ce1 of its region failed" in result.results[name].detail
    for region in ("chichibu", "kodama", "osato", "minamisaitama"):  # not started
        assert result.regions[region].outcome == "stopped"
        assert all(result.results[n].status == "skipped" for n in result.regions[region].devices)
    for region in (SHARED, "kitaadachi", "iruma"):  # applied, then undone with the rest
        assert result.regions[region].outcome == "rolled back with the rest"
        assert all(result.results[n].status == "rolled-back" for n in result.regions[region].devices)
    # exactly what was pushed is back (the canary by its own rollback, the rest after)
    assert sorted(set(net.pushed)) == sorted(set(net.rolled_back))
    journal = _journal(result).data
    assert journal["status"] == "rolled-back" and journal["regions"]["hiki"].startswith("canary failed")


def test_with_regions_in_parallel_a_failed_canary_still_leaves_nothing_changed(change) -> None:
    result, net = change(failing={"higashichichibu-ce1"}, workers=8)
    assert not result.ok and result.regions["chichibu"].outcome == "canary failed"
    chichibu = result.regions["chichibu"].devices
    assert not set(chichibu[1:]) & set(net.pushed)
    statuses = {r.status for r in result.results.values()}
    assert statuses <= {"rolled-back", "skipped"}, statuses
    assert sorted(set(net.pushed)) == sorted(set(net.rolled_back))


def test_a_failed_shared_canary_touches_no_town(change) -> None:
    result, net = change(failing={"dc2-edge"})
    assert not result.ok and net.pushed == ["dc2-edge"] and net.rolled_back == ["dc2-edge"]
    assert result.regions[SHARED].outcome == "canary failed"
    assert all(result.regions[r].outcome == "stopped" for r in result.regions if r != SHARED)


def test_two_canaries_in_one_region_are_refused_before_anything_is_touched(change) -> None:
    with pytest.raises(ApplyRefused, match="two canaries for region hiki"):
        change(canary=["ogawa-ce1", "ranzan-ce1"])
    result, net = change(canary=["ogawa-ce1"])
    assert result.ok and result.regions["hiki"].canary == "ogawa-ce1"
    hiki = result.regions["hiki"].devices
    assert min(net.pushed.index(n) for n in hiki) == net.pushed.index("ogawa-ce1")
