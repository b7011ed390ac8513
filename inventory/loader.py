"""Reading the inventory: every file parsed and validated against its model, the valid entries kept
even when others in the same list fail, and the validated files assembled into one `Inventory`.

The cross-file rules run over what this module read (`inventory.rules`); `inventory.check` composes
the two, so this module never imports a rule."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .model.addressing import AddressingFile
from .model.contacts import ContactsFile
from .model.costs import CostsFile
from .model.environment import EnvironmentConfig
from .model.regions import Region, RegionsFile
from .model.segmentation import SegmentationFile
from .model.sites import DataCenter, DatacentersFile
from .model.sla import ServiceCalendar, ServiceTier, SlaFile
from .model.systems import BusinessSystem, SystemsFile
from .model.towns import Town, TownsFile
from .model.vsphere import VsphereFile
from .model.wan import WanFile
from .problems import Problem
from .schema_errors import schema_problems
from .source import SourceFile

DEFAULT_ROOT = Path(__file__).resolve().parent

# Every inventory file: its key, its file name under the root, and its model.
FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "systems": ("systems.yaml", SystemsFile),
    "towns": ("towns.yaml", TownsFile),
    "datacenters": ("datacenters.yaml", DatacentersFile),
    "wan": ("wan.yaml", WanFile),
    "sla": ("sla.yaml", SlaFile),
    "addressing": ("addressing.yaml", AddressingFile),
    "vsphere": ("vsphere.yaml", VsphereFile),
    "costs": ("costs.yaml", CostsFile),
    "segmentation": ("segmentation.yaml", SegmentationFile),
    "contacts": ("contacts.yaml", ContactsFile),
    "regions": ("regions.yaml", RegionsFile),
}
ENVIRONMENTS_DIR = "environments"


def default_root() -> Path:
    """The inventory the commands use: $MUNICLOUD_INVENTORY, else the repo's own inventory/."""
    return Path(os.environ.get("MUNICLOUD_INVENTORY") or DEFAULT_ROOT)


