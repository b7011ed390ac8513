"""The vSphere tag categories and tags: town, system, tier, site, layer, backup policy.

Tags are global to the vCenter, so the DC stack makes them once for both sites and exports their
ids by key ('town/ina'); the town stacks take the ids from that export through a StackReference.
"""

from __future__ import annotations

import pulumi
import pulumi_vsphere as vsphere

from inventory.loader import Inventory
from inventory.model.layers import Layer

from .naming import BACKUP, LAYER, OFFICE_SITE, SHARED_TOWN, SITE, SYSTEM, TIER, TOWN, tag_key

# What each category is attached to (vSphere refuses a tag on a type its category does not list).
TAGGABLE = ["Folder", "ResourcePool", "DistributedVirtualPortgroup", "VirtualMachine"]
# The three-layer separation (三層分離) as the tags see it: the マイナンバー利用事務系 is "resident-data"
# (the DC's resident-data networks and the town halls' マイナンバー segments alike).
LAYERS = ("resident-data", "lgwan", "internet", "other")
LAYER_TAGS: dict[Layer, str] = {"mynumber": "resident-data", "lgwan": "lgwan", "internet": "internet"}
OFFICE_TIER = "office"
TENANT_TIER = "tenant"


def tag_names(inventory: Inventory) -> dict[str, list[str]]:
    """Every tag, by category: derived from the inventory, nothing typed here."""
    in_scope = sorted({s for town in inventory.towns for s in town.subscriptions})
    tiers = {OFFICE_TIER, TENANT_TIER}
    for dc in inventory.datacenters:
        tiers |= {t.role for t in dc.server_tiers} | {n.purpose for n in dc.networks}
    b = inventory.vsphere.backup_policies
    return {
        TOWN: [SHARED_TOWN, *(t.id for t in inventory.towns)],
        SYSTEM: in_scope,
        TIER: sorted(tiers),
        SITE: [*(dc.id for dc in inventory.datacenters), OFFICE_SITE],
        LAYER: list(LAYERS),
        BACKUP: sorted({b.app, b.db, b.office}),
    }


class TagCatalog(pulumi.ComponentResource):
    """The categories and tags; `ids` maps 'category/name' to the tag's id."""

    def __init__(self, name: str, inventory: Inventory, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("municloud:stacks:TagCatalog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ids: dict[str, pulumi.Output[str]] = {}
        for category, names in tag_names(inventory).items():
            cat = vsphere.TagCategory(
                f"category-{category}",
                vsphere.TagCategoryArgs(
                    name=category,
                    description=f"municloud: {category}",
                    # A server of the shared package serves many systems; every other category is one per object.
                    cardinality="MULTIPLE" if category == SYSTEM else "SINGLE",
                    associable_types=TAGGABLE,
                ),
                opts=child,
            )
            for tag in names:
                key = tag_key(category, tag)
                self.ids[key] = vsphere.Tag(
                    f"tag-{category}-{tag}",
                    vsphere.TagArgs(name=tag, category_id=cat.id, description=f"municloud {key}"),
                    opts=child,
                ).id
        self.register_outputs({"ids": self.ids})

    def select(self, *keys: str) -> list[pulumi.Output[str]]:
        return [self.ids[k] for k in keys]
