"""The components under Pulumi's mocks (preview=False, so every output is known and checked)."""

from __future__ import annotations

import dataclasses

import pytest

from inventory.environment import environment_plan
from inventory.loader import Inventory
from stacks.mocked import STACK_REFERENCE, MockedRun, run_mocked
from stacks.naming import StackId
from stacks.wan import WanInvalid, wan_problems

VM = "vsphere:index/virtualMachine:VirtualMachine"
FOLDER = "vsphere:index/folder:Folder"
POOL = "vsphere:index/resourcePool:ResourcePool"
PG = "vsphere:index/distributedPortGroup:DistributedPortGroup"
TAG = "vsphere:index/tag:Tag"


@pytest.fixture
def dc_run(inv: Inventory) -> MockedRun:
    return run_mocked("prod-dc", inv)


def test_dc_has_both_sites_with_tenants_pools_port_groups(inv: Inventory, dc_run: MockedRun) -> None:
    towns = len(inv.towns)
    for dc in inv.datacenters:
        folders = [r for r in dc_run.of_type(FOLDER) if r.name.startswith(f"{dc.id}-")]
        pools = [r for r in dc_run.of_type(POOL) if r.name.startswith(f"{dc.id}-")]
        groups = {r.inputs["name"]: r.inputs for r in dc_run.of_type(PG) if r.name.startswith(f"{dc.id}-")}
        assert len(folders) == 3 + towns
        assert sorted(r.inputs["name"] for r in pools) == sorted(f"tenant-{t.id}" for t in inv.towns)
        paths = {r.inputs["path"] for r in folders}
        assert {f"municloud/tenants/{t.id}" for t in inv.towns} <= paths
        assert {name: int(g["vlanId"]) for name, g in groups.items()} == {
            f"{dc.id}-{n.id}": n.vlan for n in dc.networks
        }
        assert {g["distributedVirtualSwitchUuid"] for g in groups.values()} == {
            f"dvs-uuid-{inv.vsphere.sites[dc.id].switch}"
        }


def test_dc_vms_sized_named_and_addressed_from_the_inventory(inv: Inventory, dc_run: MockedRun) -> None:
    plan = environment_plan(inv, "prod")
    vms = {r.name: r.inputs for r in dc_run.of_type(VM)}
    expected = {n for dc in inv.datacenters for n, _role in dc.servers()}
    assert set(vms) == expected == {"dc1-app1", "dc1-db1", "dc1-backup1", "dc2-app1", "dc2-db1", "dc2-backup1"}
    for dc in inv.datacenters:
        for tier in dc.server_tiers:
            for name in dc.server_names(tier.role):
                vm = vms[name]
                assert (vm["numCpus"], vm["memory"], vm["disks"][0]["size"]) == (
                    tier.vcpu,
                    tier.memory_gb * 1024,
                    tier.disk_gb,
                )
                nics = vm["clone"]["customize"]["networkInterfaces"]
                assert nics[0]["ipv4Address"] == str(plan.mgmt[name].ip)
                assert nics[1]["ipv4Address"] == str(plan.dc_hosts[name].ip)
    # The database NICs: management, db, replication, backup (its WAL archive); DC2 is DC1's standby.
    assert [n["networkId"] for n in vms["dc2-db1"]["networkInterfaces"]] == [
        "DistributedPortGroup-dc2-pg-management-id",
        "DistributedPortGroup-dc2-pg-db-id",
        "DistributedPortGroup-dc2-pg-replication-id",
        "DistributedPortGroup-dc2-pg-backup-id",
    ]
    assert [n["networkId"] for n in vms["dc1-backup1"]["networkInterfaces"]] == [
        "DistributedPortGroup-dc1-pg-management-id",
        "DistributedPortGroup-dc1-pg-backup-id",
    ]
    assert "standby of dc1-db1" in vms["dc2-db1"]["annotation"]
    assert dc_run.outputs["hosts"]["dc2-db1"]["standby_of"] == "dc1-db1"


def test_dc_vm_tags(inv: Inventory, dc_run: MockedRun) -> None:
    tags = dc_run.outputs["tags"]
    key_of = {v: k for k, v in tags.items()}
    vm = dc_run.named("dc2-db1").inputs
    keys = {key_of[t] for t in vm["tags"]}
    assert {"town/shared", "site/dc2", "tier/db", f"backup-policy/{inv.vsphere.backup_policies.db}"} <= keys
    assert "system/resident-registry" in keys
    # Every town has a town tag; the town stacks look them up in this output.
    assert {f"town/{t.id}" for t in inv.towns} <= set(tags)


