"""The business app's route to the database (it runs in the data centers on Debian's python3, so
psycopg2 is replaced here by a fake that serves a primary and a standby by host): reads fall back
to the local standby while the primary is lost, and writes move to it once it is promoted (a
failover), never back to the lost primary."""

from __future__ import annotations

import importlib.util
import itertools
import socket
import sys
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "playbooks/roles/business_app/files/municloud_business_app.py"


class FakeServer:
    def __init__(self, in_recovery: bool) -> None:
        self.up = True
        self.in_recovery = in_recovery
        self.rows: list[int] = []
        self.sessions: list[socket.socket] = []  # the server's end of each client connection
        self.queries = 0
        self.attempts = 0  # statements and connections tried, the server up or not

    def restart(self) -> None:
        """Every session ends (its client's socket turns readable, as after a real restart)."""
        for session in self.sessions:
            session.close()
        self.sessions.clear()


def fake_psycopg2(servers: dict[str, FakeServer]) -> types.ModuleType:
    module = types.ModuleType("psycopg2")

    class Error(Exception):
        pass

    class OperationalError(Error):
        pass

    ids = itertools.count(1)

    class Cursor:
        def __init__(self, conn: Connection) -> None:
            self.conn, self.server, self.rows, self.description = conn, conn.server, [], None

        def __enter__(self) -> Cursor:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def execute(self, sql: str, params: tuple = ()) -> None:
            self.server.attempts += 1
            if not self.server.up or self.conn.dead():
                raise OperationalError("server closed the connection unexpectedly")
            self.server.queries += 1
            self.description = ("col",)
            if "EXISTS" in sql:  # a health check: the schema answers, and which kind of server it is
                self.rows = [(True, self.server.in_recovery)]
            elif "pg_is_in_recovery" in sql:
                self.rows = [(self.server.in_recovery,)]
            elif sql.startswith("INSERT"):
                if self.server.in_recovery:
                    raise Error("cannot execute INSERT in a read-only transaction")
                self.server.rows.append(next(ids))
                self.rows = [(self.server.rows[-1], datetime.now(UTC))]
            else:
                self.rows = [(1,)]

        def fetchall(self) -> list[tuple]:
            return self.rows

    class Connection:
        """A session backed by a real socket pair, so that the app's liveness check (is the idle
        socket readable?) sees what it would see with libpq."""

        autocommit = False

        def __init__(self, server: FakeServer) -> None:
            self.server = server
            self.closed = 0
            self.client, session = socket.socketpair()
            server.sessions.append(session)

        def dead(self) -> bool:
            self.client.setblocking(False)
            try:
                return self.client.recv(1) == b""
            except BlockingIOError:
                return False

        def fileno(self) -> int:
            return self.client.fileno()

        def cursor(self) -> Cursor:
            return Cursor(self)

        def close(self) -> None:
            self.closed = 1
            self.client.close()

    class ThreadedConnectionPool:
        """psycopg2's pool as far as the app relies on it: idle connections are reused last in,
        first out; a new one is opened when none is idle."""

        def __init__(self, minconn: int, maxconn: int, host: str, **_kw: object) -> None:
            self.server = servers[host]
            self.idle: list[Connection] = []
            for _ in range(minconn):
                self.idle.append(self._connect())

        def _connect(self) -> Connection:
            self.server.attempts += 1
            if not self.server.up:
                raise OperationalError(f"connection to {self.server} timed out")
            return Connection(self.server)

        def getconn(self) -> Connection:
            return self.idle.pop() if self.idle else self._connect()

        def putconn(self, conn: Connection, close: bool = False) -> None:
            if close:
                conn.close()
            else:
                self.idle.append(conn)

        def closeall(self) -> None:
            for conn in self.idle:
                conn.close()
            self.idle.clear()

    module.Error, module.OperationalError = Error, OperationalError
    module.pool = types.SimpleNamespace(ThreadedConnectionPool=ThreadedConnectionPool)
    return module


