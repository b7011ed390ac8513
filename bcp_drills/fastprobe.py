"""The drills' fast probe: one stream of timestamped probes from a town to the DC service, every
20 ms (TCP) or 50 ms (HTTP), so an outage is measured to the millisecond, not to the 15 s of the
SLA probes. Run as its own process inside the town's network (the lab's client namespace:
`ip netns exec <ns> python3 -m bcp_drills.fastprobe ...`), writing one line per probe:

    <epoch seconds, 6 decimals> <1|0> [<detail>]

to a file the drill reads while it runs (its stop conditions) and at the end (the outages).
Modes:
  tcp     a TCP connection to the service address and port: the network path only
  http    GET /health/<town>/<system>: the path, the app and the town's schema in the database;
          an answered probe's line carries the site that answered and how long it took
          ("dc2 14ms"): a slow service and a moved route look different in the stream
  write   POST /write/<town>: a heartbeat write, the line carries the committed id (RPO)
With --ca and --cert the http and write probes speak HTTPS with the town's client certificate
(mutual TLS, the CA pinned). They keep their connections alive (HTTP/1.1): a probe takes an idle
connection or opens one, and gives it back only after a whole answer; one that failed is closed. So
the service sees a request per probe, not a TLS handshake per probe (18 towns' handshakes every 50 ms
starved the stand-in on the full lab), and a cut is still seen by the first probe that gets no answer.
Stops by itself after --duration seconds (a drill never leaves a probe running), or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import socket
import ssl
import sys
import time
from collections import deque
from pathlib import Path


async def tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
        return True, ""
    except (TimeoutError, OSError) as error:
        return False, type(error).__name__


def client_context(ca: Path, identity: Path) -> ssl.SSLContext:
    """A town's TLS client: the environment's CA pinned, its key and certificate in one file."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(identity))
    return context


class KeptConnections:
    """One stream's kept-alive connections (HTTP/1.1). A connection goes back to the idle ones only
    after a whole answer; any failure closes it, so a stale or cut connection is never used twice. A
    kept connection the service closed meanwhile (a restart) fails at once, before any answer: that
    request is tried on another, within the same probe's timeout.

    New connections are opened in the background, at most MAX_OPENING at a time, and a probe that
    times out does not cancel the one it waits for: it joins the idle ones when it is ready. Were each
    probe to open its own and give up with it, a slow moment of the service would turn into a
    handshake per probe, each abandoned half-way, the service slower still, and no probe would get
    through again (seen on the full lab at the start of the DC drill: 43,137 handshakes abandoned in
    3 minutes). The TCP connect has a short timeout of its own (a SYN into a cut path is not retried
    for a second: the next open tries again at once), the TLS handshake a long one (a service slow
    for a moment still completes it, for the next probe). A waiting probe wakes when an open ends or
    when another probe gives a connection back, whichever comes first, and fails with an open's
    error only when no other open is still under way and no connection is idle: one slow or failed
    open does not fail every probe waiting beside it (issue 19: after DC1's loss the first answers
    from DC2 took ~1 s, alternating with time-outs, in probes that gave up on opens still running)."""

    MAX_OPENING = 2
    CONNECT_TIMEOUT = 0.5
    HANDSHAKE_TIMEOUT = 5.0

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opening: set[asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = set()
        self.failed: BaseException | None = None  # the last open's error, until a connection is made
        self.changed = asyncio.Event()

    def _pulse(self) -> None:
        """Wake every waiting probe: an open ended, or a connection came back idle."""
        self.changed.set()
        self.changed = asyncio.Event()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (self.host, self.port)), self.CONNECT_TIMEOUT)
        except BaseException:
            sock.close()
            raise
        hostname = self.host if self.tls else None
        return await asyncio.open_connection(
            sock=sock,
            ssl=self.tls,
            server_hostname=hostname,
            ssl_handshake_timeout=self.HANDSHAKE_TIMEOUT if self.tls else None,
        )

    def _opened(self, task: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
        self.opening.discard(task)
        if not task.cancelled():  # cancelled: only when the stream itself ends
            self.failed = task.exception()
            if self.failed is None:
                self.idle.append(task.result())
        self._pulse()

    async def request(self, method: str, path: str) -> tuple[bytes, bytes]:
        """(head, body) of the answer."""
        while True:
            while self.idle:
                reader, writer = self.idle.pop()
                try:
                    return await self._exchange(reader, writer, method, path)
                except (ConnectionError, asyncio.IncompleteReadError):
                    continue  # closed by the service while idle: another, or a new one
            if len(self.opening) < self.MAX_OPENING:
                task = asyncio.ensure_future(self._open())
                self.opening.add(task)
                task.add_done_callback(self._opened)
            changed = self.changed
            await changed.wait()  # leaves the opens running when this probe is cancelled (its timeout)
            if not self.idle and not self.opening and self.failed is not None:
                raise self.failed  # every open ended and none made a connection: the service is not there

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str
    ) -> tuple[bytes, bytes]:
        try:
            writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else await reader.read()
        except BaseException:
            writer.close()
            raise
        if length and not re.search(rb"(?im)^connection:\s*close", head):
            self.idle.append((reader, writer))
            self._pulse()  # a probe waiting for a connection takes this one
        else:
            writer.close()
        return head, body


