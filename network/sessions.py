"""One management session per router, kept open for the length of a command.

Logging in to a router costs more than most of what is done once in: the SSH key exchange and the
start of vtysh took 0.7-1.2 s on the lab's routers, a `show` 0.1-0.3 s. An apply that logged in
afresh for each step (backup, pre-check, push, post-checks, final verification, save, post-change
backup) spent most of its time logging in, so it keeps one session per router from its first step
to its last.

A session serves one thread at a time (a lock per router). A session that raised anything is closed
and forgotten, so the next use logs in again: a router that dropped off the management network, or
a push cut short by a rejected line (which leaves the session in configuration mode), never hands a
half-known session to the next step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Protocol

from .drivers.device import Driver


class DriverSource(Protocol):
    def driver(self, name: str) -> Driver: ...


class Sessions:
    def __init__(self, source: DriverSource) -> None:
        self.source = source
        self._open: dict[str, Driver] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    @contextmanager
    def use(self, name: str) -> Iterator[Driver]:
        """The router's open session (logged in on first use), for this thread alone meanwhile."""
        with self._lock(name):
            driver = self._open.get(name)
            if driver is None:
                driver = self.source.driver(name)
                driver.open()
                self._open[name] = driver
            try:
                yield driver
            except BaseException:
                self._forget(name)
                raise

    def drop(self, name: str) -> None:
        """Close the router's session (the next use logs in again)."""
        with self._lock(name):
            self._forget(name)

    def _forget(self, name: str) -> None:
        driver = self._open.pop(name, None)
        if driver is not None:
            driver.close()

    def close(self) -> None:
        """Log out of every router, all at once (a polite logout waits for the router's answer)."""
        names = list(self._open)
        if names:
            with ThreadPoolExecutor(max_workers=min(len(names), 32)) as pool:
                list(pool.map(self.drop, names))
