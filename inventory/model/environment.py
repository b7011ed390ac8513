"""An environment (inventory/environments/<name>.yaml): where the logical inventory is materialised."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import InventoryModel, Slug
from .towns import RouterPlatform

EXECUTION_NODE_PREFIX = "exec-"
# How the binding and the lab label an execution node: its role, and its site (beside the operations
# machine, neither a town nor a data center).
EXECUTION_NODE_ROLE = "execution-node"
EXECUTION_NODE_SITE = "operations"


def execution_node_name(index: int) -> str:
    """The name of execution node `index` (from 1): `exec-1`, as `municloud scale plan` names its nodes."""
    return f"{EXECUTION_NODE_PREFIX}{index}"


def execution_node_names(count: int) -> list[str]:
    """The names of an environment's `count` execution nodes: exec-1 ... exec-N."""
    return [execution_node_name(i) for i in range(1, count + 1)]


class Regions(InventoryModel):
    """Explicit sub-ranges of the supernet. Leave out to have them carved in order."""

    core: IPv4Network | None = Field(default=None, strict=False)
    management: IPv4Network | None = Field(default=None, strict=False)
    towns: IPv4Network | None = Field(default=None, strict=False)


class SshAccess(InventoryModel):
    router_user: str
    server_user: str
    key_file: Path | None = Field(default=None, strict=False)
    key_file_env: str | None = None  # name of an environment variable holding the key's path
    # name of an environment variable holding the routers' administrator (enable) secret, for the
    # platforms that ask for one after the log-in (Yamaha RTX's `administrator`); never in the repo
    enable_secret_env: str | None = None
    host_key_policy: Literal["pin", "accept-new"]


class AlertMail(InventoryModel):
    """How the alert e-mails leave (monitoring/alerting.py). A lab's go to the mail server the lab's
    monitoring starts (monitoring/mailbox.py: every message kept, nothing leaves the machine); a
    production environment's to its relay, whose address and login come from the operator's
    environment variables named here, never from the repository."""

    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    relay_env: str | None = None  # variable holding the relay's host:port
    username_env: str | None = None
    password_env: str | None = None
    require_tls: bool = True


class SyntheticResidents(InventoryModel):
    """A synthetic population seeded into the tenants' schemas (residents/synthetic.py): the lab
    only, never production, whose residents come from the towns themselves."""

    seed: int
    scale: dict[Literal["small", "full"], Annotated[float, Field(gt=0, le=1)]]  # per lab profile


class EnvironmentConfig(InventoryModel):
    name: Slug
    kind: Literal["lab", "prod"]
    description: str = ""
    supernet: IPv4Network = Field(strict=False)
    regions: Regions = Regions()
    ssh: SshAccess
    # Every router of this environment runs this platform (the lab: frr); None means each router's
    # own platform from the inventory (production).
    router_platform: RouterPlatform | None = None
    # The resolved binding (management addresses, host keys) written by `lab up` or from Pulumi
    # stack outputs; when absent, the binding is derived from the address plan alone.
    binding_file: Path | None = Field(default=None, strict=False)
    synthetic_residents: SyntheticResidents | None = None
    alert_mail: AlertMail | None = None
    # How many execution nodes run this environment's playbooks (ansible-runner's streaming protocol:
    # transmitted from the operations machine, `ansible-runner worker` on the node over SSH); 0: every
    # playbook runs on the operations machine itself. Named exec-1 ... exec-N (`execution_node_names`),
    # the names `municloud scale plan` gives its nodes; their management addresses follow the core
    # nodes' in the address plan.
    execution_nodes: int = Field(default=0, ge=0, le=32)

    @model_validator(mode="after")
    def _synthetic_residents_in_the_lab_only(self) -> EnvironmentConfig:
        if self.synthetic_residents is not None and self.kind != "lab":
            raise ValueError("synthetic_residents: only a lab environment may hold synthetic residents")
        return self

    @model_validator(mode="after")
    def _production_mail_through_a_relay(self) -> EnvironmentConfig:
        if self.kind == "prod" and self.alert_mail is not None and not self.alert_mail.relay_env:
            raise ValueError("alert_mail.relay_env: a production environment sends its alerts through a relay")
        return self
