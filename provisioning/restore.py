"""Point-in-time recovery of the business database from pgBackRest's repositories (`municloud db
restore`, the data-destruction drill).

Streaming replication copies a dropped table to the standby within milliseconds: what undoes it is
the WAL archive. Two ways back:

- one town (`restore_town`): the cluster is restored beside the primary, on its own server, into a
  scratch data directory and port (`pgbackrest restore --type=time`, archiving off so it never
  writes into the repositories), the town's schema is taken from it and put in place of the damaged
  one in one transaction; the other towns are not touched and keep their service. The damaged
  schema is kept, renamed, as the evidence (`town_x__damaged_<time>`): an operator drops it.
- the whole cluster (`restore_cluster`): the primary itself is restored to the moment (pgBackRest's
  delta restore), promoted on a new timeline, and the standby rebuilt from it (postgresql.yml with
  `postgresql_reclone`). Every town is out meanwhile.

Before either, a transaction is committed on the primary and its WAL pushed through to the
repository (`pgbackrest check`): recovery to a time stops at the first commit after it, and a
target later than every commit in the archive would end recovery short of it (PostgreSQL refuses
to start then). What was lost is counted from the heartbeat rows (each tenant's `writes`): those
written after the restore point.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

from .ansible_inventory import BACKUP_STANZA, repository_number
from .db_state import primary_site
from .remote import Remote, psql_command, server
from .runner import Events, PlaybookResult, run_playbook

POSTGRESQL_VERSION = 15  # the playbooks' postgresql_version
DATABASE = "business"  # the playbooks' postgresql_database
PG_BIN = f"/usr/lib/postgresql/{POSTGRESQL_VERSION}/bin"
DATA_DIR = f"/var/lib/postgresql/{POSTGRESQL_VERSION}/main"
SERVICE = f"postgresql@{POSTGRESQL_VERSION}-main"
SCRATCH_DIR = f"/var/lib/postgresql/{POSTGRESQL_VERSION}/municloud-pitr"
SCRATCH_PORT = 5439
REPO_PATH = "/var/lib/pgbackrest"
JST = dt.timezone(dt.timedelta(hours=9), "JST")

Progress = Callable[[str], None]


class RestoreRefused(ValueError):
    """A restore that must not start (nothing was changed): the reason, and what is available."""


@dataclass(frozen=True)
class RestoreWindow:
    """What one repository can restore to: from the end of its oldest backup to its newest WAL."""

    repo: int
    site: str
    earliest: dt.datetime
    latest: dt.datetime

    def refuse_outside(self, target: dt.datetime) -> None:
        if not self.earliest <= target <= self.latest:
            raise RestoreRefused(
                f"{jst_text(target)} is outside what repository {self.repo} ({self.site}) holds: "
                f"{jst_text(self.earliest)} to {jst_text(self.latest)}"
            )


@dataclass
class RestoreResult:
    scope: str  # a town's id, or "cluster"
    target: dt.datetime
    repo: int
    site: str
    window: RestoreWindow
    # Heartbeat rows written after the restore point (lost), per town; None where the damage left
    # nothing to count them in.
    lost_writes: dict[str, int | None] = field(default_factory=dict)
    last_restored_write: dict[str, dt.datetime | None] = field(default_factory=dict)
    damaged_schema: str | None = None  # where the damaged copy was kept (a town's restore)
    steps: list[tuple[str, float]] = field(default_factory=list)  # (step, seconds)
    standby: PlaybookResult | None = None  # the standby's rebuild (a cluster's restore)

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.steps)


def schema_of(town: str) -> str:
    return "town_" + town.replace("-", "_")


def jst_text(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _pg_time(moment: dt.datetime) -> str:
    """recovery_target_time's form: an ISO time with its offset."""
    if moment.tzinfo is None:
        raise ValueError("a restore point needs its time zone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


class Restorer:
    """The servers a restore works on, and its steps timed."""

    def __init__(
        self,
        inventory: Inventory,
        binding: EnvironmentBinding,
        workdir: Path,
        repo_site: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.inventory = inventory
        self.binding = binding
        self.site = primary_site(inventory, binding.name).site
        self.repo_site = repo_site or self.site
        self.repo = repository_number(inventory, self.repo_site)
        self.primary = Remote(binding, server(binding, self.site, "db"), workdir)
        self.backup = Remote(binding, server(binding, self.repo_site, "backup"), workdir)
        standbys = [h for h in binding.servers() if h.role == "db" and h.site != self.site]
        self.standby = Remote(binding, standbys[0], workdir) if standbys else None
        self.progress = progress or (lambda _message: None)
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str, action: Callable[[], object]) -> object:
        self.progress(name)
        started = time.monotonic()
        try:
            return action()
        finally:
            self.steps.append((name, time.monotonic() - started))

    def sql(self, query: str, port: int | None = None, timeout: float = 120) -> str:
        return self.primary.run(psql_command(port=port), "psql", input=query, timeout=timeout).strip()

    def pgbackrest(self, remote: Remote, args: str, what: str, timeout: float = 600) -> str:
        return remote.run(
            f"cd / && runuser -u postgres -- pgbackrest --stanza={BACKUP_STANZA} {args}", what, timeout=timeout
        )

    # ---- what can be restored ---------------------------------------------------------------------
    def flush_archive(self) -> dt.datetime:
        """A commit on the primary, then its WAL through to the repository: every moment up to the
        returned one can be reached (pgbackrest check switches WAL and waits for the segment)."""
        committed = dt.datetime.fromtimestamp(
            float(self.sql("SELECT txid_current(), extract(epoch FROM now())").split("|")[1]), dt.UTC
        )
        self.pgbackrest(self.backup, "check", "pgbackrest check (the WAL archive flushed)", timeout=300)
        return committed

    def window(self, latest: dt.datetime | None = None) -> RestoreWindow:
        """The repository's range: the end of its oldest backup to `latest` (what flush_archive
        returned) or, without it, its newest WAL segment's arrival."""
        info = json.loads(self.pgbackrest(self.backup, f"--repo={self.repo} --output=json info", "pgbackrest info"))[0]
        backups = info.get("backup", [])
        if not backups:
            raise RestoreRefused(f"repository {self.repo} ({self.repo_site}) holds no backup: nothing to restore from")
        earliest = dt.datetime.fromtimestamp(min(b["timestamp"]["stop"] for b in backups), dt.UTC)
        if latest is None:
            newest = self.backup.run(
                f"find {REPO_PATH}/archive/{BACKUP_STANZA} -type f -name '0*' -printf '%T@\\n' | sort -n | tail -1",
                "the newest archived WAL",
            ).strip()
            latest = dt.datetime.fromtimestamp(float(newest or 0), dt.UTC)
        return RestoreWindow(self.repo, self.repo_site, earliest, latest)

    def heartbeats(
        self, towns: list[str], after: dt.datetime, port: int | None = None
    ) -> dict[str, tuple[int | None, dt.datetime | None]]:
        """Per town: rows written after `after`, and the newest row at or before it (None where the
        town's table is gone)."""
        found: dict[str, tuple[int | None, dt.datetime | None]] = {}
        for town in towns:
            table = f"{schema_of(town)}.writes"
            exists = self.sql(f"SELECT to_regclass('{table}') IS NOT NULL", port=port) == "t"
            if not exists:
                found[town] = (None, None)
                continue
            at = _pg_time(after)
            row = self.sql(
                f"SELECT count(*) FILTER (WHERE written_at > '{at}'), "
                f"extract(epoch FROM max(written_at) FILTER (WHERE written_at <= '{at}')) FROM {table}",
                port=port,
            ).split("|")
            last = dt.datetime.fromtimestamp(float(row[1]), dt.UTC) if row[1] else None
            found[town] = (int(row[0]), last)
        return found

    # ---- a town ------------------------------------------------------------------------------------
    def restore_town(self, town: str, target: dt.datetime) -> RestoreResult:
        if town not in self.binding.towns:
            raise RestoreRefused(f"no town '{town}' in the {self.binding.name} environment")
        latest = self.step("flush the WAL archive", self.flush_archive)
        window = self.window(latest)  # type: ignore[arg-type]
        window.refuse_outside(target)
        result = RestoreResult(town, target, self.repo, self.repo_site, window)
        lost = self.heartbeats([town], target)[town][0]
        schema = schema_of(town)
        restored, damaged = f"{schema}__restored", f"{schema}__damaged_{dt.datetime.now(JST):%Y%m%d%H%M%S}"
        try:
            self.step("restore the cluster beside the primary", lambda: self._scratch_restore(target))
            _, last = self.heartbeats([town], target, port=SCRATCH_PORT)[town]
            self.step("copy the town's schema across", lambda: self._copy_schema(schema, restored))
            present = self.sql(f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'") == "1"
            keep = f"ALTER SCHEMA {schema} RENAME TO {damaged}; " if present else ""
            self.step(
                "put the restored schema in place",
                lambda: self.sql(f"BEGIN; {keep}ALTER SCHEMA {restored} RENAME TO {schema}; COMMIT;"),
            )
            if not present:
                damaged = None  # the schema itself was dropped: nothing left to keep
        finally:
            self.step("remove the scratch cluster", self._scratch_remove)
        result.lost_writes[town] = lost
        result.last_restored_write[town] = last
        result.damaged_schema = damaged
        result.steps = self.steps
        return result

    def _scratch_restore(self, target: dt.datetime) -> None:
        """The cluster as of `target`, in SCRATCH_DIR on the primary's server, on SCRATCH_PORT
        (local connections only), archiving off, promoted once there."""
        self._scratch_remove()
        d = SCRATCH_DIR
        script = f"""set -euo pipefail
cd /
install -d -o postgres -g postgres -m 0700 {d}
runuser -u postgres -- pgbackrest --stanza={BACKUP_STANZA} --repo={self.repo} --pg1-path={d} \\
  --type=time --target={shlex.quote(_pg_time(target))} --target-action=promote --archive-mode=off restore
cat > {d}/postgresql.conf <<'X'
port = {SCRATCH_PORT}
listen_addresses = ''
unix_socket_directories = '/var/run/postgresql'
hba_file = '{d}/pg_hba.conf'
ident_file = '{d}/pg_ident.conf'
shared_buffers = '64MB'
X
echo 'local all postgres peer' > {d}/pg_hba.conf
: > {d}/pg_ident.conf
chown postgres:postgres {d}/postgresql.conf {d}/pg_hba.conf {d}/pg_ident.conf
runuser -u postgres -- {PG_BIN}/pg_ctl -D {d} -l {d}/startup.log -w -t 900 start \
  || {{ tail -20 {d}/startup.log >&2; exit 1; }}
for i in $(seq 1 900); do
  [ "$(runuser -u postgres -- psql -XqAt -p {SCRATCH_PORT} -d postgres -c 'SELECT pg_is_in_recovery()')" = f ] && exit 0
  sleep 1
done
echo 'the scratch cluster did not finish recovery in 900 s' >&2; tail -20 {d}/startup.log >&2; exit 1
"""
        self.primary.run(f"bash -c {shlex.quote(script)}", "the restore beside the primary", timeout=1800)

    def _copy_schema(self, schema: str, restored: str) -> None:
        """The schema from the scratch cluster into the primary under `restored` (renamed there
        first; a leftover of an earlier attempt is dropped)."""
        self.sql(f"ALTER SCHEMA {schema} RENAME TO {restored}", port=SCRATCH_PORT)
        self.sql(f"DROP SCHEMA IF EXISTS {restored} CASCADE")
        script = (
            f"set -euo pipefail; cd /; runuser -u postgres -- pg_dump -p {SCRATCH_PORT} -d {DATABASE} -n {restored} -Fc"
            f" | runuser -u postgres -- pg_restore -d {DATABASE} --exit-on-error"
        )
        self.primary.run(f"bash -c {shlex.quote(script)}", "the schema's copy", timeout=1800)

    def _scratch_remove(self) -> None:
        script = (
            f"if [ -f {SCRATCH_DIR}/postmaster.pid ]; then runuser -u postgres -- {PG_BIN}/pg_ctl -D {SCRATCH_DIR}"
            f" -m immediate -w stop || true; fi; rm -rf {SCRATCH_DIR}"
        )
        self.primary.run(f"bash -c {shlex.quote(script)}", "the scratch cluster's removal", timeout=300)

    # ---- the cluster -------------------------------------------------------------------------------
    def restore_cluster(
        self, target: dt.datetime, events: Events | None = None, overwrite_only_copy: bool = False
    ) -> RestoreResult:
        """Refused (RestoreRefused, nothing changed) when the primary has no streaming standby and
        `overwrite_only_copy` is not given: the restore would overwrite the only copy of the present."""
        streaming = self.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
        if streaming == "0" and not overwrite_only_copy:
            raise RestoreRefused(
                f"the primary ({self.primary.name}) has no streaming standby: it holds the only copy of the "
                "present, which the restore overwrites. Restore one town instead, or give --overwrite-only-copy"
            )
        latest = self.step("flush the WAL archive", self.flush_archive)
        window = self.window(latest)  # type: ignore[arg-type]
        window.refuse_outside(target)
        towns = list(self.binding.towns)
        counted = self.heartbeats(towns, target)
        result = RestoreResult("cluster", target, self.repo, self.repo_site, window)
        if self.standby is not None:
            # Kept as it was (the last copy of the present) until the restored primary serves.
            self.step("stop the standby", lambda: self.standby.run(f"systemctl stop {SERVICE}", "the standby's stop"))  # type: ignore[union-attr]
        script = f"""set -euo pipefail
cd /
systemctl stop {SERVICE}
runuser -u postgres -- pgbackrest --stanza={BACKUP_STANZA} --repo={self.repo} --delta \\
  --type=time --target={shlex.quote(_pg_time(target))} --target-action=promote restore
systemctl start {SERVICE}
for i in $(seq 1 900); do
  if [ "$(runuser -u postgres -- psql -XqAt -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
    # pgBackRest wrote the recovery settings into postgresql.auto.conf, which pg_basebackup copies
    # to the standby: left there, the rebuilt standby would stop at the same target and promote
    # itself (two primaries). The primary needs none of them once it is promoted.
    runuser -u postgres -- psql -XqAt -d postgres \
      -c 'ALTER SYSTEM RESET recovery_target_time' -c 'ALTER SYSTEM RESET recovery_target_action' \
      -c 'ALTER SYSTEM RESET restore_command' -c 'SELECT pg_reload_conf()' >/dev/null
    exit 0
  fi
  sleep 1
done
echo 'the primary did not finish recovery in 900 s' >&2; exit 1
"""
        try:
            self.step(
                "restore the primary in place",
                lambda: self.primary.run(f"bash -c {shlex.quote(script)}", "the primary's restore", timeout=2400),
            )
        except Exception:
            if self.standby is not None:  # the standby as it was: the copy of the present
                self.standby.run(f"systemctl start {SERVICE}", "the standby's start")
            raise
        restored = self.heartbeats(towns, target)
        result.lost_writes = {t: counted[t][0] for t in towns}
        result.last_restored_write = {t: restored[t][1] for t in towns}
        result.standby = self.step(
            "rebuild the standby from it",
            lambda: run_playbook(  # type: ignore[assignment]
                self.inventory, self.binding, "postgresql.yml", extravars={"postgresql_reclone": True}, events=events
            ),
        )
        result.steps = self.steps
        return result
