"""The platform's policies (pulumi-policy / CrossGuard), built from the inventory's facts.

vSphere tags are referenced by opaque ids, so the stack policies resolve them the way the engine
lets them: a resource's `tags` depend on the Tag resources of its own stack (and each Tag on its
TagCategory), or come from a StackReference whose `tags` output maps 'category/name' to the id.
Property names are the engine's (camelCase), numbers may arrive as floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from inventory.loader import Inventory
from inventory.model.layers import TOWN_SEGMENTS, segment_layer
from inventory.model.systems import SystemClass

from ..naming import BACKUP, LAYER, SITE, SYSTEM, TIER, TOWN
from ..tags import LAYER_TAGS

VM = "vsphere:index/virtualMachine:VirtualMachine"
PORT_GROUP = "vsphere:index/distributedPortGroup:DistributedPortGroup"
TAG = "vsphere:index/tag:Tag"
TAG_CATEGORY = "vsphere:index/tagCategory:TagCategory"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
DATA_CENTER = "municloud:stacks:DataCenter"
TAGGED_TYPES = (
    "vsphere:index/folder:Folder",
    "vsphere:index/resourcePool:ResourcePool",
    PORT_GROUP,
    VM,
)


@dataclass(frozen=True)
class PolicyFacts:
    """What the policies need from the inventory."""

    required_systems: tuple[str, ...]  # ◎
    sites: tuple[str, ...]  # the data centers: dc1, dc2
    roles: tuple[str, ...]  # the business-system tiers every site runs: app, db
    backup_policies: tuple[str, ...]
    max_vcpu: int
    max_memory_gb: int
    max_disk_gb: int
    # Per town, its town hall's segments as port groups must be: sorted (layer tag, VLAN) pairs.
    town_segments: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)


def facts_from_inventory(inventory: Inventory) -> PolicyFacts:
    limits = inventory.vsphere.vm_limits
    b = inventory.vsphere.backup_policies
    return PolicyFacts(
        required_systems=tuple(s.id for s in inventory.systems if s.system_class == SystemClass.REQUIRED),
        sites=tuple(dc.id for dc in inventory.datacenters),
        roles=tuple(sorted({t.role for dc in inventory.datacenters for t in dc.server_tiers})),
        backup_policies=tuple(sorted({b.app, b.db, b.office})),
        max_vcpu=limits.max_vcpu,
        max_memory_gb=limits.max_memory_gb,
        max_disk_gb=limits.max_disk_gb,
        town_segments={
            t.id: tuple(sorted((LAYER_TAGS[segment_layer(s)], t.site.vlans[s]) for s in TOWN_SEGMENTS))
            for t in inventory.towns
        },
    )


def tag_keys(resource: PolicyResource, catalog: Mapping[str, str]) -> set[str]:
    """The 'category/name' of every tag on `resource`."""
    keys: set[str] = set()
    for tag in resource.property_dependencies.get("tags", []):
        if tag.resource_type != TAG:
            continue
        for category in tag.property_dependencies.get("categoryId", []):
            if category.resource_type == TAG_CATEGORY:
                keys.add(f"{category.props['name']}/{tag.props['name']}")
    for tag_id in resource.props.get("tags") or []:
        if tag_id in catalog:
            keys.add(catalog[tag_id])
    return keys


def referenced_tags(resources: Iterable[PolicyResource]) -> dict[str, str]:
    """Tag id -> 'category/name', from the `tags` output of every StackReference in the stack."""
    catalog: dict[str, str] = {}
    for r in resources:
        if r.resource_type == STACK_REFERENCE:
            for key, tag_id in ((r.props.get("outputs") or {}).get("tags") or {}).items():
                catalog[tag_id] = key
    return catalog


def _tagged(args: StackValidationArgs) -> list[tuple[PolicyResource, set[str]]]:
    catalog = referenced_tags(args.resources)
    return [(r, tag_keys(r, catalog)) for r in args.resources if r.resource_type in TAGGED_TYPES]


def _values(keys: set[str], category: str) -> set[str]:
    return {k.split("/", 1)[1] for k in keys if k.startswith(f"{category}/")}


def _town_and_tier(args: StackValidationArgs, report: ReportViolation) -> None:
    for r, keys in _tagged(args):
        for category in (TOWN, TIER):
            if not _values(keys, category):
                report(f"{r.name} ({r.resource_type.rsplit(':', 1)[-1]}) has no '{category}' tag", r.urn)


SEPARATED = ("resident-data", "lgwan", "internet")  # the layers no network or VM may join


def _three_layers(args: StackValidationArgs, report: ReportViolation) -> None:
    layer: dict[str, set[str]] = {}
    networks: dict[tuple[Any, Any], list[PolicyResource]] = defaultdict(list)
    for r, keys in _tagged(args):
        if r.resource_type == PORT_GROUP:
            layer[r.urn] = _values(keys, LAYER)
            networks[(r.props.get("distributedVirtualSwitchUuid"), r.props.get("vlanId"))].append(r)
    for (_, vlan), groups in networks.items():
        joined = _joined(set().union(*(layer[g.urn] for g in groups)))
        if joined:
            names = ", ".join(sorted(g.name for g in groups))
            report(f"{' and '.join(joined)} port groups share VLAN {_int(vlan)} on one switch: {names}", None)
    for r in args.resources:
        if r.resource_type != VM:
            continue
        attached = set().union(
            *(layer.get(pg.urn, set()) for pg in r.property_dependencies.get("networkInterfaces", []))
        )
        joined = _joined(attached)
        if joined:
            report(f"{r.name} has NICs on port groups of two layers: {' and '.join(joined)} (三層分離)", r.urn)


def _joined(layers: set[str]) -> list[str]:
    """The separated layers found together (nothing when at most one of them is there)."""
    found = [layer for layer in SEPARATED if layer in layers]
    return found if len(found) > 1 else []


def _town_segments(facts: PolicyFacts, args: StackValidationArgs, report: ReportViolation) -> None:
    """Each town's port groups are its town hall's segments as the inventory has them: one per
    segment, each on the segment's VLAN with its layer's tag, none missing, none more."""
    found: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for r, keys in _tagged(args):
        if r.resource_type != PORT_GROUP:
            continue
        for town in _values(keys, TOWN) & set(facts.town_segments):
            for layer in _values(keys, LAYER) or {"(no layer)"}:
                found[town].append((layer, _int(r.props.get("vlanId"))))
    for town, groups in sorted(found.items()):
        want, have = _segments_text(facts.town_segments[town]), _segments_text(groups)
        if want != have:
            report(f"town {town}'s port groups are {have}; the inventory's segments are {want}", None)


def _segments_text(pairs: Iterable[tuple[str, Any]]) -> str:
    """(layer, VLAN) pairs in one order (as text: a VLAN may be missing), as the message shows them."""
    return ", ".join(f"{layer} VLAN {vlan}" for layer, vlan in sorted(pairs, key=str))


def _unique_vlans(args: StackValidationArgs, report: ReportViolation) -> None:
    by_switch: dict[Any, dict[Any, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in args.resources:
        if r.resource_type == PORT_GROUP:
            by_switch[r.props.get("distributedVirtualSwitchUuid")][r.props.get("vlanId")].append(r.name)
    for switch, vlans in by_switch.items():
        for vlan, names in vlans.items():
            if len(names) > 1:
                report(f"VLAN {_int(vlan)} is used twice on switch {switch}: {', '.join(sorted(names))}", None)


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def build_policies(facts: PolicyFacts) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    def required_in_both_sites(args: StackValidationArgs, report: ReportViolation) -> None:
        if not any(r.resource_type == DATA_CENTER for r in args.resources):
            args.not_applicable("no data center in this stack")
        vms = [keys for r, keys in _tagged(args) if r.resource_type == VM]
        for system in facts.required_systems:
            for site in facts.sites:
                for role in facts.roles:
                    want = {f"{SYSTEM}/{system}", f"{SITE}/{site}", f"{TIER}/{role}"}
                    if not any(want <= keys for keys in vms):
                        report(f"◎ system {system} has no {role} VM in {site}", None)

    def backup_tag(args: StackValidationArgs, report: ReportViolation) -> None:
        for r, keys in _tagged(args):
            if r.resource_type == VM and not (_values(keys, BACKUP) & set(facts.backup_policies)):
                known = ", ".join(facts.backup_policies)
                report(f"VM {r.name} has no backup policy tag (one of {known})", r.urn)

    def vm_size(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != VM:
            return
        p = args.props
        disk_gb = sum(d.get("size") or 0 for d in p.get("disks") or [])
        for what, value, limit in (
            ("vCPUs", p.get("numCpus") or 0, facts.max_vcpu),
            ("memory (MB)", p.get("memory") or 0, facts.max_memory_gb * 1024),
            ("disk (GB)", disk_gb, facts.max_disk_gb),
        ):
            if value > limit:
                report(f"{args.name}: {what} {_int(value)} is above the limit {limit} (inventory vsphere.yaml)", None)

    mandatory = EnforcementLevel.MANDATORY
    return [
        StackValidationPolicy(
            name="town-and-tier-tags",
            description="Every folder, resource pool, port group and VM carries a town tag and a tier tag.",
            validate=_town_and_tier,
            enforcement_level=mandatory,
        ),
        StackValidationPolicy(
            name="three-layer-separation",
            description="Port groups of two layers (resident data, LGWAN, internet) never share a network, and no VM "
            "has NICs in two layers (三層分離).",
            validate=_three_layers,
            enforcement_level=mandatory,
        ),
        StackValidationPolicy(
            name="town-hall-segments",
            description="A town's port groups are its town hall's segments (三層分離) as the inventory has them: "
            "their VLANs and layers (towns.yaml site.vlans, segmentation.yaml).",
            validate=lambda args, report: _town_segments(facts, args, report),
            enforcement_level=mandatory,
        ),
        StackValidationPolicy(
            name="required-systems-in-both-sites",
            description="Every ◎ system has each of its tiers (app, db) in both data centers.",
            validate=required_in_both_sites,
            enforcement_level=mandatory,
        ),
        StackValidationPolicy(
            name="unique-vlan-per-switch",
            description="A VLAN id is used by one port group per distributed switch.",
            validate=_unique_vlans,
            enforcement_level=mandatory,
        ),
        StackValidationPolicy(
            name="vm-backup-policy-tag",
            description="Every VM carries a backup policy tag the backup product knows.",
            validate=backup_tag,
            enforcement_level=mandatory,
        ),
        ResourceValidationPolicy(
            name="vm-size-within-limits",
            description="A VM's vCPUs, memory and disk stay within the inventory's vSphere limits.",
            validate=vm_size,
            enforcement_level=mandatory,
        ),
    ]
