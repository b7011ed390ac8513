"""The database primary as the hand-over reaches it: psql run as postgres on the server over SSH (the
operations center reaches the servers only so; the database listens to the app servers alone)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.environment import BoundHost, EnvironmentBinding
from inventory.loader import Inventory
from provisioning.db_state import primary_site
from provisioning.remote import Remote, RemoteError, server

DATABASE = "business"  # the playbooks' postgresql_database
PSQL = f"cd / && runuser -u postgres -- psql -XqAt -v ON_ERROR_STOP=1 -d {DATABASE}"


class Primary:
    def __init__(self, inventory: Inventory, binding: EnvironmentBinding, workdir: Path) -> None:
        site = primary_site(inventory, binding.name).site
        self.host: BoundHost = server(binding, site, "db")
        self.remote = Remote(binding, self.host, workdir)

    def popen(self) -> subprocess.Popen[bytes]:
        """psql reading its script from stdin; stdout and stderr piped, as bytes."""
        return self.remote.popen(PSQL)

    def run(self, sql: str, timeout: float = 120) -> str:
        """One script's output (RuntimeError with psql's message when it fails)."""
        return self.remote.run(PSQL, "psql", input=sql, timeout=timeout)

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
            raise RemoteError(self.host.name, "psql", errors.decode(errors="replace"))
