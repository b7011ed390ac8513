"""The environment binding: the logical inventory bound to reachable things.

Every part that touches machines (network changes, provisioning, probes, drills) takes one
`EnvironmentBinding` and does not care whether it is the lab or production. The binding is the
address plan's management addresses, overridden by the environment's binding file when one exists
(written by `municloud lab up`, or from the Pulumi stacks' outputs in production).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from .address_plan import AddressPlan, plan_addresses
from .loader import Inventory
from .model.base import InventoryModel
from .model.environment import EXECUTION_NODE_ROLE, EXECUTION_NODE_SITE, EnvironmentConfig
from .problems import InventoryError
from .schema_errors import schema_problems
from .source import SourceFile

HostKind = Literal["router", "server", "node"]  # node: an execution node (runs the playbooks)


class BoundHostOverride(InventoryModel):
    mgmt_address: IPv4Address | None = Field(default=None, strict=False)
    host_key: str | None = None  # "ssh-ed25519 AAAA...", pinned


class BoundClient(InventoryModel):
    """A town's client segment in the lab: a namespace standing in for the PCs."""

    netns: str
    address: IPv4Address = Field(strict=False)


class LabHandle(InventoryModel):
    """Where the lab that this binding describes keeps its state, so drills and tests can inject
    faults into exactly that lab (several labs can run side by side under different prefixes)."""

    state_dir: Path = Field(strict=False)
    prefix: str
    profile: Literal["small", "full"] | None = None  # None: a lab of chosen towns


class BindingFile(InventoryModel):
    """What `lab up` or the Pulumi outputs write: which towns exist there, and per-host facts."""

    environment: str
    towns: list[str] | None = None  # None: every town of the inventory
    key_file: Path | None = Field(default=None, strict=False)  # overrides the environment's key file
    known_hosts: Path | None = Field(default=None, strict=False)  # pinned host keys, when the builder knows them
    hosts: dict[str, BoundHostOverride] = {}
    clients: dict[str, BoundClient] = {}
    lab: LabHandle | None = None


@dataclass(frozen=True)
class BoundHost:
    name: str
    kind: HostKind
    role: str  # pe | ce | dc-edge | app | db | probe | file | print | directory | execution-node
    site: str  # town id, data center id, "carrier", or "operations" (the execution nodes)
    town: str | None
    mgmt_address: IPv4Address
    data_address: IPv4Interface | None
    ssh_user: str
    platform: str | None  # routers only: frr, cisco_ios, yamaha_rtx, nec_ix
    host_key: str | None


@dataclass(frozen=True)
class EnvironmentBinding:
    name: str
    config: EnvironmentConfig
    plan: AddressPlan
    towns: tuple[str, ...]
    hosts: tuple[BoundHost, ...]
    key_file: Path | None
    known_hosts: Path | None = None
    clients: dict[str, BoundClient] = field(default_factory=dict)  # client segment name -> namespace
    lab: LabHandle | None = None
    # exec-1 ... exec-N (the environment's execution_nodes), kind "node": kept out of `hosts`, so that
    # what works on the cloud's routers and servers never meets the machines that run the playbooks.
    execution_nodes: tuple[BoundHost, ...] = ()

    @property
    def kind(self) -> str:
        return self.config.kind

    def routers(self) -> list[BoundHost]:
        return [h for h in self.hosts if h.kind == "router"]

    def servers(self) -> list[BoundHost]:
        return [h for h in self.hosts if h.kind == "server"]

    def host(self, name: str) -> BoundHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host '{name}' in environment '{self.name}'")

    def execution_node(self, name: str) -> BoundHost:
        for node in self.execution_nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.execution_nodes)
        raise KeyError(
            f"no execution node '{name}' in environment '{self.name}' "
            + (f"(its nodes: {known})" if known else "(it has none: execution_nodes is 0)")
        )


def environment_plan(inventory: Inventory, name: str) -> AddressPlan:
    return plan_for(inventory, inventory.environment(name))


