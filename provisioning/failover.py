"""The database failover and fail-back between the data centers: the playbooks, then the record of
which site holds the primary. Shared by `municloud db failover|failback` and the BCP drills."""

from __future__ import annotations

import subprocess

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from toolkit.settings import state_dir

from .db_state import primary_site, record_primary_site
from .remote import Remote, RemoteError, psql_command, server
from .runner import Events, PlaybookResult, run_playbook


def failover(
    inventory: Inventory, binding: EnvironmentBinding, to: str, events: Events | None = None
) -> PlaybookResult:
    """Promote the standby in `to` and point its app servers at it (dc_failover.yml). A run that
    failed after the promotion (a later play) still records `to`: its database is a primary now,
    and the fail-back (a drill's rollback) must start from there, not from the lost site."""
    _known_site(inventory, to)
    result = run_playbook(inventory, binding, "dc_failover.yml", extravars={"failover_to": to}, events=events)
    if result.ok:
        record_primary_site(inventory, binding.name, to, f"failover to {to}")
    elif _is_primary(binding, to):
        record_primary_site(inventory, binding.name, to, f"failover to {to} (promoted; a later step failed)")
    return result


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
