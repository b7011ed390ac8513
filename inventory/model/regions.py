"""The regions (地域) the towns are grouped in to run them at scale (regions.yaml): each town names
its region (towns.yaml: `region`), and the execution plan serves whole regions from one execution
node and one regional Prometheus. That every town's region is declared here is a rule
(inventory/rules/regions.py), since it looks at two files."""

from __future__ import annotations

from pydantic import Field

from .base import InventoryModel, NonEmptyText, Slug


class Region(InventoryModel):
    id: Slug
    name: NonEmptyText  # Japanese, as the region is called: 比企
    prefecture: NonEmptyText  # 埼玉県


class RegionsFile(InventoryModel):
    regions: list[Region] = Field(min_length=1)