async def http_probe(
    host: str,
    port: int,
    path: str,
    timeout: float,
    method: str = "GET",
    tls: ssl.SSLContext | None = None,
    connections: KeptConnections | None = None,
) -> tuple[bool, str]:
    """One request: on `connections` (kept alive), or on a connection of its own."""
    pool = connections or KeptConnections(host, port, tls)

    async def exchange() -> bytes:
        head, body = await pool.request(method, path)
        if connections is None:
            for _, writer in pool.idle:
                writer.close()
        return head + body

    started = time.monotonic()
    try:
        data = await asyncio.wait_for(exchange(), timeout)
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "?"
        if status != "200":
            return False, f"http {status}"
        if method == "POST":
            return True, str(json.loads(body)["id"])
        site = json.loads(body).get("site", "?") if body.startswith(b"{") else "?"
        return True, f"{site} {(time.monotonic() - started) * 1000:.0f}ms"
    except (TimeoutError, OSError, ValueError, KeyError, IndexError, asyncio.IncompleteReadError) as error:
        return False, type(error).__name__  # ssl.SSLError is an OSError


async def run(args: argparse.Namespace, stop: asyncio.Event) -> None:
    """Probes start on a fixed cadence whether or not the earlier ones have answered (a probe
    waiting out its timeout must not delay the next: the end of an outage is seen within one
    interval), and their results are written in the order they were sent."""
    systems = [s for s in args.systems.split(",") if s]
    tls = client_context(args.ca, args.cert) if args.cert else None
    kept = KeptConnections(args.host, args.port, tls)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.duration
    next_at = loop.time()
    pending: deque[tuple[float, asyncio.Task[tuple[bool, str]]]] = deque()
    n = 0
    with args.out.open("a", buffering=1) as out:  # line-buffered: the drill tails it

        def flush(everything: bool = False) -> None:
            while pending and (everything or pending[0][1].done()):
                sent, task = pending.popleft()
                ok, detail = task.result() if task.done() else (False, "cancelled")
                out.write(f"{sent:.6f} {int(ok)} {detail}\n")

        while not stop.is_set() and loop.time() < deadline:
            sent = time.time()
            if args.mode == "tcp":
                coro = tcp_probe(args.host, args.port, args.timeout)
            elif args.mode == "http":
                system = systems[n % len(systems)] if systems else ""
                path = f"/health/{args.town}/{system}"
                coro = http_probe(args.host, args.port, path, args.timeout, tls=tls, connections=kept)
            else:
                path = f"/write/{args.town}"
                coro = http_probe(args.host, args.port, path, args.timeout, "POST", tls, kept)
            pending.append((sent, asyncio.ensure_future(coro)))
            n += 1
            flush()
            next_at += args.interval
            delay = next_at - loop.time()
            if delay < 0:
                next_at = loop.time()
                delay = 0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        if pending:
            await asyncio.wait([task for _, task in pending], timeout=args.timeout + 1)
        flush(everything=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="municloud drill fast probe (one stream)")
    parser.add_argument("--mode", choices=("tcp", "http", "write"), required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--town", default="")
    parser.add_argument("--systems", default="", help="comma-separated; http mode rotates through them")
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=0.3)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ca", type=Path, help="the environment's CA certificate (HTTPS; with --cert)")
    parser.add_argument("--cert", type=Path, help="the town's key and certificate in one file (HTTPS)")
    args = parser.parse_args(argv)
    if bool(args.ca) != bool(args.cert):
        parser.error("--ca and --cert go together (HTTPS with the town's certificate)")

    async def main_async() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await run(args, stop)

    asyncio.run(main_async())
    return 0


if __name__ == "__main__":
    sys.exit(main())
