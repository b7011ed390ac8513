"""The `lab` environment binding, written from a running lab.

`municloud lab up` and the test suite's lab fixture both call this, so every later command (network
changes, provisioning, probes, drills) reaches a lab the same way whichever started it.
"""

from __future__ import annotations

from pathlib import Path

from inventory.environment import BindingFile, BoundClient, BoundHostOverride, LabHandle, write_binding

from .engine import Lab


def lab_binding(lab: Lab, towns: list[str]) -> BindingFile:
    """How to reach what `lab` built. Reads the lab's state file once."""
    reach = lab.binding()
    return BindingFile(
        environment="lab",
        towns=towns,
        key_file=lab.private_key,
        known_hosts=lab.keys_dir / "known_hosts",
        hosts={
            name: BoundHostOverride(mgmt_address=host["host"])
            for name, host in {**reach["routers"], **reach["hosts"]}.items()
        },
        clients={
            name: BoundClient(netns=client["netns"], address=client["address"])
            for name, client in reach["clients"].items()
        },
        lab=LabHandle(state_dir=lab.state_dir, prefix=reach["prefix"]),
    )


def write_lab_binding(lab: Lab, towns: list[str], path: Path) -> BindingFile:
    binding = lab_binding(lab, towns)
    write_binding(path, binding)
    return binding
