"""The `lab` environment binding, written from a running lab.

`municloud lab up` and the test suite's lab fixture both call this, so every later command (network
changes, provisioning, probes, drills) reaches a lab the same way whichever started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from inventory.environment import BindingFile, BoundClient, BoundHostOverride, LabHandle, write_binding

from . import names
from .home import LabHome


@dataclass(frozen=True)
class LabReach:
    """How to reach what a lab built, from its recorded topology (empty before the first `up`)."""

    prefix: str
    mgmt_addresses: dict[str, IPv4Address]  # every router's, then every container's (SSH on port 22)
    clients: dict[str, BoundClient]  # a town's client segment: its namespace and address


def lab_reach(home: LabHome) -> LabReach:
    """Reads the lab's state file once."""
    topo = home.topology()
    if topo is None:
        return LabReach(prefix=home.default_prefix, mgmt_addresses={}, clients={})
    nodes = [*topo.routers, *topo.containers]
    return LabReach(
        prefix=topo.prefix,
        mgmt_addresses={n.name: n.mgmt_address.ip for n in nodes},
        clients={
            c.name: BoundClient(netns=names.client_ns(topo.prefix, c.name), address=c.address.ip) for c in topo.clients
        },
    )


def lab_binding(lab: LabHome, towns: list[str], profile: str | None = None) -> BindingFile:
    """How to reach what `lab` built, as the environment binding file has it."""
    reach = lab_reach(lab)
    return BindingFile(
        environment="lab",
        towns=towns,
        key_file=lab.private_key,
        known_hosts=lab.known_hosts,
        hosts={name: BoundHostOverride(mgmt_address=address) for name, address in reach.mgmt_addresses.items()},
        clients=reach.clients,
        lab=LabHandle(state_dir=lab.state_dir, prefix=reach.prefix, profile=profile),
    )


def write_lab_binding(lab: LabHome, towns: list[str], path: Path, profile: str | None = None) -> BindingFile:
    """`profile`: the lab's profile (small, full), which sizes its synthetic residents."""
    binding = lab_binding(lab, towns, profile)
    write_binding(path, binding)
    return binding
