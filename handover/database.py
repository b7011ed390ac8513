"""The database primary as the hand-over reaches it: psql run as postgres on the server over SSH (the
operations center reaches the servers only so; the database listens to the app servers alone)."""

from __future__ import annotations

import io
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.environment import BoundHost, EnvironmentBinding
from inventory.loader import Inventory
from provisioning.db_state import primary_site
from provisioning.runner import ssh_args

DATABASE = "business"  # the playbooks' postgresql_database
PSQL = f"cd / && runuser -u postgres -- psql -XqAt -v ON_ERROR_STOP=1 -d {DATABASE}"


class Primary:
    def __init__(self, inventory: Inventory, binding: EnvironmentBinding, workdir: Path) -> None:
        site = primary_site(inventory, binding.name).site
        self.host: BoundHost = next(h for h in binding.servers() if h.site == site and h.role == "db")
        workdir.mkdir(parents=True, exist_ok=True)
        key = ["-i", str(binding.key_file)] if binding.key_file else []
        options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
        self.ssh = ["ssh", *key, *options, *shlex.split(ssh_args(binding, workdir))]
        self.ssh.append(f"{self.host.ssh_user}@{self.host.mgmt_address}")

    def popen(self) -> subprocess.Popen[bytes]:
        """psql reading its script from stdin; stdout and stderr piped, as bytes."""
        return subprocess.Popen(
            [*self.ssh, PSQL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def run(self, sql: str, timeout: float = 120) -> str:
        """One script's output (RuntimeError with psql's message when it fails)."""
        done = subprocess.run([*self.ssh, PSQL], input=sql.encode(), capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"psql on {self.host.name} failed: {done.stderr.decode(errors='replace').strip()[-500:]}"
            )
        return done.stdout.decode()

    @contextmanager
    def session(self) -> Iterator[io.TextIOWrapper]:
        """A script written a line at a time (COPY data streamed, memory flat); run to its end when the
        block ends, RuntimeError with psql's message when it failed."""
        process = self.popen()
        assert process.stdin is not None and process.stderr is not None
        script = io.TextIOWrapper(process.stdin, encoding="utf-8", newline="\n", write_through=False)
        try:
            yield script
            script.close()
        except BaseException:
            process.kill()
            process.wait()
            raise
        errors = process.stderr.read()
        process.wait(timeout=600)
        if process.returncode != 0:
            raise self.failed(errors)
