"""Stack names and scopes: `prod-dc`, `prod-wan`, `prod-<town>`, and the tag keys every stack shares."""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "municloud"  # the `name:` of Pulumi.yaml
# The file and S3 backends have no organisations: a stack is referenced as organization/<project>/<stack>.
ORGANIZATION = "organization"
DC_SCOPE = "dc"
WAN_SCOPE = "wan"

# The vSphere tag categories the stacks create and the policy pack reads.
TOWN, SYSTEM, TIER, SITE, LAYER, BACKUP = "town", "system", "tier", "site", "layer", "backup-policy"
SHARED_TOWN = "shared"  # the town tag of what every town shares (the multi-tenant DC servers, port groups)
OFFICE_SITE = "office"  # the site tag of a town's own host


@dataclass(frozen=True)
class StackId:
    env: str
    scope: str  # "dc", "wan" or a town id

    @property
    def name(self) -> str:
        return f"{self.env}-{self.scope}"

    @property
    def kind(self) -> str:
        return self.scope if self.scope in (DC_SCOPE, WAN_SCOPE) else "town"

    def reference(self) -> str:
        """The fully qualified name another stack uses in a StackReference."""
        return f"{ORGANIZATION}/{PROJECT}/{self.name}"


def parse_stack(name: str) -> StackId:
    env, sep, scope = name.partition("-")
    if not sep or not env or not scope:
        raise ValueError(f"stack name '{name}' is not <env>-<scope> (prod-dc, prod-wan, prod-<town>)")
    return StackId(env, scope)


def tag_key(category: str, name: str) -> str:
    """How a tag is named in the stacks' outputs and in the policies: 'town/ina', 'tier/app'."""
    return f"{category}/{name}"
