"""`DataCenter`: one site (DC1 primary, DC2 backup) on vSphere, from the inventory.

Per site: a tenant folder and a resource pool per town, a port group per network of the site on
its distributed switch (VLANs from the inventory), and the VMs of each business-system tier, sized
from the inventory and addressed from the address plan. DC2's database is DC1's standby.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_vsphere as vsphere

from inventory.address_plan import AddressPlan
from inventory.loader import Inventory
from inventory.model.sites import DataCenter as DcModel
from inventory.model.sites import DcNetwork

from .naming import BACKUP, LAYER, SHARED_TOWN, SITE, SYSTEM, TIER, TOWN, tag_key
from .tags import TENANT_TIER, TagCatalog

ROOT_FOLDER = "municloud"
# The port groups a server of each role has, besides management; DC1's and DC2's databases
# replicate over the replication network.
ROLE_NETWORKS = {"app": ("app",), "db": ("db", "replication", "backup"), "backup": ("backup",)}


def layer_of(network: DcNetwork) -> str:
    return "resident-data" if network.resident_data else "internet" if network.internet_facing else "other"


class DataCenter(pulumi.ComponentResource):
    """One data center site. `hosts` holds what the binding needs of each of its servers."""

    def __init__(
        self,
        name: str,
        dc: DcModel,
        inventory: Inventory,
        plan: AddressPlan,
        tags: TagCatalog,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("municloud:stacks:DataCenter", name, None, opts)
        site = inventory.vsphere.sites[dc.id]
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        datacenter = vsphere.get_datacenter_output(name=site.datacenter, opts=invoke)
        cluster = vsphere.get_compute_cluster_output(name=site.cluster, datacenter_id=datacenter.id, opts=invoke)
        datastore = vsphere.get_datastore_output(name=site.datastore, datacenter_id=datacenter.id, opts=invoke)
        switch = vsphere.get_distributed_virtual_switch_output(
            name=site.switch, datacenter_id=datacenter.id, opts=invoke
        )
        template = vsphere.get_virtual_machine_output(name=site.template, datacenter_id=datacenter.id, opts=invoke)
        shared = [tag_key(TOWN, SHARED_TOWN), tag_key(SITE, dc.id)]

        def folder(path: str, keys: list[str], inside: vsphere.Folder | None = None) -> vsphere.Folder:
            # A folder path needs its parent folder to exist first: vSphere does not create parents.
            return vsphere.Folder(
                f"{dc.id}-folder-{path.replace('/', '-')}",
                vsphere.FolderArgs(path=path, type="vm", datacenter_id=datacenter.id, tags=tags.select(*keys)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[inside] if inside else []),
            )

        tenant_keys = [*shared, tag_key(TIER, TENANT_TIER)]
        root = folder(ROOT_FOLDER, tenant_keys)
        shared_folder = folder(f"{ROOT_FOLDER}/shared", tenant_keys, root)
        tenants = folder(f"{ROOT_FOLDER}/tenants", tenant_keys, root)
        self.tenant_folders: dict[str, vsphere.Folder] = {}
        self.resource_pools: dict[str, vsphere.ResourcePool] = {}
        for town in inventory.towns:
            keys = [tag_key(TOWN, town.id), tag_key(SITE, dc.id), tag_key(TIER, TENANT_TIER)]
            self.tenant_folders[town.id] = folder(f"{ROOT_FOLDER}/tenants/{town.id}", keys, tenants)
            self.resource_pools[town.id] = vsphere.ResourcePool(
                f"{dc.id}-pool-{town.id}",
                vsphere.ResourcePoolArgs(
                    name=f"tenant-{town.id}",
                    parent_resource_pool_id=cluster.resource_pool_id,
                    tags=tags.select(*keys),
                ),
                opts=child,
            )

        self.port_groups: dict[str, vsphere.DistributedPortGroup] = {}
        for net in dc.networks:
            self.port_groups[net.id] = vsphere.DistributedPortGroup(
                f"{dc.id}-pg-{net.id}",
                vsphere.DistributedPortGroupArgs(
                    name=f"{dc.id}-{net.id}",
                    distributed_virtual_switch_uuid=switch.id,
                    vlan_id=net.vlan,
                    description=f"{dc.name}: {net.purpose} (VLAN {net.vlan})",
                    tags=tags.select(*shared, tag_key(TIER, net.purpose), tag_key(LAYER, layer_of(net))),
                ),
                opts=child,
            )

        systems = sorted({s for town in inventory.towns for s in town.subscriptions})
        standby_of = {} if dc.role == "primary" else _standby_pairs(inventory.primary_dc, dc)
        self.hosts: dict[str, dict[str, Any]] = {}
        self.vms: dict[str, vsphere.VirtualMachine] = {}
        mgmt_net = next(n.id for n in dc.networks if n.purpose == "management")
        for tier in dc.server_tiers:
            networks = [mgmt_net, *ROLE_NETWORKS[tier.role]]
            for host in dc.server_names(tier.role):
                mgmt, data = plan.mgmt[host], plan.dc_hosts[host]
                keys = [
                    *shared,
                    tag_key(TIER, tier.role),
                    tag_key(BACKUP, inventory.vsphere.backup_policies.for_role(tier.role)),
                    *(tag_key(SYSTEM, s) for s in systems),
                ]
                note = f"municloud {dc.id} {tier.role}" + (
                    f", standby of {standby_of[host]}" if host in standby_of else ""
                )
                self.vms[host] = vsphere.VirtualMachine(
                    host,
                    vsphere.VirtualMachineArgs(
                        name=host,
                        resource_pool_id=cluster.resource_pool_id,
                        datastore_id=datastore.id,
                        folder=f"{ROOT_FOLDER}/shared",
                        num_cpus=tier.vcpu,
                        memory=tier.memory_gb * 1024,
                        guest_id=template.guest_id,
                        annotation=note,
                        network_interfaces=[
                            vsphere.VirtualMachineNetworkInterfaceArgs(network_id=self.port_groups[n].id)
                            for n in networks
                        ],
                        disks=[vsphere.VirtualMachineDiskArgs(label="disk0", size=tier.disk_gb)],
                        clone=vsphere.VirtualMachineCloneArgs(
                            template_uuid=template.uuid,
                            customize=vsphere.VirtualMachineCloneCustomizeArgs(
                                linux_options=vsphere.VirtualMachineCloneCustomizeLinuxOptionsArgs(
                                    host_name=host, domain=f"{dc.id}.{inventory.vsphere.vcenter.split('.', 1)[-1]}"
                                ),
                                network_interfaces=[
                                    vsphere.VirtualMachineCloneCustomizeNetworkInterfaceArgs(
                                        ipv4_address=str(mgmt.ip), ipv4_netmask=mgmt.network.prefixlen
                                    ),
                                    vsphere.VirtualMachineCloneCustomizeNetworkInterfaceArgs(
                                        ipv4_address=str(data.ip), ipv4_netmask=data.network.prefixlen
                                    ),
                                    # The replication network has no addresses in the plan yet: left unset.
                                    *(vsphere.VirtualMachineCloneCustomizeNetworkInterfaceArgs() for _ in networks[2:]),
                                ],
                                ipv4_gateway=str(plan.dc_gateways[dc.id].ip),
                            ),
                        ),
                        tags=tags.select(*keys),
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[shared_folder]),
                )
                self.hosts[host] = {
                    "role": tier.role,
                    "site": dc.id,
                    "mgmt_address": str(mgmt.ip),
                    "data_address": str(data),
                    "standby_of": standby_of.get(host),
                }
        self.register_outputs({"hosts": self.hosts, "port_groups": {k: v.id for k, v in self.port_groups.items()}})


def _standby_pairs(primary: DcModel, backup: DcModel) -> dict[str, str]:
    """Each backup-site server and the primary-site server it stands by for (same role, same index)."""
    pairs: dict[str, str] = {}
    for role in ROLE_NETWORKS:
        pairs.update(zip(backup.server_names(role), primary.server_names(role), strict=False))
    return pairs
