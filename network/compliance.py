"""Network compliance (構成準拠): per router, does the running config equal the intended config
rendered from the inventory, and if not, which lines differ. Touches no device beyond reading its
running config: the comparison is `net plan`'s (`make_plan`), without writing a plan file.

A router is one of: compliant; differs (the remediation lines, secrets masked, are what differs);
unreachable (its running config could not be read); no template (its platform has no template to
render the intended config from, so there is nothing to compare with).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ

from .config import mask_secrets
from .fleet import Fleet, Progress
from .plan import DevicePlan, make_plan
from .render import PLATFORMS
from .store import who

Status = Literal["compliant", "differs", "unreachable", "no template"]
STATUSES: tuple[Status, ...] = ("compliant", "differs", "unreachable", "no template")
STATUS_LABELS: dict[str, str] = {
    "compliant": "準拠 / compliant",
    "differs": "差異あり / differs",
    "unreachable": "接続不可 / unreachable",
    "no template": "テンプレートなし / no template",
}


@dataclass(frozen=True)
class RouterCompliance:
    device: str
    role: str
    platform: str
    site: str  # town id, data center id, or "carrier"
    site_name: str  # the town's or data center's name as the inventory writes it
    town: str | None
    status: Status
    differs: tuple[str, ...]  # the remediation to the intended config, secrets masked
    diff: str  # running against intended, unified, secrets masked
    error: str | None

    @property
    def compliant(self) -> bool:
        return self.status == "compliant"


@dataclass(frozen=True)
class ComplianceReport:
    environment: str
    checked_at: datetime  # when the running configs were read (Japan time)
    who: str
    routers: tuple[RouterCompliance, ...]

    @property
    def compliant(self) -> bool:
        return all(r.compliant for r in self.routers)

    def counts(self) -> dict[str, int]:
        counted = Counter(r.status for r in self.routers)
        return {status: counted[status] for status in STATUSES} | {"routers": len(self.routers)}

    def named(self, status: Status) -> list[str]:
        return [r.device for r in self.routers if r.status == status]

    def to_json(self) -> dict[str, Any]:
        """The report's content as data (compliance.json)."""
        return {
            "kind": "municloud network compliance report",
            "environment": self.environment,
            "checked_at": self.checked_at.isoformat(),
            "who": self.who,
            "compliant": self.compliant,
            "summary": self.counts(),
            "unreachable": self.named("unreachable"),
            "non_compliant": [r.device for r in self.routers if not r.compliant],
            "routers": [
                {
                    "device": r.device,
                    "role": r.role,
                    "platform": r.platform,
                    "site": r.site,
                    "site_name": r.site_name,
                    "town": r.town,
                    "status": r.status,
                    "compliant": r.compliant,
                    "differs": list(r.differs),
                    "error": r.error,
                }
                for r in self.routers
            ],
        }


def site_name(inventory: Inventory, site: str) -> str:
    """A router's site as people call it: the town's or data center's name, or the carrier's."""
    if site in inventory.town_by_id:
        return inventory.town_by_id[site].name
    for dc in inventory.datacenters:
        if dc.id == site:
            return dc.name
    if site == "carrier":
        return f"{inventory.wan.carrier.name} (通信事業者 / carrier)"
    return site


def _status(device: DevicePlan) -> Status:
    if device.error:
        return "no template" if device.platform not in PLATFORMS else "unreachable"
    return "differs" if device.changed else "compliant"


def check_compliance(
    inventory: Inventory,
    binding: EnvironmentBinding,
    names: list[str],
    *,
    workers: int = 16,
    progress: Progress | None = None,
    fleet: Fleet | None = None,
) -> ComplianceReport:
    """Read the running config of each router in `names` (in parallel) and compare it with its
    intended config. Routers in the order of `names`."""
    checked_at = datetime.now(CONTRACT_TZ)
    plan = make_plan(inventory, binding, names, workers=workers, progress=progress, fleet=fleet)
    routers = []
    for device in plan.devices:
        site = binding.host(device.name).site
        routers.append(
            RouterCompliance(
                device=device.name,
                role=device.role,
                platform=device.platform,
                site=site,
                site_name=site_name(inventory, site),
                town=device.town,
                status=_status(device),
                differs=tuple(mask_secrets(line) for line in device.remediation),
                diff=device.diff,
                error=mask_secrets(device.error) if device.error else None,
            )
        )
    return ComplianceReport(binding.name, checked_at, who(), tuple(routers))
