"""The small lab profile, derived from the shipped inventory, brought up for real.

Own prefix (`mcs`), state directory and management region, so it never touches a lab a developer
has up; taken down at the end even when a test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.address_plan import plan_addresses
from inventory.loader import load_inventory
from inventory.model.environment import Regions
from lab.derive import derive_topology, profile_towns
from lab.engine import Lab
from lab.topology import Topology

from .conftest import SampleLab, running_lab
from .system import lab_objects

PREFIX = "mcs"
STATE_DIR = Path("/var/lib/municloud/lab-test-small")

pytestmark = pytest.mark.lab


def _small_topology() -> Topology:
    inv = load_inventory()
    env = inv.environment("lab")
    env = env.model_copy(update={"regions": Regions(management="198.19.240.0/20")})
    plan = plan_addresses(env, inv.addressing, inv.towns, inv.datacenters, inv.wan.carrier.edges)
    topo = derive_topology(inv, plan, profile_towns(inv, "small"))
    return Topology.from_dict({**topo.to_dict(), "prefix": PREFIX, "mgmt_bridge": ""})


@pytest.fixture(scope="module")
def small_lab() -> Iterator[SampleLab]:
    yield from running_lab(STATE_DIR, _small_topology())


def test_small_profile_has_the_inventorys_shape(small_lab: SampleLab) -> None:
    topo = small_lab.topo
    assert {r.name for r in topo.routers} == {
        "kddi-pe1",
        "kddi-pe2",
        "dc1-edge",
        "dc2-edge",
        "ina-ce1",
        "ogose-ce1",
        "namegawa-ce1",
    }
    assert {c.name for c in topo.containers} >= {"dc1-app1", "dc1-db1", "dc2-app1", "dc2-db1", "ina-sv01"}


def test_every_router_answers_show_version_over_netmiko(small_lab: SampleLab) -> None:
    for router in small_lab.topo.routers:
        conn = small_lab.netmiko(router.name)
        try:
            output = conn.send_command("show version")
            assert "FRRouting" in output and f"({router.hostname})" in output, router.name
            assert conn.find_prompt() == f"{router.hostname}#"
        finally:
            conn.disconnect()


def test_every_container_runs_systemd_and_answers_ssh(small_lab: SampleLab) -> None:
    for container in small_lab.topo.containers:
        result = small_lab.ssh(container.name, "systemctl is-system-running --wait; hostname")
        assert result.stdout.split() == ["running", container.hostname], (container.name, result.stderr)


def test_status_sees_every_node_up(small_lab: SampleLab) -> None:
    status = small_lab.lab.status()
    assert status.all_up, [n.name for n in status.nodes if not n.up]


def test_down_leaves_nothing_of_the_small_lab() -> None:
    lab = Lab(state_dir=STATE_DIR, prefix=PREFIX)
    lab.down()
    assert lab_objects(PREFIX, STATE_DIR) == []
