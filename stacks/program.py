"""The Pulumi program: picks the stack's component from its name and exports what others read.

`prod-dc` -> TagCatalog + a DataCenter per site; `prod-wan` -> WideAreaNetwork;
`prod-<town>` -> Municipality. The vCenter comes from the inventory; its user and password from
stack config (`municloud:vsphereUser`, secret `municloud:vspherePassword`) or, when unset, from
the provider's own VSPHERE_USER / VSPHERE_PASSWORD environment variables.
"""

from __future__ import annotations

import pulumi
import pulumi_vsphere as vsphere

from inventory.check import load_inventory
from inventory.environment import environment_plan
from inventory.loader import Inventory

from .datacenter import DataCenter
from .municipality import Municipality
from .naming import DC_SCOPE, WAN_SCOPE, StackId, parse_stack
from .tags import TagCatalog
from .wan import WideAreaNetwork


def vcenter(inventory: Inventory) -> vsphere.Provider:
    config = pulumi.Config("municloud")
    return vsphere.Provider(
        "vcenter",
        vsphere.ProviderArgs(
            vsphere_server=inventory.vsphere.vcenter,
            user=config.get("vsphereUser"),
            password=config.get_secret("vspherePassword"),
            allow_unverified_ssl=False,  # the vCenter's certificate is verified, always
        ),
    )


def build_dc(stack: StackId, inventory: Inventory) -> None:
    plan = environment_plan(inventory, stack.env)
    opts = pulumi.ResourceOptions(providers=[vcenter(inventory)])
    tags = TagCatalog("tags", inventory, opts)
    sites = {dc.id: DataCenter(dc.id, dc, inventory, plan, tags, opts) for dc in inventory.datacenters}
    pulumi.export("tags", tags.ids)
    pulumi.export("port_groups", {dc: {n: pg.id for n, pg in s.port_groups.items()} for dc, s in sites.items()})
    pulumi.export("hosts", {name: host for s in sites.values() for name, host in s.hosts.items()})
    pulumi.export("service_address", str(plan.service_address))


def build_wan(stack: StackId, inventory: Inventory) -> None:
    wan = WideAreaNetwork("wan", inventory, environment_plan(inventory, stack.env))
    pulumi.export("circuits", wan.circuits)
    pulumi.export("address_plan", wan.address_plan)
    pulumi.export("routers", wan.routers)


def build_town(stack: StackId, inventory: Inventory) -> None:
    town = inventory.town(stack.scope)
    dc = pulumi.StackReference("dc", stack_name=StackId(stack.env, DC_SCOPE).reference())
    wan = pulumi.StackReference("wan", stack_name=StackId(stack.env, WAN_SCOPE).reference())
    opts = pulumi.ResourceOptions(providers=[vcenter(inventory)])
    municipality = Municipality(town.id, town, inventory, dc, wan, opts)
    pulumi.export("town", town.id)
    pulumi.export("servers", municipality.servers)
    pulumi.export("records", municipality.records)


def main(stack_name: str | None = None, inventory: Inventory | None = None) -> None:
    stack = parse_stack(stack_name or pulumi.get_stack())
    inventory = inventory or load_inventory()
    inventory.environment(stack.env)  # an unknown environment fails here, naming the known ones
    {DC_SCOPE: build_dc, WAN_SCOPE: build_wan}.get(stack.scope, build_town)(stack, inventory)
