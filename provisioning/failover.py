"""The database failover and fail-back between the data centers: the playbooks, then the record of
which site holds the primary. Shared by `municloud db failover|failback` and the BCP drills."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from toolkit.settings import state_dir

from .db_state import primary_site, record_primary_site
from .remote import Remote, RemoteError, psql_command, server
from .runner import Events, PlaybookResult, run_playbook

PROMOTE = "/usr/local/sbin/municloud-db-promote"  # the postgresql role installs it on every database server


@dataclass
class FailoverResult:
    """The failover: the promotion over one SSH round trip (the critical path: writes are accepted
    when it returns), then dc_failover.yml (the app servers' configuration, the new primary's
    settings; its own promotion finds a primary then). `promotion_error` says why the direct
    promotion did not happen: the playbook's first play promoted instead, Ansible's start-up in the RTO."""

    playbook: PlaybookResult
    promoted_after: float | None  # seconds from the start to the promotion (None: the playbook promoted)
    promotion_error: str = ""

    @property
    def ok(self) -> bool:
        return self.playbook.ok


def failover(
    inventory: Inventory, binding: EnvironmentBinding, to: str, events: Events | None = None
) -> FailoverResult:
    """Promote the standby in `to` and point its app servers at it. A run that failed after the
    promotion (a later play) still records `to`: its database is a primary now, and the fail-back (a
    drill's rollback) must start from there, not from the lost site."""
    _known_site(inventory, to)
    began = time.monotonic()
    promoted_after: float | None = None
    error = ""
    remote = Remote(binding, server(binding, to, "db"), state_dir() / "failover" / binding.name)
    try:
        remote.run(PROMOTE, "the promotion", timeout=90)
        promoted_after = time.monotonic() - began
    except (RemoteError, subprocess.TimeoutExpired) as failed:
        error = str(failed)
    result = run_playbook(inventory, binding, "dc_failover.yml", extravars={"failover_to": to}, events=events)
    if result.ok:
        record_primary_site(inventory, binding.name, to, f"failover to {to}")
    elif promoted_after is not None or _is_primary(binding, to):
        record_primary_site(inventory, binding.name, to, f"failover to {to} (promoted; a later step failed)")
    return FailoverResult(result, promoted_after, error)


def failback(
    inventory: Inventory, binding: EnvironmentBinding, to: str, events: Events | None = None
) -> PlaybookResult:
    """Make `to` the primary again without losing a write (dc_failback.yml). ValueError when the
    primary is already there."""
    _known_site(inventory, to)
    current = primary_site(inventory, binding.name).site
    if current == to:
        raise ValueError(f"the primary is already in {to}: nothing to fail back")
    result = run_playbook(
        inventory, binding, "dc_failback.yml", extravars={"failback_to": to, "failback_from": current}, events=events
    )
    if result.ok:
        record_primary_site(inventory, binding.name, to, f"fail-back to {to}")
    return result


def _is_primary(binding: EnvironmentBinding, site: str) -> bool:
    """Whether the database server of `site` answers as a primary (False when it cannot be asked)."""
    remote = Remote(binding, server(binding, site, "db"), state_dir() / "failover" / binding.name)
    try:
        answer = remote.run(f"{psql_command('postgres')} -c 'SELECT pg_is_in_recovery()'", "psql", timeout=30)
    except (RemoteError, subprocess.TimeoutExpired):
        return False
    return answer.strip() == "f"


def _known_site(inventory: Inventory, site: str) -> None:
    if site not in {dc.id for dc in inventory.datacenters}:
        raise KeyError(f"no data center '{site}' in the inventory")