@dataclass
class LoadedFiles:
    """What was read: a source per file (for pointing at lines) and each model that validated."""

    root: Path
    sources: dict[str, SourceFile] = field(default_factory=dict)
    models: dict[str, BaseModel] = field(default_factory=dict)
    environments: dict[str, EnvironmentConfig] = field(default_factory=dict)
    # Files whose list entries partly failed validation: key -> (list name, original index of each
    # entry kept). Rules still run over the valid entries, so one bad town hides no other problem.
    partial: dict[str, tuple[str, list[int]]] = field(default_factory=dict)

    def __getattr__(self, key: str) -> BaseModel:
        try:
            return self.models[key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass(frozen=True)
class Inventory:
    """The validated inventory: the single source of truth every other part derives from."""

    root: Path
    towns: tuple[Town, ...]
    systems: tuple[BusinessSystem, ...]
    datacenters: tuple[DataCenter, ...]
    towns_file: TownsFile
    datacenters_file: DatacentersFile
    wan: WanFile
    sla: SlaFile
    addressing: AddressingFile
    costs: CostsFile
    environments: dict[str, EnvironmentConfig]
    vsphere: VsphereFile
    segmentation: SegmentationFile
    contacts: ContactsFile
    regions: tuple[Region, ...]

    @cached_property
    def town_by_id(self) -> dict[str, Town]:
        return {t.id: t for t in self.towns}

    @cached_property
    def system_by_id(self) -> dict[str, BusinessSystem]:
        return {s.id: s for s in self.systems}

    @cached_property
    def region_by_id(self) -> dict[str, Region]:
        return {r.id: r for r in self.regions}

    @cached_property
    def tier_by_id(self) -> dict[str, ServiceTier]:
        return {t.id: t for t in self.sla.tiers}

    @cached_property
    def calendar_by_id(self) -> dict[str, ServiceCalendar]:
        return {c.id: c for c in self.sla.calendars}

    @property
    def primary_dc(self) -> DataCenter:
        return next(dc for dc in self.datacenters if dc.role == "primary")

    @property
    def backup_dc(self) -> DataCenter:
        return next(dc for dc in self.datacenters if dc.role == "backup")

    def town(self, town_id: str) -> Town:
        try:
            return self.town_by_id[town_id]
        except KeyError:
            raise KeyError(f"no town '{town_id}' in the inventory") from None

    def subscribed_systems(self, town: Town) -> list[BusinessSystem]:
        return [self.system_by_id[s] for s in town.subscriptions]

    def tenant_parameters(self, town: Town) -> dict[str, dict[str, object]]:
        """The town's effective parameters for each subscribed system: the package's defaults, then
        the town's own settings (パラメタ・制御情報)."""
        effective: dict[str, dict[str, object]] = {}
        for system in self.subscribed_systems(town):
            values = {key: spec.default for key, spec in system.parameters.items()}
            values.update(town.parameters.get(system.id, {}))
            if values:
                effective[system.id] = values
        return effective

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none"
            raise KeyError(f"no environment '{name}' (known: {known})") from None


def read_files(root: Path) -> tuple[LoadedFiles, list[Problem]]:
    files = LoadedFiles(root=root)
    problems: list[Problem] = []
    for key, (name, model) in FILES.items():
        source, problem = _read(root, root / name)
        files.sources[key] = source
        if problem:
            problems.append(problem)
            continue
        validated, found = _validate(source, model)
        problems += found
        if validated is None and found:
            validated = _salvage(files, key, source, model)
        if validated is not None:
            files.models[key] = validated
    env_dir = root / ENVIRONMENTS_DIR
    for path in sorted(env_dir.glob("*.yaml")) if env_dir.is_dir() else []:
        source, problem = _read(root, path)
        files.sources[f"environment:{path.stem}"] = source
        if problem:
            problems.append(problem)
            continue
        env, found = _validate(source, EnvironmentConfig)
        problems += found
        if isinstance(env, EnvironmentConfig):
            if env.name != path.stem:
                problems.append(source.problem(("name",), f"must match the file name '{path.stem}'"))
            files.environments[env.name] = env
    return files, problems


def _read(root: Path, path: Path) -> tuple[SourceFile, Problem | None]:
    display = _display(path)
    if not path.is_file():
        return SourceFile(path, display), Problem(display, None, "", "", "file missing")
    return SourceFile.read(path, display)


def _validate(source: SourceFile, model: type[BaseModel]) -> tuple[BaseModel | None, list[Problem]]:
    if not isinstance(source.data, dict):
        return None, [source.problem((), "the file must hold a YAML mapping at the top")]
    try:
        return model.model_validate(source.data), []
    except ValidationError as err:
        return None, schema_problems(source, model, err)


def _salvage(files: LoadedFiles, key: str, source: SourceFile, model: type[BaseModel]) -> BaseModel | None:
    """The file's model without its invalid list entries, when the errors are all inside entries."""
    try:
        model.model_validate(source.data)
    except ValidationError as err:
        locs = [tuple(e["loc"]) for e in err.errors()]
    else:  # pragma: no cover - only called after a failure
        return None
    if not all(len(loc) > 1 and isinstance(loc[1], int) for loc in locs):
        return None
    lists = {loc[0] for loc in locs}
    if len(lists) != 1:
        return None
    (list_name,) = lists
    bad = {loc[1] for loc in locs}
    entries = source.data.get(list_name)
    if not isinstance(entries, list):
        return None
    kept = [i for i in range(len(entries)) if i not in bad]
    try:
        partial = model.model_validate({**source.data, list_name: [entries[i] for i in kept]})
    except ValidationError:
        return None
    files.partial[key] = (str(list_name), kept)
    return partial


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def assemble_inventory(files: LoadedFiles) -> Inventory:
    """The inventory of files that all validated and passed the rules (see `inventory.check`)."""
    towns: TownsFile = files.models["towns"]  # type: ignore[assignment]
    systems: SystemsFile = files.models["systems"]  # type: ignore[assignment]
    dcs: DatacentersFile = files.models["datacenters"]  # type: ignore[assignment]
    return Inventory(
        root=files.root,
        towns=tuple(towns.towns),
        systems=tuple(systems.systems),
        datacenters=tuple(dcs.datacenters),
        towns_file=towns,
        datacenters_file=dcs,
        wan=files.models["wan"],  # type: ignore[arg-type]
        sla=files.models["sla"],  # type: ignore[arg-type]
        addressing=files.models["addressing"],  # type: ignore[arg-type]
        costs=files.models["costs"],  # type: ignore[arg-type]
        environments=dict(files.environments),
        vsphere=files.models["vsphere"],  # type: ignore[arg-type]
        segmentation=files.models["segmentation"],  # type: ignore[arg-type]
        contacts=files.models["contacts"],  # type: ignore[arg-type]
        regions=tuple(files.models["regions"].regions),  # type: ignore[attr-defined]
    )


__all__: Sequence[str] = ("Inventory", "LoadedFiles", "assemble_inventory", "default_root", "read_files")
