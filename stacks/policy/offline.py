"""Feeding a mocked run to the policies, as the engine would feed a real one.

The engine hands a stack policy every resource with its properties and, per property, the
resources it depends on. Mocks do not pass the dependencies on, so they are rebuilt here the only
way they arise in our program: a property holding another resource's id depends on that resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError

from ..mocked import MockedRun


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    resource: str | None  # the urn, when the policy named one


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def policy_resources(run: MockedRun) -> list[PolicyResource]:
    urn = {r.id: f"urn:pulumi:{run.stack}::municloud::{r.type}::{r.name}" for r in run.resources}
    resources = {
        r.id: PolicyResource(r.type, r.state, urn[r.id], r.name, _options(), None, None, [], {}) for r in run.resources
    }
    for r in run.resources:
        resource = resources[r.id]
        for key, value in r.state.items():
            deps = [resources[s] for s in _strings(value) if s in resources and s != r.id]
            if deps:
                resource.property_dependencies[key] = deps
                resource.dependencies.extend(d for d in deps if d not in resource.dependencies)
    return list(resources.values())


def evaluate(
    policies: Sequence[ResourceValidationPolicy | StackValidationPolicy], resources: Iterable[PolicyResource]
) -> list[Violation]:
    resources = list(resources)
    found: list[Violation] = []
    for policy in policies:

        def report(message: str, urn: str | None = None, name: str = policy.name) -> None:
            found.append(Violation(name, message, urn))

        try:
            if isinstance(policy, StackValidationPolicy):
                policy.validate(StackValidationArgs(resources), report)
            else:
                for r in resources:
                    args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None)
                    policy.validate(args, report)
        except _NotApplicableError:
            continue
    return found
