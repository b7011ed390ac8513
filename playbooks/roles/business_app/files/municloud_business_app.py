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

With `tls:` in the configuration the service speaks HTTPS only (TLS 1.2 or later) and asks every
client for a certificate signed by the environment's CA (mutual TLS; none: the handshake fails).
The certificate says who is asking (its URI SAN, `municloud pki` issues them): a town's
certificate reaches only that town's tenant, anything else of a town is answered 403; the
operations center's certificate reads only the heartbeat ids the drills count (/writes/<town>/ids
and /last), never a tenant's data. Every refusal, at the handshake or by tenant, is one JSON line in
the audit log with the time, the source address and the certificate.

Runs on Debian's python3 with python3-psycopg2 and python3-yaml only (no PyPI in the data center).
Configuration: /etc/municloud/business_app.yaml (written by the business_app role); the database
password is read from the file the configuration names, never from the configuration itself.
SIGHUP (`systemctl reload`) reads the configuration again without a restart: requests in flight
finish on the old one, new requests use the new one (another listen address or port restarts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import psycopg2.pool
import yaml

TOWN_RE = re.compile(r"^[a-z][a-z0-9-]*$")
TOWN_URI = "urn:municloud:town:"  # a town's client certificate names it so (pki/authority.py)
OPERATIONS_URI = "urn:municloud:operations"  # the operations center's
OPERATIONS_READS = {("GET", "writes", "ids"), ("GET", "writes", "last")}  # heartbeat ids, no tenant data
HANDSHAKE_SECONDS = 10
WORKER_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # stop, stop, reload
SUPERVISOR_SIGNALS = WORKER_SIGNALS | {signal.SIGCHLD}  # and a worker ended


class Identity:
    """Who is asking, from the verified client certificate."""

    def __init__(self, cert: dict) -> None:
        uris = [value for kind, value in cert.get("subjectAltName", ()) if kind == "URI"]
        self.town = next((u[len(TOWN_URI) :] for u in uris if u.startswith(TOWN_URI)), None)
        self.operations = OPERATIONS_URI in uris
        subject = dict(item for rdn in cert.get("subject", ()) for item in rdn)
        self.subject = subject.get("commonName", "")
        self.serial = cert.get("serialNumber", "")

    def may(self, method: str, parts: list[str], town: str) -> bool:
        if self.town is not None:
            return self.town == town
        return self.operations and (method, parts[0], "/".join(parts[2:])) in OPERATIONS_READS

    def describe(self) -> str:
        return f"town {self.town}" if self.town else "the operations center" if self.operations else "unknown"

    def as_dict(self) -> dict:
        return {"subject": self.subject, "serial": self.serial, "identity": self.describe()}


class AuditLog:
    """Refused requests and handshakes, one JSON line each (appended, flushed, never rewritten)."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()

    def refused(self, source: str, reason: str, **fields: object) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": source, "decision": "refused"}
        record.update(fields, reason=reason)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        sys.stderr.write(line)
        if self.path is None:
            return
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


def tls_context(tls: dict) -> ssl.SSLContext:
    """The server's context: TLS 1.2 or later, a client certificate from the environment's CA
    required, and not on the CA's revocation list when the configuration names one (`crl`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=tls["client_ca"])
    if tls.get("crl"):
        context.load_verify_locations(cafile=tls["crl"])
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    context.load_cert_chain(tls["certificate"])  # one file: the key and the certificate
    return context


def schema_of(town: str) -> str:
    """A town's schema name; the postgresql role creates it with the same rule."""
    return "town_" + town.replace("-", "_")


class Database:
    """A small pool of connections shared by the request threads (one connection per request would
    fork a PostgreSQL backend per probe and exhaust max_connections under the drills' fast
    probes). A connection that failed is closed, never reused, so a database that comes back (or
    a promoted standby behind the same address) is picked up without a restart."""

    MAX_CONNECTIONS = 8  # per worker (the configuration's `pool_size`): 2 workers, 16 a server
    WAIT_SECONDS = 2.0  # a request waits this long for a free connection (the pool itself never waits)

    def __init__(self, cfg: dict, size: int = MAX_CONNECTIONS) -> None:
        self.cfg = cfg
        self.size = size
        self.lock = threading.Lock()
        self.pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self.slots = threading.BoundedSemaphore(size)

    @property
    def host(self) -> str:
        return self.cfg["host"]

    def _pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self.lock:
            if self.pool is None:
                password = Path(self.cfg["password_file"]).read_text().strip()
                # minconn = maxconn: psycopg2's pool keeps only `minconn` connections when they are
                # given back and closes the rest, so anything lower reconnects (a backend fork and a
                # SCRAM exchange) on almost every request.
                self.pool = psycopg2.pool.ThreadedConnectionPool(
                    self.size,
                    self.size,
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
            conn = self._live_connection(pool)
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

    def _live_connection(self, pool: psycopg2.pool.ThreadedConnectionPool):
        """A pooled connection that is still alive. An idle connection is readable only when its
        server is gone: restarted (it said goodbye) or cut long enough for the keepalives to give up.
        Such a one is replaced here, before a request uses it: it would fail the request and send it
        (and, on the standby's site, the whole route) to the standby although the primary is back."""
        for _ in range(self.size):
            conn = pool.getconn()
            if not conn.closed and not select.select([conn], [], [], 0)[0]:
                return conn
            pool.putconn(conn, close=True)
        return pool.getconn()  # every pooled one was dead: this one is new

    def close(self) -> None:
        with self.lock:
            if self.pool is not None:
                self.pool.closeall()
                self.pool = None


class Route:
    """Where the statements go. Writes go to the primary. On the app server of the data center
    that holds the standby, reads fall back to that local standby while the primary cannot be
    reached (the other data center lost): the towns keep reading before the standby is promoted.
    And once the primary is lost and the local standby turns out promoted (the failover:
    `municloud db failover` promotes it only when the primary's site is lost and fenced), the local
    database is the primary from then on: writes are accepted again within a poll of the promotion,
    with no restart and no new configuration on the critical path (the failover playbook writes
    the new configuration afterwards; it names the same database)."""

    PRIMARY_RETRY_SECONDS = 0.5  # the primary is asked this often (in the background), lost or not
    PRIMARY_PROBE_TIMEOUT_MS = 1000  # an unanswered ask: the primary is lost
    PROMOTION_POLL_SECONDS = 0.1  # while the primary is lost: is the local standby promoted yet?
    GRACE_SECONDS = 10.0  # a replaced pool is closed after the requests using it are over

    def __init__(self, cfg: dict) -> None:
        size = int(cfg.get("pool_size", Database.MAX_CONNECTIONS))
        self.primary = Database(cfg, size)
        fallback = cfg.get("fallback_host")
        self.local = Database({**cfg, "host": fallback}, size) if fallback else None
        self.primary_ok = threading.Event()
        self.primary_ok.set()
        self.stopped = threading.Event()
        if self.local is not None:
            threading.Thread(target=self._watch_primary, daemon=True).start()
            threading.Thread(target=self._watch_promotion, daemon=True).start()

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        local = self.local
        if local is not None and not self.primary_ok.is_set():
            return local.run(sql, params)
        try:
            return self.primary.run(sql, params)
        except psycopg2.Error:
            if local is None:
                raise
            self.primary_ok.clear()
            return local.run(sql, params)

    def write(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.local is not None and not self.primary_ok.is_set():
            # Refused at once while the primary is lost (the watch asks it every PRIMARY_RETRY_SECONDS
            # and the local standby's promotion is seen within a poll). Each write trying the lost primary
            # itself held a thread and a pool slot for the connect timeout: the towns' heartbeats
            # piled up hundreds of them, their clients opened new TLS connections meanwhile, and the
            # reads this site serves from its standby starved (full lab: towns out again for
            # seconds after DC2 first served them).
            raise psycopg2.OperationalError(
                f"the primary {self.primary.host} is lost: writes wait for it or for this site's promotion"
            )
        try:
            return self.primary.run(sql, params)
        except psycopg2.Error:
            if self.local is not None:
                self.primary_ok.clear()  # the promotion watch starts at the first refused write too
            raise

    def _watch_primary(self) -> None:
        """Ask the primary in the background, whether it answered last time or not: a lost one is
        known before the towns' requests arrive here (their route moves to this site a second or two
        after the cut), so they go straight to the local standby's warm pool. Found out by the
        requests themselves, each of the first waited out the lost primary's timeouts while holding
        a pool slot: the towns' first answers from DC2 took 0.9 s and more, then timed out again
        (full lab: towns out again for up to 0.7 s after their first recovery). Reads go back to
        the primary as soon as it answers again."""
        probe = Database(
            {
                **self.primary.cfg,
                "tcp_user_timeout_ms": self.PRIMARY_PROBE_TIMEOUT_MS,
                "statement_timeout_ms": self.PRIMARY_PROBE_TIMEOUT_MS,
            },
            size=1,
        )
        try:
            while not self.stopped.wait(self.PRIMARY_RETRY_SECONDS) and self.local is not None:
                try:
                    probe.run("SELECT 1")
                    self.primary_ok.set()
                except psycopg2.Error:
                    self.primary_ok.clear()
        finally:
            probe.close()

    def _watch_promotion(self) -> None:
        # The local standby's pool is already open (warm): reads move to it without opening one in
        # the middle of the outage.
        while not self.stopped.wait(self.PROMOTION_POLL_SECONDS):
            local = self.local
            if local is None:
                return
            if self.primary_ok.is_set():
                continue
            try:
                promoted = not local.run("SELECT pg_is_in_recovery()")[0][0]
            except psycopg2.Error:
                continue
            if promoted:
                lost, self.primary, self.local = self.primary, local, None
                self.primary_ok.set()
                sys.stderr.write(
                    f"the primary {lost.host} is lost and this site's database {local.host} was promoted: "
                    "it is the primary from now on\n"
                )
                _later(self.GRACE_SECONDS, lost.close)
                return

    def warm(self) -> None:
        """Open the pools now. A pool opens all its connections at its first use, one after the
        other, each with its TLS and SCRAM exchange: under the towns' load that took seconds while
        every request waited for a connection (a started service that the towns' traffic reached
        later, the DC1 app after the fail-back when DC1 rejoined the WAN: every town out for 5-6 s;
        and each reload, which brings new pools). A database that does not answer is left to the
        first requests, as before."""
        for database in (self.primary, self.local):
            if database is not None:
                with contextlib.suppress(psycopg2.Error):
                    database.run("SELECT 1")

    def stop(self) -> None:
        """Replaced by a new configuration: the watchers end, the pools close after a grace."""
        self.stopped.set()
        pools = [self.primary, self.local]
        _later(self.GRACE_SECONDS, lambda: [p.close() for p in pools if p is not None])


def _later(seconds: float, action) -> None:
    """Run `action` after `seconds` in the background; a stopping service does not wait for it."""
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


class Tenancy:
    """One configuration's view: the tenants, the systems and the route to the database; replaced
    whole on a reload, so a request sees one configuration from start to end."""

    def __init__(self, config: dict) -> None:
        self.site = config["site"]
        self.tenants: dict[str, dict] = config["tenants"]
        self.systems: dict[str, dict] = config["systems"]
        self.route = Route(config["database"])

    def handle(self, method: str, path: str, identity: Identity | None = None) -> tuple[int, dict]:
        """`identity` is the verified client certificate's (HTTPS); None on plain HTTP."""
        path, _, query = path.partition("?")
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["healthz"]:
            try:
                standby = self.route.read("SELECT pg_is_in_recovery()")[0][0]
                return 200, {"site": self.site, "database": "standby" if standby else "primary"}
            except psycopg2.Error as exc:
                return 503, {"site": self.site, "error": _one_line(exc)}
        if len(parts) < 2 or not TOWN_RE.match(parts[1]):
            return 404, {"error": "no such endpoint"}
        town = parts[1]
        # Before the tenant is looked up: a certificate learns nothing of other towns, not even
        # which of them are tenants.
        if identity is not None and not identity.may(method, parts, town):
            return 403, {"error": f"this certificate is {identity.describe()}'s: it may not use {town}'s tenant"}
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
                rows = self.route.read(f"SELECT EXISTS (SELECT 1 FROM {schema}.writes), pg_is_in_recovery()")
                return 200, {
                    "town": town,
                    "system": system,
                    "tier": self.systems.get(system, {}).get("tier"),
                    "site": self.site,
                    "database": "standby" if rows[0][1] else "primary",
                    "db_ms": round((time.monotonic() - started) * 1000, 1),
                }
            if method == "POST" and parts[0] == "write" and len(parts) == 2:
                rows = self.route.write(
                    f"INSERT INTO {schema}.writes (site) VALUES (%s) RETURNING id, written_at",
                    (self.site,),
                )
                return 200, {"town": town, "id": rows[0][0], "written_at": rows[0][1].isoformat(), "site": self.site}
            if method == "GET" and parts[0] == "writes" and parts[2:] == ["ids"]:
                since = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("since", "0")
                if not since.isdigit():
                    return 400, {"error": "since must be a write id (digits)"}
                rows = self.route.read(f"SELECT id FROM {schema}.writes WHERE id > %s ORDER BY id", (int(since),))
                return 200, {"town": town, "ids": [r[0] for r in rows]}
            if method == "GET" and parts[0] == "writes" and parts[2:] == ["last"]:
                rows = self.route.read(f"SELECT id, written_at, site FROM {schema}.writes ORDER BY id DESC LIMIT 1")
                last = {"id": rows[0][0], "written_at": rows[0][1].isoformat(), "site": rows[0][2]} if rows else None
                return 200, {"town": town, "last": last}
            if method == "GET" and parts[0] == "parameters" and len(parts) == 2:
                return 200, {"town": town, "name": tenant["name"], "parameters": tenant["parameters"]}
        except psycopg2.Error as exc:
            return 503, {"town": town, "site": self.site, "error": _one_line(exc)}
        return 404, {"error": "no such endpoint"}


class App:
    def __init__(self, config: dict) -> None:
        self.current = Tenancy(config)
        self.audit = AuditLog((config.get("tls") or {}).get("audit_log"))

    def reconfigure(self, config: dict) -> None:
        """SIGHUP: a new configuration (another primary, tenants, parameters) without a restart."""
        new = Tenancy(config)
        new.route.warm()  # the requests keep the old one until the new one's connections are open
        old, self.current = self.current, new
        self.audit = AuditLog((config.get("tls") or {}).get("audit_log"))
        old.route.stop()

    def handle(self, method: str, path: str, identity: Identity | None = None, source: str = "") -> tuple[int, dict]:
        status, body = self.current.handle(method, path, identity)
        if status == 403 and identity is not None:
            self.audit.refused(
                source, body["error"], method=method, path=path, certificate=identity.as_dict(), status=403
            )
        return status, body


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops SYNs as soon as the probes of many towns arrive together:
    # a dropped SYN is retried after a second, which a probe would take for an outage. A drill's start
    # opens hundreds at once (18 towns' HTTP and write streams, each a few kept-alive connections, the
    # steady-state check): room for them all (the kernel caps it at net.core.somaxconn, 4096).
    request_queue_size = 2048
    daemon_threads = True

    tls: ssl.SSLContext | None = None
    app: App | None = None  # the worker's (set after the fork: the supervisor opens the socket)

    def use_tls(self, context: ssl.SSLContext) -> None:
        """HTTPS from now on; on a reload, the new context (a rotated certificate, a new revocation
        list) is what the next connections get, the open ones finish on theirs."""
        self.tls = context

    def finish_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """In the request's own thread (the accept loop only accepts: under the drills' hundreds of
        port checks a second, any work there fills the listen queue and SYNs are dropped). A
        connection closed or reset before its first byte is a port check (the drills' TCP probe, the
        isolation proof), not a client: left at that. Otherwise, with TLS, the connection is wrapped
        with the context of now (a reload's new certificate for the next connections) and its
        handshake runs in the handler, so a slow or silent client never holds up the others."""
        # No Nagle: TLS 1.3's session tickets, the headers and the body are small writes one after
        # the other, and each waited for the client's delayed ACK (40 ms): a new HTTPS connection
        # took 48 ms on 127.0.0.1 instead of a few.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.tls
        if context is not None:
            request.settimeout(HANDSHAKE_SECONDS)
            try:
                if not request.recv(1, socket.MSG_PEEK):
                    return
            except TimeoutError:
                if self.app is not None:
                    self.app.audit.refused(
                        f"{client_address[0]}:{client_address[1]}",
                        f"no TLS handshake within {HANDSHAKE_SECONDS} s",
                        status=None,
                    )
                return
            except OSError:
                return
            request = context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        sys.stderr.write(f"{client_address[0]}: {_one_line(sys.exc_info()[1])}\n")


class Handler(BaseHTTPRequestHandler):
    server_version = "municloud-business-app/1"
    protocol_version = "HTTP/1.1"
    identity: Identity | None = None

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            source = f"{self.client_address[0]}:{self.client_address[1]}"
            self.connection.settimeout(HANDSHAKE_SECONDS)
            try:
                self.connection.do_handshake()
                self.connection.settimeout(None)
            except (ssl.SSLError, OSError) as exc:
                self.server.app.audit.refused(source, f"TLS handshake refused: {_one_line(exc)}", status=None)
                return
            self.identity = Identity(self.connection.getpeercert() or {})
        super().handle()

    def _answer(self, method: str) -> None:
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 65536))
        source = f"{self.client_address[0]}:{self.client_address[1]}"
        status, body = self.server.app.handle(method, self.path, self.identity, source)
        if status >= 500:  # the journal says why (the client sees it in the body too)
            sys.stderr.write(f"{source} {method} {self.path} {status}: {body.get('error', '')}\n")
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
        """Quiet: a probe's request every 100 ms from every town would flood the journal; the
        refusals go to the audit log and the 5xx answers are written with their reason (_answer)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/municloud/business_app.yaml")
    args = parser.parse_args()
    # The signals are blocked from the start and taken with sigwait: one that arrives while the
    # service starts waits for it, and none is missed. (A handler would run only in the main thread
    # and only when it runs Python: a signal the kernel gives to a request thread left the main
    # thread asleep, and a reload was lost.) Threads and workers inherit the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISOR_SIGNALS)
    config = load_config(args.config)
    # The listening sockets are the supervisor's, opened before any worker: the workers accept
    # from the same queues (a busy worker leaves the next connection to an idle one, and a worker
    # that ends loses no queued connection, which SO_REUSEPORT's per-socket queues would).
    servers = [Server((address, int(config["port"])), Handler) for address in config["listen"]]
    for server in servers:
        # Every worker's select wakes for a new connection and one accept wins it: the others'
        # accept must come back empty (socketserver lets that pass), not block until the next one
        # (a blocked accept also never sees a shutdown).
        server.socket.setblocking(False)
    return Supervisor(args.config, config, servers).run()


class Supervisor:
    """Python serves one request at a time per process (the GIL): one process held the lab's DC
    drill (every town's probes on one app server, all of them HTTPS) at its limit. So `workers`
    processes (the configuration's, default 2) serve from the same sockets, each with its own
    threads, database pools (`pool_size` connections each) and route; this one only watches them.
    A reload (SIGHUP) is checked here once, then passed to every worker; a worker that ends
    unexpectedly is started again; more than RESPAWN_LIMIT in RESPAWN_WINDOW seconds ends the
    service (systemd starts it again)."""

    RESPAWN_LIMIT = 5
    RESPAWN_WINDOW = 10.0

    def __init__(self, path: str, config: dict, servers: list[Server]) -> None:
        self.path = path
        self.config = config
        self.servers = servers
        self.workers: dict[int, int] = {}  # pid -> worker number
        self.respawns: list[float] = []

    def run(self) -> int:
        for number in range(workers(self.config)):
            self._start(number)
        while True:
            sig = signal.sigwait(SUPERVISOR_SIGNALS)
            if sig == signal.SIGCHLD:
                code = self._reap()
                if code is not None:
                    return code
            elif sig == signal.SIGHUP:
                code = self._reload()
                if code is not None:
                    return code
            else:
                self._stop()
                return 0

    def _start(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = serve(self.path, self.config, self.servers)
            finally:
                os._exit(code)
        self.workers[pid] = number

    def _reap(self) -> int | None:
        while self.workers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return None
            number = self.workers.pop(pid, None)
            if number is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code in (0, 75):
                # 0: the worker was told to stop (systemd stops the whole group with SIGTERM, the
                # supervisor's own may come second); 75: see _reload. Either way the service ends.
                self._stop()
                return code
            now = time.monotonic()
            self.respawns = [t for t in self.respawns if now - t < self.RESPAWN_WINDOW] + [now]
            if len(self.respawns) > self.RESPAWN_LIMIT:
                sys.stderr.write(f"worker {number} ended ({code}), too often: the service stops\n")
                self._stop()
                return 1
            sys.stderr.write(f"worker {number} ended ({code}): started again\n")
            self._start(number)
        return None

    def _reload(self) -> int | None:
        try:
            new = load_config(self.path)
        except (OSError, yaml.YAMLError, KeyError) as exc:
            sys.stderr.write(f"reload refused, the configuration stays as it was: {_one_line(exc)}\n")
            return None
        old = self.config
        if (new["listen"], new["port"], bool(new.get("tls")), workers(new)) != (
            old["listen"],
            old["port"],
            bool(old.get("tls")),
            workers(old),
        ):
            # Other sockets or workers: systemd starts the service again (Restart=always).
            sys.stderr.write("reload: the listen addresses, the port or the workers changed, restarting\n")
            self._stop()
            return 75
        self.config = new  # a worker started again later starts on it
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)
        return None

    def _stop(self) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in list(self.workers):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.workers.clear()


def workers(config: dict) -> int:
    """How many worker processes the configuration asks for (2 unless it says)."""
    return max(1, int(config.get("workers", 2)))


def serve(path: str, config: dict, servers: list[Server]) -> int:
    """One worker: its own application (pools, route, audit log) on the supervisor's sockets,
    until SIGTERM; SIGHUP reads the configuration again (new TLS files, another primary)."""
    app = App(config)
    threading.Thread(target=app.current.route.warm, daemon=True).start()
    for server in servers:
        server.app = app
        if config.get("tls"):
            server.use_tls(tls_context(config["tls"]))
        threading.Thread(target=server.serve_forever, daemon=True).start()
    while signal.sigwait(WORKER_SIGNALS) == signal.SIGHUP:
        try:
            new = load_config(path)
        except (OSError, yaml.YAMLError, KeyError) as exc:
            sys.stderr.write(f"reload refused, the configuration stays as it was: {_one_line(exc)}\n")
            continue
        if new.get("tls"):
            try:
                context = tls_context(new["tls"])  # a rotated service certificate, a new CA bundle
            except (OSError, ssl.SSLError) as exc:
                sys.stderr.write(f"reload refused, the TLS files stay as they were: {_one_line(exc)}\n")
                continue
            for server in servers:
                server.use_tls(context)
        app.reconfigure(new)
        sys.stderr.write(f"reloaded: database {new['database']['host']}\n")
    for server in servers:
        server.shutdown()
    return 0


def load_config(path: str) -> dict:
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    missing = [k for k in ("site", "listen", "port", "database", "systems", "tenants") if k not in config]
    if missing:
        raise KeyError(f"{path} has no {', '.join(missing)}")
    return config


if __name__ == "__main__":
    sys.exit(main())