def plan_for(inventory: Inventory, env: EnvironmentConfig) -> AddressPlan:
    """The address plan of the inventory in `env` (an environment, or a copy with its own regions)."""
    return plan_addresses(
        env,
        inventory.addressing,
        inventory.towns,
        inventory.datacenters,
        inventory.wan.carrier.edges,
        inventory.segmentation,
    )


BINDING_ENV_VAR = "MUNICLOUD_BINDING"
# What a scheduled job (a systemd timer, cron) keeps of where it was scheduled, when set there.
SCHEDULED_JOB_VARIABLES = ("MUNICLOUD_INVENTORY", BINDING_ENV_VAR)


def binding_path(env: EnvironmentConfig) -> Path | None:
    """The environment's binding file: $MUNICLOUD_BINDING when set (a test lab, a second lab side by
    side), else the one the environment names."""
    override = os.environ.get(BINDING_ENV_VAR)
    return Path(override) if override else env.binding_file


def bind_environment(inventory: Inventory, name: str, binding_file: Path | None = None) -> EnvironmentBinding:
    """Bind `inventory` to environment `name`. Raises KeyError for an unknown environment and
    InventoryError when the binding file is not valid."""
    env = inventory.environment(name)
    plan = environment_plan(inventory, name)
    path = binding_file or binding_path(env)
    binding = _read_binding(path) if path is not None and path.is_file() else BindingFile(environment=name)
    town_ids = tuple(binding.towns) if binding.towns is not None else tuple(t.id for t in inventory.towns)
    unknown = [t for t in town_ids if t not in inventory.town_by_id]
    if unknown:
        raise KeyError(f"{path}: towns {', '.join(unknown)} are not in the inventory")

    def host(
        name: str,
        kind: HostKind,
        role: str,
        site: str,
        town: str | None,
        data: IPv4Interface | None,
        platform: str | None = None,
    ) -> BoundHost:
        override = binding.hosts.get(name, BoundHostOverride())
        user = env.ssh.router_user if kind == "router" else env.ssh.server_user
        return BoundHost(
            name,
            kind,
            role,
            site,
            town,
            override.mgmt_address or plan.mgmt[name].ip,
            data,
            user,
            (env.router_platform or platform) if kind == "router" else None,
            override.host_key,
        )

    hosts: list[BoundHost] = []
    for edge in inventory.wan.carrier.edges:
        hosts.append(host(edge.name, "router", "pe", "carrier", None, None, "frr"))
    for dc in inventory.datacenters:
        hosts.append(host(dc.edge_router.name, "router", "dc-edge", dc.id, None, plan.dc_gateways[dc.id], "frr"))
        hosts += [host(n, "server", role, dc.id, None, plan.dc_hosts[n]) for n, role in dc.servers()]
    for town_id in town_ids:
        town = inventory.town(town_id)
        t = plan.towns[town_id]
        hosts.append(host(town.router.name, "router", "ce", town_id, town_id, t.lan_gateway, town.router.platform))
        hosts += [host(s.name, "server", s.role, town_id, town_id, t.servers[s.name]) for s in town.servers]
    # The execution nodes: the environment's servers' user; no data-plane address.
    nodes = tuple(host(n, "node", EXECUTION_NODE_ROLE, EXECUTION_NODE_SITE, None, None) for n in plan.execution_nodes)
    return EnvironmentBinding(
        name,
        env,
        plan,
        town_ids,
        tuple(hosts),
        binding.key_file or _key_file(env),
        binding.known_hosts,
        dict(binding.clients),
        binding.lab,
        nodes,
    )


def write_binding(path: Path, binding: BindingFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(binding.model_dump(mode="json", exclude_none=True), sort_keys=False))
    tmp.replace(path)


def _read_binding(path: Path) -> BindingFile:
    source, problem = SourceFile.read(path, str(path))
    if problem:
        raise InventoryError([problem])
    try:
        return BindingFile.model_validate(source.data or {})
    except ValidationError as err:
        raise InventoryError(schema_problems(source, BindingFile, err)) from None


def _key_file(env: EnvironmentConfig) -> Path | None:
    if env.ssh.key_file_env and os.environ.get(env.ssh.key_file_env):
        return Path(os.environ[env.ssh.key_file_env])
    return env.ssh.key_file
