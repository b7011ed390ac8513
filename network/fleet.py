"""Reaching an environment's devices: log-in parameters from the binding, a driver per router, and
commands on the towns' servers (the reachability probes), in parallel with a bounded pool."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from ipaddress import IPv4Address
from pathlib import Path
from typing import TypeVar

from inventory.environment import BoundHost, EnvironmentBinding

from .drivers.device import Access, Driver, driver_for

T = TypeVar("T")
Progress = Callable[[str], None]  # called with a device name each time one is done


# How long a shared SSH connection to a town's server outlives its last use: the bound on what is
# left behind if the process dies before it closes them.
SHARED_SSH_IDLE_S = 60


class Fleet:
    def __init__(self, binding: EnvironmentBinding, conn_timeout: float = 10.0) -> None:
        self.binding = binding
        self.conn_timeout = conn_timeout
        self._control_dir: Path | None = None
        self._shared: set[str] = set()  # user@host of the shared connections opened
        self._shared_lock = threading.Lock()

    def router(self, name: str) -> BoundHost:
        host = self.binding.host(name)
        if host.kind != "router":
            raise KeyError(f"'{name}' is not a router of environment '{self.binding.name}'")
        return host

    def access(self, host: BoundHost) -> Access:
        pinned = self.binding.known_hosts
        if pinned is None and self.binding.config.ssh.host_key_policy == "pin":
            raise KeyError(f"environment '{self.binding.name}' pins host keys but its binding names no known_hosts")
        # The administrator/enable secret of the platforms that ask for one, from the operator's
        # environment (never the repo); a driver that needs it and finds none says which variable.
        secret_env = self.binding.config.ssh.enable_secret_env
        secret = os.environ.get(secret_env) if secret_env else None
        return Access(host.ssh_user, self.binding.key_file, pinned, self.conn_timeout, enable_secret=secret or None)

    def driver(self, name: str) -> Driver:
        host = self.router(name)
        return driver_for(host.platform or "frr", str(host.mgmt_address), self.access(host))

    def town_probe(self, town: str) -> BoundHost | None:
        """The town's in-office server that probes the DC service (role `probe`)."""
        return next((h for h in self.binding.servers() if h.town == town and h.role == "probe"), None)

    @contextmanager
    def shared_server_connections(self) -> Iterator[None]:
        """Within: one SSH connection per town server, shared by every command sent to it (OpenSSH
        connection multiplexing); all closed on the way out. An apply probes each town's server
        up to three times (before, after the canary, in the final verification); logging in took
        about as long as the probe itself."""
        self._control_dir = Path(tempfile.mkdtemp(prefix="municloud-ssh-"))
        try:
            yield
        finally:
            with self._shared_lock:
                shared, self._shared = sorted(self._shared), set()
            parallel(self._close_shared, shared, 32)
            shutil.rmtree(self._control_dir, ignore_errors=True)
            self._control_dir = None

    def _close_shared(self, destination: str) -> None:
        subprocess.run(
            ["ssh", *self._ssh_options(), "-O", "exit", destination],
            capture_output=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )

    def _ssh_options(self) -> list[str]:
        options = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(self.conn_timeout)}", "-o", "LogLevel=ERROR"]
        if self.binding.config.ssh.host_key_policy == "accept-new":
            # the lab rebuilds its containers with new host keys: nothing to pin against
            options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        elif self.binding.known_hosts is not None:
            options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.binding.known_hosts}"]
        if self._control_dir is not None:
            options += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={self._control_dir}/%C",
                "-o",
                f"ControlPersist={SHARED_SSH_IDLE_S}",
            ]
        return options + (["-i", str(self.binding.key_file)] if self.binding.key_file else [])

    def reach_from(
        self, server: BoundHost, targets: Iterable[tuple[IPv4Address, int | None]], timeout: float = 20
    ) -> dict[str, bool]:
        """From `server` (over SSH), all at once: each (address, None) pinged, each (address, port)
        connected to over TCP; which answered, by `reach_key`."""
        targets = list(targets)

        def one(address: IPv4Address, port: int | None) -> str:
            key = reach_key(address, port)
            test = (
                f"ping -n -q -c 3 -i 0.2 -W 1 {address}"
                if port is None
                else f"timeout 3 bash -c '</dev/tcp/{address}/{port}'"
            )
            return f"({test} >/dev/null 2>&1 && echo {key} ok || echo {key} fail) &"

        script = " ".join(one(*t) for t in targets) + " wait"
        destination = f"{server.ssh_user}@{server.mgmt_address}"
        if self._control_dir is not None:
            with self._shared_lock:
                self._shared.add(destination)
        try:
            result = subprocess.run(
                ["ssh", *self._ssh_options(), destination, script],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return {reach_key(*t): False for t in targets}
        answered = {line.split()[0] for line in result.stdout.splitlines() if line.endswith(" ok")}
        return {reach_key(*t): reach_key(*t) in answered for t in targets}


def reach_key(address: IPv4Address, port: int | None) -> str:
    return f"{address}:{port}" if port is not None else str(address)


def parallel(
    fn: Callable[[str], T],
    names: Iterable[str],
    workers: int,
    progress: Progress | None = None,
    hold: Callable[[str], AbstractContextManager[object]] | None = None,
) -> dict[str, T | BaseException]:
    """Run `fn` per name with at most `workers` at a time; an exception is returned, not raised.
    With `hold`, each call runs inside `hold(name)` (a device's slots on its carrier edges: the
    bound per edge holds whatever `workers` is)."""
    names = list(names)
    results: dict[str, T | BaseException] = {}
    if not names:
        return results

    def held(name: str) -> T:
        if hold is None:
            return fn(name)
        with hold(name):
            return fn(name)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
        futures = {pool.submit(held, name): name for name in names}
        for future in as_completed(futures):
            name = futures[future]
            try:
                results[name] = future.result()
            except BaseException as error:  # reported per device by the caller
                results[name] = error
            if progress:
                progress(name)
    return results


def quote(text: str) -> str:
    return shlex.quote(text)
