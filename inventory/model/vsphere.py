"""The vSphere side of production (vsphere.yaml): vCenter names, per-town hosts, VM limits, backup tags."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .base import Hostname, InventoryModel, NonEmptyText, Slug


class VsphereSite(InventoryModel):
    """Where one data center's VMs live in vCenter."""

    datacenter: NonEmptyText
    cluster: NonEmptyText
    datastore: NonEmptyText
    switch: NonEmptyText  # the distributed switch carrying the site's port groups
    template: NonEmptyText  # the VM template every server is cloned from


class TownSite(InventoryModel):
    """Name patterns of each town's own vSphere host; `{town}` is replaced by the town's id."""

    datacenter: NonEmptyText
    host: NonEmptyText
    datastore: NonEmptyText
    switch: NonEmptyText  # the host's distributed switch, carrying the town hall's segments
    network: NonEmptyText  # a segment's port group; `{segment}` is lan, mynumber, lgwan or internet
    template: NonEmptyText
    disk_gb: Annotated[int, Field(ge=1)]
    dns_zone: NonEmptyText

    def name(self, field: str, town_id: str, segment: str = "") -> str:
        return str(getattr(self, field)).replace("{town}", town_id).replace("{segment}", segment)


class VmLimits(InventoryModel):
    max_vcpu: Annotated[int, Field(ge=1)]
    max_memory_gb: Annotated[int, Field(ge=1)]
    max_disk_gb: Annotated[int, Field(ge=1)]


class BackupPolicies(InventoryModel):
    """The backup policy (a vSphere tag the backup product selects VMs by) of each kind of VM."""

    app: Slug
    db: Slug
    office: Slug

    def for_role(self, role: str) -> str:
        return {"app": self.app, "db": self.db}.get(role, self.office)


class VsphereFile(InventoryModel):
    vcenter: Hostname | NonEmptyText
    sites: dict[Slug, VsphereSite]
    town_site: TownSite
    vm_limits: VmLimits
    backup_policies: BackupPolicies
