"""`Municipality`: one town's stack. Its in-office servers as VMs on the town's own vSphere host,
and its clients' and peripherals' records (DNS names, DHCP reservations) as outputs.

What it needs from the other stacks it reads through StackReferences: the tag ids from `prod-dc`,
and the town's part of the address plan from `prod-wan` (the one authority on addresses).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_vsphere as vsphere

from inventory.loader import Inventory
from inventory.model.layers import TOWN_SEGMENTS, segment_layer
from inventory.model.towns import Town

from .exports import town_records
from .naming import BACKUP, LAYER, OFFICE_SITE, SITE, TIER, TOWN, tag_key
from .tags import LAYER_TAGS, OFFICE_TIER


class Municipality(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        town: Town,
        inventory: Inventory,
        dc: pulumi.StackReference,
        wan: pulumi.StackReference,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("municloud:stacks:Municipality", name, None, opts)
        ts = inventory.vsphere.town_site
        invoke = pulumi.InvokeOutputOptions(parent=self)
        datacenter = vsphere.get_datacenter_output(name=ts.name("datacenter", town.id), opts=invoke)
        host = vsphere.get_host_output(name=ts.name("host", town.id), datacenter_id=datacenter.id, opts=invoke)
        datastore = vsphere.get_datastore_output(
            name=ts.name("datastore", town.id), datacenter_id=datacenter.id, opts=invoke
        )
        switch = vsphere.get_distributed_virtual_switch_output(
            name=ts.name("switch", town.id), datacenter_id=datacenter.id, opts=invoke
        )
        template = vsphere.get_virtual_machine_output(
            name=ts.name("template", town.id), datacenter_id=datacenter.id, opts=invoke
        )
        zone = ts.name("dns_zone", town.id)
        town_plan: pulumi.Output[dict[str, Any]] = wan.require_output("address_plan").apply(
            lambda plan: _town_part(plan, town.id)
        )
        mgmt: pulumi.Output[dict[str, str]] = wan.require_output("address_plan").apply(lambda plan: plan["mgmt"])
        keys = [
            tag_key(TOWN, town.id),
            tag_key(TIER, OFFICE_TIER),
            tag_key(SITE, OFFICE_SITE),
            tag_key(BACKUP, inventory.vsphere.backup_policies.office),
        ]
        tag_ids = dc.require_output("tags").apply(lambda ids: _select(ids, keys))

        # A port group per segment of the town hall (三層分離), on its VLAN, tagged with its layer:
        # the policy pack holds them to the inventory. The in-office servers stand on the LAN.
        self.port_groups: dict[str, vsphere.DistributedPortGroup] = {}
        for segment in TOWN_SEGMENTS:
            layer_key = tag_key(LAYER, LAYER_TAGS[segment_layer(segment)])
            self.port_groups[segment] = vsphere.DistributedPortGroup(
                f"{town.id}-pg-{segment}",
                vsphere.DistributedPortGroupArgs(
                    name=ts.name("network", town.id, segment),
                    distributed_virtual_switch_uuid=switch.id,
                    vlan_id=town.site.vlans[segment],
                    description=f"{town.site.name}: {segment} (VLAN {town.site.vlans[segment]})",
                    tags=dc.require_output("tags").apply(lambda ids, k=layer_key: _select(ids, [*keys[:3], k])),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        network = self.port_groups["lan"]

        self.vms: dict[str, vsphere.VirtualMachine] = {}
        for server in town.servers:
            address = town_plan.apply(lambda p, n=server.name: p["servers"][n])
            self.vms[server.name] = vsphere.VirtualMachine(
                server.name,
                vsphere.VirtualMachineArgs(
                    name=server.name,
                    host_system_id=host.id,
                    resource_pool_id=host.resource_pool_id,
                    datastore_id=datastore.id,
                    num_cpus=server.vcpu,
                    memory=server.memory_gb * 1024,
                    guest_id=template.guest_id,
                    annotation=f"municloud {town.id} in-office {server.role} server",
                    network_interfaces=[vsphere.VirtualMachineNetworkInterfaceArgs(network_id=network.id)],
                    disks=[vsphere.VirtualMachineDiskArgs(label="disk0", size=ts.disk_gb)],
                    clone=vsphere.VirtualMachineCloneArgs(
                        template_uuid=template.uuid,
                        customize=vsphere.VirtualMachineCloneCustomizeArgs(
                            linux_options=vsphere.VirtualMachineCloneCustomizeLinuxOptionsArgs(
                                host_name=server.name, domain=zone
                            ),
                            network_interfaces=[
                                vsphere.VirtualMachineCloneCustomizeNetworkInterfaceArgs(
                                    ipv4_address=address.apply(lambda a: a.split("/")[0]),
                                    ipv4_netmask=address.apply(lambda a: int(a.split("/")[1])),
                                )
                            ],
                            ipv4_gateway=town_plan.apply(lambda p: p["lan_gateway"].split("/")[0]),
                        ),
                    ),
                    tags=tag_ids,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.records = town_plan.apply(lambda p: town_records(town, inventory.segmentation, p, zone))
        self.servers = pulumi.Output.all(town_plan, mgmt).apply(
            lambda parts: {
                s.name: {
                    "role": s.role,
                    "address": parts[0]["servers"][s.name],
                    "mgmt_address": parts[1][s.name].split("/")[0],
                    "fqdn": f"{s.name}.{zone}",
                }
                for s in town.servers
            }
        )
        self.register_outputs({"servers": self.servers, "records": self.records})


def _town_part(plan: dict[str, Any], town_id: str) -> dict[str, Any]:
    try:
        return plan["towns"][town_id]
    except KeyError:
        raise KeyError(f"the prod-wan stack exports no address plan for town '{town_id}': run it first") from None


def _select(ids: dict[str, str], keys: list[str]) -> list[str]:
    missing = [k for k in keys if k not in ids]
    if missing:
        raise KeyError(f"the prod-dc stack exports no tag {', '.join(missing)}: update prod-dc first")
    return [ids[k] for k in keys]
