#!/usr/bin/python3
"""The stand-in for the vendor's multi-tenant business-systems package (基幹系業務システム).

One service on each data center's app server serves every subscribed (town, system) tenant on the
DC service address. It is small but real: every health check reads the town's schema in
PostgreSQL, and the write endpoint commits a row there (the drills measure RPO with it).

  GET  /healthz                      the service itself: site, database role (primary or standby)
  GET  /health/<town>/<system>       200 when the town subscribes the system and its schema answers;
                                     404 when it does not subscribe it; 503 when the database fails
  POST /write/<town>                 commit one row in the town's schema; answers its id and time
  GET  /writes/<town>/last           the newest committed row (after a failover: what survived)
  GET  /writes/<town>/ids?since=N    the ids committed after N (the drills count lost writes with it)
  GET  /parameters/<town>            the town's tenant parameters (パラメタ・制御情報)

Runs on Debian's python3 with python3-psycopg2 and python3-yaml only (no PyPI in the data center).
Configuration: /etc/municloud/business_app.yaml (written by the business_app role); the database
password is read from the file the configuration names, never from the configuration itself.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import psycopg2.pool
import yaml

TOWN_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def schema_of(town: str) -> str:
    """A town's schema name; the postgresql role creates it with the same rule."""
    return "town_" + town.replace("-", "_")


class Database:
    """A small pool of connections shared by the request threads (one connection per request would
    fork a PostgreSQL backend per probe and exhaust max_connections under the drills' fast
    probes). A connection that failed is closed, never reused, so a database that comes back (or
    a promoted standby behind the same address) is picked up without a restart."""

    MAX_CONNECTIONS = 16
    WAIT_SECONDS = 2.0  # a request waits this long for a free connection (the pool itself never waits)

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()
        self.pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self.slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)

    def _pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self.lock:
            if self.pool is None:
                password = Path(self.cfg["password_file"]).read_text().strip()
                # minconn = maxconn: psycopg2's pool keeps only `minconn` connections when they are
                # given back and closes the rest, so anything lower reconnects (a backend fork and a
                # SCRAM exchange) on almost every request.
                self.pool = psycopg2.pool.ThreadedConnectionPool(
                    self.MAX_CONNECTIONS,
                    self.MAX_CONNECTIONS,
                    host=self.cfg["host"],
                    port=self.cfg.get("port", 5432),
                    dbname=self.cfg["name"],
                    user=self.cfg["user"],
                    password=password,
                    connect_timeout=self.cfg.get("connect_timeout", 2),
                    application_name="municloud-business-app",
                    # A database behind a silent network cut must fail fast, not hang on TCP retries.
                    tcp_user_timeout=int(self.cfg.get("tcp_user_timeout_ms", 2000)),
                    keepalives=1,
                    keepalives_idle=1,
                    keepalives_interval=1,
                    keepalives_count=2,
                    options=f"-c statement_timeout={int(self.cfg.get('statement_timeout_ms', 2000))}",
                )
            return self.pool

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        if not self.slots.acquire(timeout=self.WAIT_SECONDS):
            raise psycopg2.OperationalError(f"no free database connection after {self.WAIT_SECONDS:g} s")
        try:
            pool = self._pool()
            conn = pool.getconn()
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(sql, params)
                    rows = cur.fetchall() if cur.description else []
            except psycopg2.Error:
                pool.putconn(conn, close=True)
                raise
            pool.putconn(conn)
            return rows
        finally:
            self.slots.release()


