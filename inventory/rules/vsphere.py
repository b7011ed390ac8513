"""vsphere.yaml against the other files: a vSphere site per data center, every VM within the limits."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("vsphere", "datacenters", complete=("datacenters",))
def every_data_center_has_a_vsphere_site(files: LoadedFiles) -> Iterator[Finding]:
    dc_ids = [dc.id for dc in files.datacenters.datacenters]
    for dc_id in dc_ids:
        if dc_id not in files.vsphere.sites:
            yield ("vsphere", ("sites",), f"no vSphere site for data center '{dc_id}'")
    for site in files.vsphere.sites:
        if site not in dc_ids:
            yield ("vsphere", ("sites", site), f"'{site}' is not a data center (known: {', '.join(dc_ids)})")


@INVENTORY_RULES.rule("vsphere", "datacenters", "towns")
def vm_sizes_within_limits(files: LoadedFiles) -> Iterator[Finding]:
    limits = files.vsphere.vm_limits
    for i, dc in enumerate(files.datacenters.datacenters):
        for j, tier in enumerate(dc.server_tiers):
            loc = ("datacenters", i, "server_tiers", j)
            yield from _over(limits, "datacenters", loc, tier.vcpu, tier.memory_gb, tier.disk_gb)
    disk = files.vsphere.town_site.disk_gb
    for i, town in enumerate(files.towns.towns):
        for j, server in enumerate(town.servers):
            yield from _over(limits, "towns", ("towns", i, "servers", j), server.vcpu, server.memory_gb, disk)


def _over(limits, file_key: str, loc: tuple, vcpu: int, memory_gb: int, disk_gb: int) -> Iterator[Finding]:
    for field, value, limit in (
        ("vcpu", vcpu, limits.max_vcpu),
        ("memory_gb", memory_gb, limits.max_memory_gb),
        ("disk_gb", disk_gb, limits.max_disk_gb),
    ):
        if value > limit:
            where = (*loc, field) if field != "disk_gb" or file_key == "datacenters" else loc
            yield (file_key, where, f"{value} is above the vSphere limit {limit} (vsphere.yaml vm_limits)")
