"""The policy pack: each policy on compliant and on violating resources, and every stack's whole
mocked program fed to every policy."""

from __future__ import annotations

import dataclasses

import pytest

from inventory.loader import Inventory
from stacks.mocked import MockedRun, run_mocked
from stacks.policy.offline import evaluate, policy_resources
from stacks.policy.rules import PolicyFacts, build_policies, facts_from_inventory


@pytest.fixture(scope="module")
def facts(inv: Inventory) -> PolicyFacts:
    return facts_from_inventory(inv)


def violations(run: MockedRun, facts: PolicyFacts, policy: str | None = None) -> list[str]:
    policies = [p for p in build_policies(facts) if policy in (None, p.name)]
    assert policies, policy
    return [f"{v.policy}: {v.message}" for v in evaluate(policies, policy_resources(run))]


def edit(run: MockedRun, name: str, **changes: object) -> MockedRun:
    """The run with one resource's properties changed, as a wrong program would have made it."""
    r = run.named(name)
    state = {**r.state, **changes}
    changed = dataclasses.replace(r, inputs=state, state=state)
    return dataclasses.replace(run, resources=[changed if x is r else x for x in run.resources])


def tag_id(run: MockedRun, key: str) -> str:
    return run.outputs["tags"][key]


def test_every_stack_of_the_program_passes_every_policy(inv: Inventory, references: dict, facts) -> None:
    for stack in ["prod-dc", "prod-wan", *(f"prod-{t.id}" for t in inv.towns)]:
        run = run_mocked(stack, inv, references)
        assert violations(run, facts) == [], stack


def test_town_and_tier_tags(inv: Inventory, facts) -> None:
    run = run_mocked("prod-dc", inv)
    vm = run.named("dc1-app1")
    without_town = [t for t in vm.state["tags"] if t != tag_id(run, "town/shared")]
    found = violations(edit(run, "dc1-app1", tags=without_town), facts, "town-and-tier-tags")
    assert found == ["town-and-tier-tags: dc1-app1 (VirtualMachine) has no 'town' tag"]
    pool = run.named("dc2-pool-ina")
    no_tier = [t for t in pool.state["tags"] if t != tag_id(run, "tier/tenant")]
    assert violations(edit(run, "dc2-pool-ina", tags=no_tier), facts, "town-and-tier-tags") == [
        "town-and-tier-tags: dc2-pool-ina (ResourcePool) has no 'tier' tag"
    ]


def test_three_layer_separation(inv: Inventory, facts) -> None:
    run = run_mocked("prod-dc", inv)
    assert violations(run, facts, "three-layer-separation") == []
    # The management port group made internet-facing and put on the app VLAN, next to resident data.
    mgmt = run.named("dc1-pg-management")
    tags = [t for t in mgmt.state["tags"] if t != tag_id(run, "layer/other")] + [tag_id(run, "layer/internet")]
    bad = edit(run, "dc1-pg-management", tags=tags, vlanId=110.0)
    found = violations(bad, facts, "three-layer-separation")
    assert any("resident-data and internet port groups share VLAN 110" in v for v in found)
    # Every DC VM has a NIC on management (now internet-facing) and one on a resident-data network.
    assert any("dc1-app1 has NICs on port groups of two layers: resident-data and internet" in v for v in found)


def test_a_town_halls_segments_stay_apart(inv: Inventory, references: dict, facts) -> None:
    run = run_mocked("prod-ina", inv, references)
    assert violations(run, facts, "three-layer-separation") == []
    assert {r.name for r in run.resources if r.type.endswith("DistributedPortGroup")} == {
        f"ina-pg-{s}" for s in ("lan", "mynumber", "lgwan", "internet")
    }
    # The LGWAN segment put on the マイナンバー segment's VLAN: two layers on one network.
    found = violations(edit(run, "ina-pg-lgwan", vlanId=20.0), facts, "three-layer-separation")
    assert found == [
        "three-layer-separation: resident-data and lgwan port groups share VLAN 20 on one switch: "
        "ina-pg-lgwan, ina-pg-mynumber"
    ]
    # A server with a second NIC on the LGWAN segment would bridge the layers.
    vm = run.named("ina-sv01")
    nics = [*vm.state["networkInterfaces"], {"networkId": run.named("ina-pg-lgwan").id}]
    found = violations(edit(run, "ina-sv01", networkInterfaces=nics), facts, "three-layer-separation")
    assert found == [
        "three-layer-separation: ina-sv01 has NICs on port groups of two layers: resident-data and lgwan (三層分離)"
    ]