class App:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.site = config["site"]
        self.tenants: dict[str, dict] = config["tenants"]
        self.systems: dict[str, dict] = config["systems"]
        self.db = Database(config["database"])
        # Reads fall back to this site's own standby while the primary cannot be reached (the other
        # data center lost): the towns keep reading before the standby is promoted for writes.
        fallback = config["database"].get("fallback_host")
        self.fallback = Database({**config["database"], "host": fallback}) if fallback else None
        self.primary_ok = threading.Event()
        self.primary_ok.set()
        if self.fallback is not None:
            threading.Thread(target=self._watch_primary, daemon=True).start()

    def _watch_primary(self) -> None:
        """Once the primary failed, try it again every second in the background (requests never
        wait on a lost primary's timeouts); reads go back to it as soon as it answers."""
        probe = Database(self.config["database"])
        while True:
            time.sleep(1.0)
            if self.primary_ok.is_set():
                continue
            try:
                probe.run("SELECT 1")
                self.primary_ok.set()
            except psycopg2.Error:
                pass

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.fallback is not None and not self.primary_ok.is_set():
            return self.fallback.run(sql, params)
        try:
            return self.db.run(sql, params)
        except psycopg2.Error:
            if self.fallback is None:
                raise
            self.primary_ok.clear()
            return self.fallback.run(sql, params)

    def in_recovery(self) -> bool:
        return bool(self.read("SELECT pg_is_in_recovery()")[0][0])

    def handle(self, method: str, path: str) -> tuple[int, dict]:
        path, _, query = path.partition("?")
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["healthz"]:
            try:
                return 200, {"site": self.site, "database": "standby" if self.in_recovery() else "primary"}
            except psycopg2.Error as exc:
                return 503, {"site": self.site, "error": _one_line(exc)}
        if len(parts) < 2 or not TOWN_RE.match(parts[1]):
            return 404, {"error": "no such endpoint"}
        town = parts[1]
        tenant = self.tenants.get(town)
        if tenant is None:
            return 404, {"error": f"town {town} is not a tenant of this service"}
        schema = schema_of(town)
        try:
            if method == "GET" and parts[0] == "health" and len(parts) == 3:
                system = parts[2]
                if system not in tenant["systems"]:
                    return 404, {"error": f"{town} does not subscribe {system}"}
                started = time.monotonic()
                # Reads the town's own schema (cheap whatever its size), and says which kind of server answered.
                rows = self.read(f"SELECT EXISTS (SELECT 1 FROM {schema}.writes), pg_is_in_recovery()")
                return 200, {
                    "town": town,
                    "system": system,
                    "tier": self.systems.get(system, {}).get("tier"),
                    "site": self.site,
                    "database": "standby" if rows[0][1] else "primary",
                    "db_ms": round((time.monotonic() - started) * 1000, 1),
                }
            if method == "POST" and parts[0] == "write" and len(parts) == 2:
                rows = self.db.run(
                    f"INSERT INTO {schema}.writes (site) VALUES (%s) RETURNING id, written_at",
                    (self.site,),
                )
                return 200, {"town": town, "id": rows[0][0], "written_at": rows[0][1].isoformat(), "site": self.site}
            if method == "GET" and parts[0] == "writes" and parts[2:] == ["ids"]:
                since = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("since", "0")
                if not since.isdigit():
                    return 400, {"error": "since must be a write id (digits)"}
                rows = self.read(f"SELECT id FROM {schema}.writes WHERE id > %s ORDER BY id", (int(since),))
                return 200, {"town": town, "ids": [r[0] for r in rows]}
            if method == "GET" and parts[0] == "writes" and parts[2:] == ["last"]:
                rows = self.read(f"SELECT id, written_at, site FROM {schema}.writes ORDER BY id DESC LIMIT 1")
                last = {"id": rows[0][0], "written_at": rows[0][1].isoformat(), "site": rows[0][2]} if rows else None
                return 200, {"town": town, "last": last}
            if method == "GET" and parts[0] == "parameters" and len(parts) == 2:
                return 200, {"town": town, "name": tenant["name"], "parameters": tenant["parameters"]}
        except psycopg2.Error as exc:
            return 503, {"town": town, "site": self.site, "error": _one_line(exc)}
        return 404, {"error": "no such endpoint"}


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops SYNs as soon as the probes of many towns arrive together:
    # a dropped SYN is retried after a second, which a probe would take for an outage.
    request_queue_size = 256
    daemon_threads = True


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "municloud-business-app/1"
        protocol_version = "HTTP/1.1"

        def _answer(self, method: str) -> None:
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(min(length, 65536))
            status, body = app.handle(method, self.path)
            data = (json.dumps(body, ensure_ascii=False) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args) -> None:
            if args and str(args[1] if len(args) > 1 else "").startswith("5"):
                sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/municloud/business_app.yaml")
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
    app = App(config)
    servers = []
    for address in config["listen"]:
        server = Server((address, int(config["port"])), make_handler(app))
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
