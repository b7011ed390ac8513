"""The execution nodes (exec-1 ...): the environment's count, their names (one source with the scale
plan), their management addresses after the core nodes', the binding's nodes (kept out of its hosts),
and the lab's management-only containers for them."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest
from pydantic import ValidationError

from inventory import address_plan
from inventory.address_plan import PlanError, plan_problems
from inventory.check import load_inventory
from inventory.environment import BindingFile, BoundHostOverride, bind_environment, plan_for, write_binding
from inventory.model.environment import EnvironmentConfig, execution_node_name, execution_node_names
from lab.binding import lab_binding
from lab.derive import derive_topology, profile_towns
from lab.home import LabHome
from lab.state import LabState
from lab.topology import ContainerSpec, Topology, TopologyError, sample_topology
from provisioning.sharding import Node


@pytest.fixture(scope="module")
def inv():
    return load_inventory()


def _with_nodes(inv, env: str, count: int) -> EnvironmentConfig:
    return inv.environment(env).model_copy(update={"execution_nodes": count})


def test_the_names_are_the_scale_plans() -> None:
    assert execution_node_names(3) == ["exec-1", "exec-2", "exec-3"] and execution_node_names(0) == []
    assert [Node(i).name for i in (1, 2, 3)] == execution_node_names(3) and execution_node_name(7) == "exec-7"


def test_the_shipped_environments(inv) -> None:
    assert inv.environment("lab").execution_nodes == 2
    assert inv.environment("prod").execution_nodes == 0


@pytest.mark.parametrize("count", [-1, 33])
def test_the_count_is_bounded(inv, count: int) -> None:
    data = inv.environment("lab").model_dump(mode="json")
    with pytest.raises(ValidationError, match="execution_nodes"):
        EnvironmentConfig.model_validate({**data, "execution_nodes": count})


def test_no_nodes_no_addresses(inv) -> None:
    plan = plan_for(inv, _with_nodes(inv, "prod", 0))
    assert plan.execution_nodes == () and not any(name.startswith("exec-") for name in plan.mgmt)


@pytest.mark.parametrize("env", ["lab", "prod"])
def test_nodes_follow_the_core_nodes_and_move_no_address(inv, env: str) -> None:
    before = plan_for(inv, _with_nodes(inv, env, 0))
    after = plan_for(inv, _with_nodes(inv, env, 32))
    for name, address in before.mgmt.items():
        assert after.mgmt[name] == address, name
    assert after.towns == before.towns
    assert after.execution_nodes == tuple(execution_node_names(32))
    first_town = min(int(t.management.network_address) for t in after.towns.values())
    core_last = max(int(a.ip) for a in before.mgmt.values() if int(a.ip) < first_town)
    nodes = [int(after.mgmt[n].ip) for n in after.execution_nodes]
    assert nodes == list(range(core_last + 1, core_last + 33)) and nodes[-1] < first_town
    assert plan_problems(after, inv.environment(env).kind) == []
    assert len({a.ip for a in after.mgmt.values()} | {after.ops_address.ip}) == len(after.mgmt) + 1


def test_too_many_nodes_for_the_core_management_slots(inv, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_for(inv, _with_nodes(inv, "lab", 0))
    first_town = min(t.management.network_address for t in plan.towns.values())
    core = sum(1 for a in plan.mgmt.values() if a.ip < first_town)
    # fewer core slots (whole town slots): room for `room` nodes beside the core nodes, not one more
    town_slot = 2 ** (32 - inv.addressing.management_per_town_prefix)
    slots = -(-(core + 3) // town_slot) * town_slot
    room = slots - 3 - core
    monkeypatch.setattr(address_plan, "CORE_MGMT_SLOTS", slots)
    assert len(plan_for(inv, _with_nodes(inv, "lab", room)).execution_nodes) == room
    with pytest.raises(PlanError, match=f"{room + 1} execution nodes do not fit") as refused:
        plan_for(inv, _with_nodes(inv, "lab", room + 1))
    assert refused.value.subject == ("environment", "execution_nodes")


def test_the_binding_holds_the_nodes_apart_from_its_hosts(inv, tmp_path: Path) -> None:
    path = tmp_path / "binding.yaml"
    pinned = "ssh-ed25519 AAAAexec1"
    hosts = {"exec-1": BoundHostOverride(mgmt_address=IPv4Address("198.18.0.250"), host_key=pinned)}
    write_binding(path, BindingFile(environment="lab", towns=["ina"], hosts=hosts))
    binding = bind_environment(inv, "lab", path)
    assert [n.name for n in binding.execution_nodes] == ["exec-1", "exec-2"]
    assert not any(h.name.startswith("exec-") for h in binding.hosts)
    assert all(h.kind != "node" for h in (*binding.servers(), *binding.routers()))
    one, two = binding.execution_node("exec-1"), binding.execution_node("exec-2")
    assert (one.kind, one.role, one.site, one.town, one.data_address, one.platform) == (
        "node",
        "execution-node",
        "operations",
        None,
        None,
        None,
    )
    assert one.mgmt_address == IPv4Address("198.18.0.250") and one.host_key == pinned  # the file's first
    assert two.mgmt_address == binding.plan.mgmt["exec-2"].ip and two.host_key is None  # else the plan's
    assert one.ssh_user == two.ssh_user == binding.config.ssh.server_user
    with pytest.raises(KeyError, match="no execution node 'exec-3' in environment 'lab' \\(its nodes: exec-1"):
        binding.execution_node("exec-3")
    with pytest.raises(KeyError, match="no host 'exec-1'"):
        binding.host("exec-1")


def test_an_environment_without_nodes_says_so(inv) -> None:
    binding = bind_environment(inv, "prod", Path("/nonexistent/binding.yaml"))
    assert binding.execution_nodes == ()
    with pytest.raises(KeyError, match="it has none"):
        binding.execution_node("exec-1")


# ---- the lab ---------------------------------------------------------------------------------------


def _node(name: str = "exec-1", mgmt: str = "198.18.201.200/24", **kw) -> ContainerSpec:
    return ContainerSpec(name, name, mgmt, kw.pop("lan", None), kw.pop("address", None), **kw)


def test_a_management_only_container_is_valid_and_round_trips() -> None:
    base = sample_topology("mcu", "198.18.201.0/24")
    topo = Topology(**{**base.__dict__, "containers": (*base.containers, _node(site="operations"))})
    topo.validate()
    back = Topology.from_dict(topo.to_dict())
    assert back == topo and back.container("exec-1").management_only and back.container("exec-1").address is None
    assert not back.container("t1-srv").management_only


def test_a_container_with_a_lan_and_no_address_is_refused() -> None:
    base = sample_topology("mcu", "198.18.201.0/24")
    topo = Topology(**{**base.__dict__, "containers": (*base.containers, _node(lan="t1-lan"))})
    with pytest.raises(TopologyError, match="exec-1: give both a LAN and its address, or neither"):
        topo.validate()


def test_a_management_only_containers_config_has_eth0_alone(tmp_path: Path, monkeypatch) -> None:
    from lab import containers as ct
    from lab.base_image import BaseImage

    base = sample_topology("mcu", "198.18.201.0/24")
    topo = Topology(**{**base.__dict__, "containers": (*base.containers, _node())})
    monkeypatch.setattr(ct, "LXC_PATH", tmp_path / "lxc")
    maker = ct.Containers(LabState(tmp_path / "state"), topo, tmp_path / "keys", "http://198.18.201.1:3142")
    image = BaseImage(tmp_path / "rootfs", "x", None)
    node = maker._config(topo.container("exec-1"), image, tmp_path / "lxc" / "mcu-exec-1")
    server = maker._config(topo.container("t1-srv"), image, tmp_path / "lxc" / "mcu-t1-srv")
    assert "lxc.net.0.ipv4.address = 198.18.201.200/24" in node
    assert "lxc.net.1" not in node and "gateway" not in node
    assert "lxc.net.1.ipv4.gateway = 198.19.1.1" in server
    cdir = tmp_path / "hooks"
    cdir.mkdir()
    maker._hooks(topo.container("exec-1"), cdir)
    assert sorted(p.name for p in cdir.iterdir()) == ["mgmt-up"]


def test_the_derived_lab_has_the_nodes_on_the_management_network(inv) -> None:
    plan = plan_for(inv, inv.environment("lab"))
    topo = derive_topology(inv, plan, profile_towns(inv, "small"))
    nodes = [c for c in topo.containers if c.role == "execution-node"]
    assert [c.name for c in nodes] == ["exec-1", "exec-2"]
    for c in nodes:
        assert c.management_only and c.site == "operations" and c.mgmt_address == plan.mgmt[c.name]
        assert c.mgmt_address.network == topo.mgmt_subnet
    none = derive_topology(inv, plan_for(inv, _with_nodes(inv, "lab", 0)), profile_towns(inv, "small"))
    assert not any(c.role == "execution-node" for c in none.containers)


def test_the_lab_binding_reaches_the_nodes(inv, tmp_path: Path) -> None:
    topo = derive_topology(inv, plan_for(inv, inv.environment("lab")), profile_towns(inv, "small"))
    LabState(tmp_path).set("topology", topo.to_dict())
    file = lab_binding(LabHome(tmp_path, prefix="mcx"), [t.id for t in profile_towns(inv, "small")])
    path = tmp_path / "binding.yaml"
    write_binding(path, file)
    binding = bind_environment(inv, "lab", path)
    assert file.hosts["exec-2"].mgmt_address == topo.container("exec-2").mgmt_address.ip
    assert binding.execution_node("exec-2").mgmt_address == topo.container("exec-2").mgmt_address.ip