def test_a_towns_port_groups_are_its_segments_as_the_inventory_has_them(inv: Inventory, references: dict, facts):
    run = run_mocked("prod-ina", inv, references)
    assert violations(run, facts, "town-hall-segments") == []
    found = violations(edit(run, "ina-pg-internet", vlanId=41.0), facts, "town-hall-segments")
    assert found == [
        "town-hall-segments: town ina's port groups are internet VLAN 41, lgwan VLAN 30, resident-data VLAN 10, "
        "resident-data VLAN 20; the inventory's segments are internet VLAN 40, lgwan VLAN 30, resident-data VLAN 10, "
        "resident-data VLAN 20"
    ]
    dc_tags = next(iter(references.values()))["tags"]
    pg = run.named("ina-pg-internet")
    relabelled = [t for t in pg.state["tags"] if t != dc_tags["layer/internet"]] + [dc_tags["layer/lgwan"]]
    found = violations(edit(run, "ina-pg-internet", tags=relabelled), facts, "town-hall-segments")
    assert len(found) == 1 and "lgwan VLAN 40" in found[0]
    missing = dataclasses.replace(run, resources=[r for r in run.resources if r.name != "ina-pg-internet"])
    assert len(violations(missing, facts, "town-hall-segments")) == 1


def test_required_systems_in_both_sites(inv: Inventory, facts) -> None:
    run = run_mocked("prod-dc", inv)
    vm = run.named("dc2-db1")
    without = [t for t in vm.state["tags"] if t != tag_id(run, "system/resident-registry")]
    found = violations(edit(run, "dc2-db1", tags=without), facts, "required-systems-in-both-sites")
    assert found == ["required-systems-in-both-sites: ◎ system resident-registry has no db VM in dc2"]
    # A site without its VMs at all: every ◎ system misses both tiers there.
    no_dc2 = dataclasses.replace(run, resources=[r for r in run.resources if not r.name.startswith("dc2-app")])
    missing = violations(no_dc2, facts, "required-systems-in-both-sites")
    assert len(missing) == len(facts.required_systems)


def test_required_systems_not_applicable_to_a_town(inv: Inventory, references: dict, facts) -> None:
    run = run_mocked("prod-ina", inv, references)
    assert violations(run, facts, "required-systems-in-both-sites") == []


def test_unique_vlan_per_switch(inv: Inventory, facts) -> None:
    run = run_mocked("prod-dc", inv)
    found = violations(edit(run, "dc1-pg-backup", vlanId=120.0), facts, "unique-vlan-per-switch")
    assert found == [
        "unique-vlan-per-switch: VLAN 120 is used twice on switch dvs-uuid-dc1-dvs: dc1-pg-backup, dc1-pg-db"
    ]
    # The same VLAN on the other site's switch is another network: allowed.
    assert violations(run, facts, "unique-vlan-per-switch") == []


def test_backup_policy_tag(inv: Inventory, references: dict, facts) -> None:
    run = run_mocked("prod-ina", inv, references)
    dc_tags = next(iter(references.values()))["tags"]
    vm = run.named("ina-sv01")
    without = [t for t in vm.state["tags"] if t != dc_tags["backup-policy/daily-30d"]]
    found = violations(edit(run, "ina-sv01", tags=without), facts, "vm-backup-policy-tag")
    assert found == [
        "vm-backup-policy-tag: VM ina-sv01 has no backup policy tag (one of daily-14d, daily-30d, hourly-7d)"
    ]


def test_vm_size_within_limits(inv: Inventory, facts) -> None:
    run = run_mocked("prod-dc", inv)
    big = edit(run, "dc1-db1", numCpus=64.0, memory=512 * 1024.0, disks=[{"label": "disk0", "size": 5000.0}])
    found = violations(big, facts, "vm-size-within-limits")
    assert found == [
        "vm-size-within-limits: dc1-db1: vCPUs 64 is above the limit 32 (inventory vsphere.yaml)",
        "vm-size-within-limits: dc1-db1: memory (MB) 524288 is above the limit 262144 (inventory vsphere.yaml)",
        "vm-size-within-limits: dc1-db1: disk (GB) 5000 is above the limit 4096 (inventory vsphere.yaml)",
    ]
