"""The drills' fast probe: one stream of timestamped probes from a town to the DC service, every
20 ms (TCP) or 50 ms (HTTP), so an outage is measured to the millisecond, not to the 15 s of the
SLA probes. Run as its own process inside the town's network (the lab's client namespace:
`ip netns exec <ns> python3 -m bcp_drills.fastprobe ...`), writing one line per probe:

    <epoch seconds, 6 decimals> <1|0> [<detail>]

to a file the drill reads while it runs (its stop conditions) and at the end (the outages).
Modes:
  tcp     a TCP connection to the service address and port: the network path only
  http    GET /health/<town>/<system>: the path, the app and the town's schema in the database
  write   POST /write/<town>: a heartbeat write, the line carries the committed id (RPO)
Stops by itself after --duration seconds (a drill never leaves a probe running), or on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import time
from pathlib import Path


def tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as error:
        return False, type(error).__name__


def http_probe(host: str, port: int, path: str, timeout: float, method: str = "GET") -> tuple[bool, str]:
    """A bare HTTP/1.0 request on a fresh connection: no pooling that could hide a cut."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(f"{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "?"
        if status != "200":
            return False, f"http {status}"
        if method == "POST":
            return True, str(json.loads(body)["id"])
        return True, ""
    except (OSError, ValueError, KeyError, IndexError) as error:
        return False, type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="municloud drill fast probe (one stream)")
    parser.add_argument("--mode", choices=("tcp", "http", "write"), required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--town", default="")
    parser.add_argument("--systems", default="", help="comma-separated; http mode rotates through them")
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=0.1)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    systems = [s for s in args.systems.split(",") if s]
    deadline = time.monotonic() + args.duration
    next_at = time.monotonic()
    n = 0
    with args.out.open("a", buffering=1) as out:  # line-buffered: the drill tails it
        while not stop and time.monotonic() < deadline:
            sent = time.time()
            if args.mode == "tcp":
                ok, detail = tcp_probe(args.host, args.port, args.timeout)
            elif args.mode == "http":
                system = systems[n % len(systems)] if systems else ""
                ok, detail = http_probe(args.host, args.port, f"/health/{args.town}/{system}", args.timeout)
            else:
                ok, detail = http_probe(args.host, args.port, f"/write/{args.town}", args.timeout, "POST")
            out.write(f"{sent:.6f} {int(ok)} {detail}\n")
            n += 1
            next_at += args.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()
    return 0


if __name__ == "__main__":
    sys.exit(main())
