"""An apply's reuse of connections, without a lab: one session per router kept for the change (a
failed one replaced), one shared SSH connection per town server (closed at the end), and the order
in which the devices after the canary are changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from network.apply import Applier
from network.drivers.device import DeviceError
from network.fanout import region_groups
from network.fleet import Fleet
from network.plan import DevicePlan, Plan
from network.sessions import Sessions


class FakeDriver:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def open(self) -> None:
        self.log.append(f"open {self.name}")

    def close(self) -> None:
        self.log.append(f"close {self.name}")


class FakeSource:
    def __init__(self) -> None:
        self.log: list[str] = []

    def driver(self, name: str) -> FakeDriver:
        return FakeDriver(name, self.log)


def test_a_session_is_opened_once_and_kept_for_every_use() -> None:
    source = FakeSource()
    with Sessions(source) as sessions:  # type: ignore[arg-type]
        for _ in range(3):
            with sessions.use("r1") as a, sessions.use("r2") as b:
                assert (a.name, b.name) == ("r1", "r2")
        assert source.log == ["open r1", "open r2"]
    assert sorted(source.log[2:]) == ["close r1", "close r2"]


def test_a_session_that_failed_is_closed_and_the_next_use_logs_in_again() -> None:
    source = FakeSource()
    sessions = Sessions(source)  # type: ignore[arg-type]
    with sessions.use("r1") as first:
        pass
    with pytest.raises(DeviceError), sessions.use("r1"):
        raise DeviceError("the router went away")
    assert source.log == ["open r1", "close r1"]
    with sessions.use("r1") as second:
        assert second is not first
    assert source.log == ["open r1", "close r1", "open r1"]
    sessions.close()
    assert source.log[-1] == "close r1"


@pytest.fixture(scope="module")
def lab_binding():
    return bind_environment(load_inventory(), "lab", Path("/nonexistent"))


def test_probes_share_one_ssh_connection_per_server_inside_and_it_is_closed_after(lab_binding, monkeypatch) -> None:
    calls: list[list[str]] = []

    def run(args: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="198.18.0.1 ok\n", stderr="")

    monkeypatch.setattr(subprocess, "run", run)
    fleet = Fleet(lab_binding)
    server = fleet.town_probe("ina")
    assert server is not None
    assert fleet.reach_from(server, []) == {}
    assert not any("ControlMaster" in arg for arg in calls[-1])  # alone: a connection of its own
    with fleet.shared_server_connections():
        for _ in range(2):
            fleet.reach_from(server, [])
        control = [arg for arg in calls[-1] if arg.startswith("ControlPath=")]
        assert control and "ControlMaster=auto" in calls[-1]
        directory = Path(control[0].removeprefix("ControlPath=")).parent
        assert directory.is_dir()
    closing = calls[-1]
    assert closing[closing.index("-O") + 1] == "exit" and closing[-1] == f"{server.ssh_user}@{server.mgmt_address}"
    assert len(calls) == 4 and not directory.exists()


def test_after_the_canary_the_longest_pushes_start_first(lab_binding) -> None:
    inventory = load_inventory()
    devices = [
        DevicePlan("ina-ce1", "frr", "ce", "ina", "h", "cfg", ["x"] * 60),
        DevicePlan("kddi-pe1", "frr", "pe", None, "h", "cfg", ["x"] * 380),
        DevicePlan("dc1-edge", "frr", "dc", None, "h", "cfg", ["x"] * 90),
        DevicePlan("ogose-ce1", "frr", "ce", "ogose", "h", "cfg", ["x"] * 61),
    ]
    applier = Applier(Plan("p", "now", "me", "lab", devices), inventory, lab_binding)
    # the canaries: one per region, the shared group's first (tests/unit/test_network_regions.py)
    groups = region_groups(inventory, lab_binding, [d.name for d in devices])
    assert [(g.region, g.canary) for g in groups] == [
        ("shared", "dc1-edge"),
        ("kitaadachi", "ina-ce1"),
        ("iruma", "ogose-ce1"),
    ]
    assert applier._longest_first(["ina-ce1", "kddi-pe1", "dc1-edge", "ogose-ce1"]) == [
        "kddi-pe1",
        "dc1-edge",
        "ogose-ce1",
        "ina-ce1",
    ]
