"""`net plan`: fetch the running configs, compute per device the remediation to the intended config
and its rollback, and write a plan file that records each device's running-config hash (so that
`net apply` refuses a plan gone stale)."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

from .config import config_hash, remediation_and_rollback, unified_diff
from .fleet import Fleet, Progress, parallel
from .intent import DeviceIntent, build_intents
from .render import UnsupportedPlatform, render
from .store import plans_dir, read_json, who, write_json

PLAN_FORMAT = 1


class PlanError(ValueError):
    """The plan file is missing or not a plan."""


@dataclass
class DevicePlan:
    name: str
    platform: str
    role: str
    town: str | None
    running_hash: str = ""
    intended: str = ""
    remediation: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    diff: str = ""
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.remediation)


@dataclass
class Plan:
    id: str
    created: str
    who: str
    environment: str
    devices: list[DevicePlan]
    format: int = PLAN_FORMAT
    override: bool = False  # intended configs given in code, not rendered from the inventory
    path: str = ""

    def device(self, name: str) -> DevicePlan:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(f"device '{name}' is not in plan {self.id}")

    @property
    def changed(self) -> list[DevicePlan]:
        return [d for d in self.devices if d.changed and not d.error]

    @property
    def errors(self) -> list[DevicePlan]:
        return [d for d in self.devices if d.error]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return data

    def save(self, directory: Path | None = None) -> Path:
        path = (directory or plans_dir()) / f"{self.id}.json"
        write_json(path, self.to_json())
        self.path = str(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Plan:
        if not path.is_file():
            candidate = plans_dir() / f"{path.name}.json"
            if not candidate.is_file():
                raise PlanError(f"{path}: no such plan file (plans are in {plans_dir()})")
            path = candidate
        try:
            data = read_json(path)
            if data.get("format") != PLAN_FORMAT:
                raise PlanError(f"{path}: plan format {data.get('format')} is not {PLAN_FORMAT}")
            devices = [DevicePlan(**d) for d in data.pop("devices")]
            plan = cls(devices=devices, **data)
        except (ValueError, TypeError, KeyError) as error:
            raise PlanError(f"{path}: not a municloud plan ({error})") from None
        plan.path = str(path)
        return plan


def select_devices(
    inventory: Inventory, binding: EnvironmentBinding, devices: list[str] | None, towns: list[str] | None
) -> list[str]:
    """Router names of the binding, narrowed by --device and --town. KeyError for an unknown name."""
    routers = [r.name for r in binding.routers()]
    chosen: list[str] = []
    for name in devices or []:
        if name not in routers:
            raise KeyError(f"no router '{name}' in environment '{binding.name}' (routers: {', '.join(routers)})")
        chosen.append(name)
    for town in towns or []:
        if town not in binding.towns:
            raise KeyError(f"town '{town}' is not in environment '{binding.name}' ({', '.join(binding.towns)})")
        chosen.append(inventory.town(town).router.name)
    return list(dict.fromkeys(chosen)) if (devices or towns) else routers


def intended_configs(
    inventory: Inventory, binding: EnvironmentBinding, names: list[str] | None = None
) -> tuple[dict[str, DeviceIntent], dict[str, str], dict[str, str]]:
    """(intents, rendered config per router, error per router whose platform has no template)."""
    intents = build_intents(inventory, binding)
    rendered: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, intent in intents.items():
        if names is not None and name not in names:
            continue
        try:
            rendered[name] = render(intent)
        except UnsupportedPlatform as error:
            errors[name] = str(error)
    return intents, rendered, errors


def fetch_running(fleet: Fleet, names: list[str], workers: int, progress: Progress | None = None) -> dict[str, Any]:
    def fetch(name: str) -> str:
        with fleet.driver(name) as drv:
            return drv.get_running_config()

    return parallel(fetch, names, workers, progress)


def make_plan(
    inventory: Inventory,
    binding: EnvironmentBinding,
    names: list[str],
    *,
    workers: int = 8,
    progress: Progress | None = None,
    intended_override: dict[str, str] | None = None,
    fleet: Fleet | None = None,
) -> Plan:
    """The plan for `names`. `intended_override` replaces a device's intended config (tests, and
    what-if plans made in code)."""
    fleet = fleet or Fleet(binding)
    intents, rendered, errors = intended_configs(inventory, binding, names)
    rendered.update(intended_override or {})
    reachable = [n for n in names if n in rendered]
    running = fetch_running(fleet, reachable, workers, progress)
    devices: list[DevicePlan] = []
    for name in names:
        intent = intents[name]
        d = DevicePlan(name, intent.platform, intent.role, intent.town)
        if name in errors:
            d.error = errors[name]
        else:
            result = running[name]
            if isinstance(result, BaseException):
                d.error = f"cannot read the running config: {result}"
            else:
                d.intended = rendered[name]
                d.running_hash = config_hash(d.platform, result)
                d.remediation, d.rollback = remediation_and_rollback(d.platform, result, d.intended)
                if d.remediation:
                    d.diff = unified_diff(_canonical(d.platform, result), _canonical(d.platform, d.intended))
        devices.append(d)
    return Plan(
        id=time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        who=who(),
        environment=binding.name,
        devices=devices,
        override=bool(intended_override),
    )


def _canonical(platform: str, text: str) -> str:
    from .config import normalized

    return normalized(platform, text)