def load_app(monkeypatch: pytest.MonkeyPatch, servers: dict[str, FakeServer]):
    """The stand-in's module, loaded from its file with the fake psycopg2 serving `servers`."""
    fake = fake_psycopg2(servers)
    monkeypatch.setitem(sys.modules, "psycopg2", fake)
    monkeypatch.setitem(sys.modules, "psycopg2.pool", fake.pool)
    spec = importlib.util.spec_from_file_location("municloud_business_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, fake


@pytest.fixture
def dc2_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """DC2's app server: the primary in DC1, its own standby as the fallback."""
    servers = {"dc1-db": FakeServer(in_recovery=False), "dc2-db": FakeServer(in_recovery=True)}
    module, fake = load_app(monkeypatch, servers)
    monkeypatch.setattr(module.Route, "PRIMARY_RETRY_SECONDS", 0.1)
    password = tmp_path / "pass"
    password.write_text("secret\n")
    cfg = {"host": "dc1-db", "fallback_host": "dc2-db", "name": "business", "user": "app", "password_file": password}
    route = module.Route(cfg)
    yield route, servers, fake
    route.stop()


def _until(condition, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _write(route) -> bool:
    try:
        route.write("INSERT INTO town_ina.writes (site) VALUES (%s) RETURNING id, written_at", ("dc2",))
        return True
    except sys.modules["psycopg2"].Error:
        return False


def test_writes_move_to_the_promoted_local_standby_and_never_back(dc2_app) -> None:
    route, servers, _fake = dc2_app
    assert _write(route) and servers["dc1-db"].rows
    servers["dc1-db"].up = False  # DC1 lost
    assert not _write(route)
    assert route.read("SELECT pg_is_in_recovery()") == [(True,)]  # reads from DC2's standby
    servers["dc2-db"].in_recovery = False  # the failover promotes it
    assert _until(lambda: _write(route)), "writes were not accepted after the promotion"
    assert servers["dc2-db"].rows
    servers["dc1-db"].up = True  # the old primary reachable again: it must never take writes
    before = list(servers["dc1-db"].rows)
    time.sleep(0.5)
    assert _write(route) and servers["dc1-db"].rows == before


def test_a_lost_primary_with_an_unpromoted_standby_takes_no_write_until_it_is_back(dc2_app) -> None:
    route, servers, _fake = dc2_app
    servers["dc1-db"].up = False
    assert not _write(route)
    time.sleep(0.5)
    assert not _write(route) and not servers["dc2-db"].rows  # a standby is never written to
    servers["dc1-db"].up = True
    assert _until(lambda: route.primary_ok.is_set())
    assert route.read("SELECT pg_is_in_recovery()") == [(False,)]  # reads back on the primary
    assert _write(route)


def test_the_standby_sites_app_knows_the_primary_is_lost_before_any_request(dc2_app) -> None:
    """Its watch asks the primary while it answers too, so the towns' first requests after a cut go
    straight to the local standby instead of each waiting out the lost primary's timeouts."""
    route, servers, _fake = dc2_app
    assert _until(lambda: servers["dc1-db"].attempts > 0)  # asked without any request
    servers["dc1-db"].up = False  # DC1 cut off: nobody has asked anything yet
    assert _until(lambda: not route.primary_ok.is_set()), "the lost primary went unnoticed until a request came"
    queries = servers["dc1-db"].queries
    assert route.read("SELECT pg_is_in_recovery()") == [(True,)]  # the first request: the standby, at once
    assert servers["dc1-db"].queries == queries
    servers["dc1-db"].up = True
    assert _until(lambda: route.primary_ok.is_set())


def test_writes_are_refused_at_once_while_the_primary_is_lost(dc2_app) -> None:
    """Once the primary is known lost, a write does not try it again (a connect timeout per write
    held a thread and a pool slot each: the towns' heartbeats starved the reads from the standby);
    the watch alone tries it, and a write is taken again as soon as it is back."""
    route, servers, _fake = dc2_app
    servers["dc1-db"].up = False
    assert not _write(route)  # the first one finds it lost
    tried = servers["dc1-db"].attempts
    refused = [_write(route) for _ in range(200)]
    assert not any(refused) and not servers["dc2-db"].rows
    assert servers["dc1-db"].attempts - tried <= 2, "writes kept trying the lost primary"
    servers["dc1-db"].up = True
    assert _until(lambda: _write(route)), "writes were not taken again once the primary was back"


def test_a_restarted_primary_is_used_again_at_once_not_through_its_dead_connections(dc2_app) -> None:
    """Every pooled connection dies with a restart (or a long cut) of the primary; none of them
    may send a request to the standby afterwards (CI: dc2-app1 answered from its standby long after
    a DC cut was over, because nothing had used its pool since)."""
    route, servers, _fake = dc2_app
    for _ in range(20):
        assert route.read("SELECT pg_is_in_recovery()") == [(False,)]
    servers["dc1-db"].restart()
    answers = [route.read("SELECT pg_is_in_recovery()") for _ in range(40)]
    assert answers == [[(False,)]] * 40  # the standby would answer (True,)
    assert route.primary_ok.is_set()


def test_warm_opens_the_pools_before_any_request(dc2_app) -> None:
    """A started or reloaded service opens its connections at once: a pool opened by the first
    requests held them all waiting (the DC1 app after the fail-back: every town out for 5-6 s when
    DC1 rejoined the WAN)."""
    route, servers, _fake = dc2_app
    assert not servers["dc1-db"].sessions and route.primary.pool is None
    route.warm()
    assert len(servers["dc1-db"].sessions) == route.primary.size
    assert len(servers["dc2-db"].sessions) == route.local.size  # the local standby's too
    queries = servers["dc1-db"].queries
    route.read("SELECT pg_is_in_recovery()")
    assert len(servers["dc1-db"].sessions) == route.primary.size and servers["dc1-db"].queries == queries + 1


def test_warm_leaves_a_database_that_does_not_answer_to_the_first_requests(dc2_app) -> None:
    route, servers, _fake = dc2_app
    servers["dc1-db"].up = False
    route.warm()  # no exception: the service starts all the same
    assert route.primary.pool is None and len(servers["dc2-db"].sessions) == route.local.size


def test_a_reload_opens_the_new_pools_before_the_requests_move_to_them(monkeypatch, tmp_path: Path) -> None:
    servers = {"dc1-db": FakeServer(in_recovery=False), "dc2-db": FakeServer(in_recovery=False)}
    module, _ = load_app(monkeypatch, servers)
    (tmp_path / "pass").write_text("secret\n")
    database = {"host": "dc1-db", "name": "business", "user": "app", "password_file": str(tmp_path / "pass")}
    config = {"site": "dc1", "systems": {}, "tenants": {}, "database": database}
    app = module.App(config)
    seen = []
    real_warm = module.Route.warm

    def warm(route) -> None:
        seen.append(app.current.route is route)  # is the new route already serving?
        real_warm(route)

    monkeypatch.setattr(module.Route, "warm", warm)
    app.reconfigure({**config, "database": {**database, "host": "dc2-db"}})
    assert seen == [False]  # warmed while the old one still served
    assert app.current.route.primary.host == "dc2-db" and len(servers["dc2-db"].sessions) == 8
    app.current.route.stop()