def test_dc_follows_the_inventory(inv: Inventory) -> None:
    dc1 = inv.datacenters[0]
    bigger = dc1.model_copy(update={"server_tiers": [t.model_copy(update={"count": 2}) for t in dc1.server_tiers]})
    changed = dataclasses.replace(inv, datacenters=(bigger, inv.datacenters[1]))
    run = run_mocked("prod-dc", changed)
    assert {"dc1-app2", "dc1-db2"} <= {r.name for r in run.of_type(VM)}


def test_wan_exports_circuits_and_plan(inv: Inventory) -> None:
    run = run_mocked("prod-wan", inv)
    circuits = run.outputs["circuits"]
    assert set(circuits) == {t.id for t in inv.towns}
    ina = inv.town("ina")
    assert circuits["ina"]["primary"]["id"] == ina.circuits.primary.id
    assert circuits["ina"]["primary"]["pe"] == "kddi-pe1" and circuits["ina"]["backup"]["pe"] == "kddi-pe2"
    plan = environment_plan(inv, "prod")
    assert circuits["ina"]["backup"]["subnet"] == str(plan.towns["ina"].backup.network)
    assert run.outputs["address_plan"]["towns"]["ina"]["lan"] == str(plan.towns["ina"].lan)
    assert run.outputs["routers"]["ina-ce1"]["platform"] == ina.router.platform


def test_wan_refuses_circuits_that_disagree(inv: Inventory) -> None:
    ina = inv.town("ina")
    same_edge = ina.model_copy(
        update={
            "circuits": ina.circuits.model_copy(update={"backup": ina.circuits.primary.model_copy(update={"id": "X"})})
        }
    )
    broken = dataclasses.replace(inv, towns=(same_edge, *inv.towns[1:]))
    problems = wan_problems(broken, environment_plan(broken, "prod"))
    assert any("both circuits land on pe1" in p for p in problems)
    with pytest.raises(WanInvalid, match="both circuits land on pe1"):
        run_mocked("prod-wan", broken)


def test_town_stack_servers_records_and_references(inv: Inventory, references: dict) -> None:
    run = run_mocked("prod-ina", inv, references)
    ina = inv.town("ina")
    refs = sorted(r.inputs["name"] for r in run.of_type(STACK_REFERENCE))
    assert refs == [StackId("prod", "dc").reference(), StackId("prod", "wan").reference()]
    vms = {r.name: r.inputs for r in run.of_type(VM)}
    assert set(vms) == {s.name for s in ina.servers}
    wan_plan = references[StackId("prod", "wan").reference()]["address_plan"]["towns"]["ina"]
    dc_tags = references[StackId("prod", "dc").reference()]["tags"]
    for s in ina.servers:
        vm = vms[s.name]
        assert vm["hostSystemId"] == f"host-{inv.vsphere.town_site.name('host', 'ina')}"
        assert (vm["numCpus"], vm["memory"]) == (s.vcpu, s.memory_gb * 1024)
        assert (
            vm["clone"]["customize"]["networkInterfaces"][0]["ipv4Address"] == wan_plan["servers"][s.name].split("/")[0]
        )
        assert set(vm["tags"]) == {
            dc_tags[k] for k in ("town/ina", "tier/office", "site/office", "backup-policy/daily-30d")
        }
    records = run.outputs["records"]
    peripherals = ina.clients.printers + ina.clients.multifunction + ina.clients.scanners
    assert sum(len(scope["reservations"]) for scope in records["dhcp"].values()) == peripherals
    assert sum(scope["pcs"] for scope in records["dhcp"].values()) == ina.clients.pcs
    for layer, scope in records["dhcp"].items():  # every PC of a segment gets a lease in its own scope
        assert scope["pool"]["size"] >= scope["pcs"], layer
        assert scope["subnet"] == wan_plan["segments"][layer]["network"]
    assert len(records["dns"]) == peripherals + len(ina.servers)
    assert records["dns"][0]["fqdn"] == "ina-sv01.ina.municloud.example"
    mgmt = references[StackId("prod", "wan").reference()]["address_plan"]["mgmt"]
    assert run.outputs["servers"]["ina-sv01"]["mgmt_address"] == mgmt["ina-sv01"].split("/")[0]


def test_town_stack_needs_the_wan_outputs(inv: Inventory, references: dict) -> None:
    only_dc = {k: v for k, v in references.items() if k.endswith("prod-dc")}
    with pytest.raises(Exception, match="prod-wan"):
        run_mocked("prod-ogose", inv, only_dc)


def test_every_stack_has_its_config_file(inv: Inventory) -> None:
    from stacks.automation.runner import REPO

    files = {p.name for p in (REPO / "stacks" / "config").glob("Pulumi.*.yaml")}
    assert files == {f"Pulumi.prod-{s}.yaml" for s in ["dc", "wan", *(t.id for t in inv.towns)]}
