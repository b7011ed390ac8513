"""Running a stack's program under Pulumi's mocks, with no CLI and no vCenter: what tests, the
policy check of a whole program and the benchmark use.

Each run resets the Pulumi runtime and installs fresh mocks, so nothing of an earlier run (the root
stack, its outputs, recorded resources) leaks into the next. The vSphere lookups answer with ids
made from the names asked for; StackReferences answer with the outputs the caller supplies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings

from inventory.loader import Inventory

from .naming import PROJECT

STACK_REFERENCE = "pulumi:pulumi:StackReference"

# The lookups the program makes, and the fields it reads of each (the mocks answer in camelCase,
# the wire format).
_LOOKUPS = {
    "vsphere:index/getDatacenter:getDatacenter": lambda name: {"id": f"datacenter-{name}"},
    "vsphere:index/getComputeCluster:getComputeCluster": lambda name: {
        "id": f"cluster-{name}",
        "resourcePoolId": f"pool-{name}",
    },
    "vsphere:index/getDatastore:getDatastore": lambda name: {"id": f"datastore-{name}"},
    "vsphere:index/getDistributedVirtualSwitch:getDistributedVirtualSwitch": lambda name: {"id": f"dvs-uuid-{name}"},
    "vsphere:index/getNetwork:getNetwork": lambda name: {"id": f"network-{name}"},
    "vsphere:index/getHost:getHost": lambda name: {"id": f"host-{name}", "resourcePoolId": f"pool-{name}"},
    "vsphere:index/getVirtualMachine:getVirtualMachine": lambda name: {
        "id": f"vm-{name}",
        "uuid": f"uuid-{name}",
        "guestId": "debian12_64Guest",
    },
}


@dataclass(frozen=True)
class Recorded:
    """One resource the program registered: its inputs as the engine (and a policy) sees them."""

    type: str
    name: str
    id: str
    custom: bool
    inputs: Mapping[str, Any]
    state: Mapping[str, Any]


@dataclass
class MockedRun:
    stack: str
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Recorded:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named '{name}'")
        return matches[0]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, run: MockedRun, references: Mapping[str, Mapping[str, Any]]) -> None:
        self.run = run
        self.references = references

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.typ.rsplit(':', 1)[-1]}-{args.name}-id"
        state = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            name = args.inputs["name"]
            if name not in self.references:
                raise KeyError(f"no outputs given for the referenced stack '{name}'")
            state = {"name": name, "outputs": dict(self.references[name]), "secretOutputNames": []}
        self.run.resources.append(Recorded(args.typ, args.name, rid, bool(args.custom), dict(args.inputs), state))
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.run.calls.append((args.token, dict(args.args)))
        try:
            return _LOOKUPS[args.token](args.args.get("name"))
        except KeyError:
            raise KeyError(f"the mocks do not know the lookup {args.token}") from None


def run_mocked(
    stack: str,
    inventory: Inventory,
    references: Mapping[str, Mapping[str, Any]] | None = None,
) -> MockedRun:
    """Run the program of `stack` under fresh mocks; the resources it registered and its outputs."""
    from .program import main

    run = MockedRun(stack)
    pulumi_settings.reset_options(project=PROJECT, stack=stack)  # drops the previous run's root stack
    pulumi.runtime.set_mocks(RecordingMocks(run, references or {}), project=PROJECT, stack=stack, preview=False)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        main(stack, inventory)
        root = pulumi_settings.get_root_resource()
        assert root is not None
        return pulumi.Output.from_input(dict(root.outputs)).apply(run.outputs.update)

    program()
    return run
