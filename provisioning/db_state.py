"""Which data center holds the database primary now. The inventory says which one is designed to
(DC1); after a failover the truth is DC2 until the fail-back, and provisioning must follow the truth
(re-provisioning DC1 as a primary while DC2 serves would split the brain). Recorded per environment
outside the source tree by `municloud db failover|failback`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from inventory.loader import Inventory
from toolkit.settings import state_dir


@dataclass(frozen=True)
class PrimarySite:
    site: str
    recorded: bool  # False: nothing recorded, the inventory's design holds
    since: float | None = None
    reason: str | None = None


def _path(environment: str) -> Path:
    return state_dir() / environment / "db_primary.yaml"


def primary_site(inventory: Inventory, environment: str) -> PrimarySite:
    path = _path(environment)
    if path.exists():
        data = yaml.safe_load(path.read_text()) or {}
        site = data.get("site")
        if site in {dc.id for dc in inventory.datacenters}:
            return PrimarySite(site, True, data.get("since"), data.get("reason"))
    return PrimarySite(inventory.primary_dc.id, False)


def record_primary_site(inventory: Inventory, environment: str, site: str, reason: str) -> PrimarySite:
    if site not in {dc.id for dc in inventory.datacenters}:
        raise KeyError(f"no data center '{site}' in the inventory")
    path = _path(environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    since = time.time()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"site": site, "since": since, "reason": reason}, sort_keys=False))
    tmp.replace(path)
    return PrimarySite(site, True, since, reason)


def forget_primary_site(environment: str) -> None:
    """Back to the inventory's design (a fresh lab: its databases are new)."""
    _path(environment).unlink(missing_ok=True)
