"""A server as the operations center reaches it: a command over SSH with the binding's key, host
keys pinned as for Ansible (`ssh_args`), never a password prompt. What runs a psql, a pgbackrest
or a pg_ctl on a database or backup server outside a playbook (the hand-over's export, the
point-in-time restore) goes through here."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from inventory.environment import BoundHost, EnvironmentBinding

from .runner import ssh_args


class RemoteError(RuntimeError):
    """A command that failed on a server: the server, the command's job and its error output."""

    def __init__(self, host: str, what: str, detail: str) -> None:
        super().__init__(f"{what} on {host} failed: {detail.strip()[-800:] or 'no error output'}")
        self.host = host


class Remote:
    def __init__(
        self, binding: EnvironmentBinding, host: BoundHost, workdir: Path, options: tuple[str, ...] = ()
    ) -> None:
        self.host = host
        workdir.mkdir(parents=True, exist_ok=True)
        key = ["-i", str(binding.key_file)] if binding.key_file else []
        options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", *options]
        self.argv = ["ssh", *key, *options, *shlex.split(ssh_args(binding, workdir))]
        self.argv.append(f"{host.ssh_user}@{host.mgmt_address}")

    @property
    def name(self) -> str:
        return self.host.name

    def run(self, command: str, what: str, input: str | bytes | None = None, timeout: float = 120) -> str:
        """The command's standard output; RemoteError naming `what` when it exits non-zero."""
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run([*self.argv, command], input=data, capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RemoteError(self.name, what, done.stderr.decode(errors="replace") or done.stdout.decode())
        return done.stdout.decode(errors="replace")

    def popen(self, command: str) -> subprocess.Popen[bytes]:
        """The command with its stdin, stdout and stderr piped, as bytes."""
        return subprocess.Popen(
            [*self.argv, command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )


def psql_command(database: str = "business", port: int | None = None) -> str:
    """psql as postgres on a database server (the playbooks' postgresql_database by default), the
    script on stdin or in -c arguments appended; quiet, unaligned, stopping at the first error."""
    where = f" -p {port}" if port else ""
    return f"cd / && runuser -u postgres -- psql -XqAt -v ON_ERROR_STOP=1{where} -d {database}"


def server(binding: EnvironmentBinding, site: str, role: str) -> BoundHost:
    """The first server of `role` at `site` (KeyError naming both when there is none)."""
    for host in binding.servers():
        if host.site == site and host.role == role:
            return host
    raise KeyError(f"no {role} server in {site} in the {binding.name} binding")
