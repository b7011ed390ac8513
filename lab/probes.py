"""Reachability probes from inside a lab namespace: does a TCP connection or an echo request from
here get to an address, and if not, what stopped it.

`probe_from(entry, probes)` runs this file as a program behind `entry` (`ip netns exec NS`, `nsenter
--net=...`), all probes at once, and reads the outcomes back as JSON: one process per namespace,
however many probes. TCP probes are non-blocking connects on one selector, echo probes go out on one
raw ICMP socket (root), so a point's probes take one timeout in all. Standard library only.

Outcomes (what the network did with the packet, not whether a service answered):
  open        the TCP connection was accepted
  refused     the destination answered with a reset: the packet got there, nothing listens
  replied     the echo request got an echo reply
  prohibited  a router refused it (ICMP administratively prohibited: a packet filter)
  unreachable no route (ICMP network or host unreachable, or no route here)
  timeout     no answer at all (dropped on the way, or nobody at the address)
The first three say the packet got there: a packet filter or the routing let it through.
An `https` probe is a request to the shared service with a town's certificate (mutual TLS, the
CA pinned): its outcome is `http <status>` when the service answered, else one of the above
(`tls` when the handshake failed).
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import select
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

_PROGRAM = Path(__file__).resolve()


@dataclass(frozen=True)
class Probe:
    protocol: str  # tcp | icmp | https
    address: str
    port: int | None = None
    source: str | None = None  # bind to this address (the namespace's own, when it has several)
    method: str | None = None  # https: GET | POST
    path: str | None = None  # https: the request's path
    ca: str | None = None  # https: the CA certificate to pin
    identity: str | None = None  # https: the key and client certificate, one file

    @property
    def key(self) -> str:
        tail = f" {self.method} {self.path}" if self.protocol == "https" else ""
        return f"{self.protocol}:{self.address}:{self.port or ''}{tail}"


def _https(probe: Probe, timeout: float) -> str:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=probe.ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(probe.identity))
    source = (probe.source, 0) if probe.source else None
    connection = http.client.HTTPSConnection(
        probe.address, probe.port, timeout=timeout, source_address=source, context=context
    )
    try:
        connection.request(str(probe.method), str(probe.path), headers={"Content-Length": "0"})
        return f"http {connection.getresponse().status}"
    except ssl.SSLError:
        return "tls"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return "prohibited" if error.errno == errno.EHOSTUNREACH else "unreachable"
    finally:
        connection.close()


# What a failed connect's errno says the network did. Linux reports an ICMP "communication
# administratively prohibited" (a packet filter's refusal) as EHOSTUNREACH, as it does a host
# unreachable: for TCP it is taken as a filter's (the lab's routers answer every refused packet so);
# ENETUNREACH: no route, here or at a router.
_CONNECT_ERRORS = {
    errno.ECONNREFUSED: "refused",
    errno.EHOSTUNREACH: "prohibited",
    errno.ENETUNREACH: "unreachable",
    errno.ETIMEDOUT: "timeout",
}


def _tcp_all(probes: list[Probe], timeout: float) -> dict[str, str]:
    """Every TCP probe at once: non-blocking connects watched by one selector, so a point's probes
    take one timeout in all, not one each."""
    outcomes: dict[str, str] = {}
    selector = selectors.DefaultSelector()
    opened: list[socket.socket] = []
    try:
        for p in probes:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            opened.append(sock)
            sock.setblocking(False)
            try:
                if p.source:
                    sock.bind((p.source, 0))
                code = sock.connect_ex((p.address, int(p.port or 0)))
            except OSError as error:
                code = error.errno or errno.EHOSTUNREACH
            if code == 0:
                outcomes[p.key] = "open"
            elif code == errno.EINPROGRESS:
                selector.register(sock, selectors.EVENT_WRITE, p.key)
            else:
                outcomes[p.key] = _CONNECT_ERRORS.get(code, "unreachable")
        deadline = time.monotonic() + timeout
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                sock = key.fileobj
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore[union-attr]
                outcomes[key.data] = "open" if code == 0 else _CONNECT_ERRORS.get(code, "unreachable")
                selector.unregister(sock)
        for key in list(selector.get_map().values()):
            outcomes[key.data] = "timeout"
    finally:
        selector.close()
        for sock in opened:
            sock.close()
    return outcomes


ICMP_ECHO_REPLY, ICMP_UNREACHABLE, ICMP_TIME_EXCEEDED, ICMP_ECHO = 0, 3, 11, 8
FILTERED_CODES = {9, 10, 13}  # network, host, communication administratively prohibited


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(ident: int, seq: int) -> bytes:
    payload = b"municloud-isolation"
    header = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, _checksum(header + payload), ident, seq) + payload


def _icmp_all(probes: list[Probe], timeout: float) -> dict[str, str]:
    """Every echo probe at once on one raw ICMP socket: the echo replies and the ICMP errors that come
    back (each carries the header of the request it is about) matched to their request."""
    if not probes:
        return {}
    ident = os.getpid() & 0xFFFF
    by_seq = dict(enumerate(probes))
    outcomes: dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        if probes[0].source:
            sock.bind((probes[0].source, 0))
        for seq, p in by_seq.items():
            try:
                sock.sendto(_echo(ident, seq), (p.address, 0))
            except OSError as error:
                outcomes[p.key] = _CONNECT_ERRORS.get(error.errno or 0, "unreachable")
        deadline = time.monotonic() + timeout
        while len(outcomes) < len(probes) and (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            packet = sock.recv(2048)
            found = _answer(packet, ident)
            if found is not None and found[0] in by_seq:
                outcomes.setdefault(by_seq[found[0]].key, found[1])
    return {p.key: outcomes.get(p.key, "timeout") for p in probes}


def _answer(packet: bytes, ident: int) -> tuple[int, str] | None:
    """(the request's sequence number, what happened) for an ICMP packet about one of our echoes."""
    ihl = (packet[0] & 0x0F) * 4
    kind, code = packet[ihl], packet[ihl + 1]
    if kind == ICMP_ECHO_REPLY:
        got_id, seq = struct.unpack("!HH", packet[ihl + 4 : ihl + 8])
        return (seq, "replied") if got_id == ident else None
    if kind in (ICMP_UNREACHABLE, ICMP_TIME_EXCEEDED):
        inner = packet[ihl + 8 :]
        inner_ihl = (inner[0] & 0x0F) * 4 if inner else 0
        request = inner[inner_ihl : inner_ihl + 8]
        if len(request) < 8 or request[0] != ICMP_ECHO:
            return None
        got_id, seq = struct.unpack("!HH", request[4:8])
        if got_id != ident:
            return None
        return seq, ("prohibited" if kind == ICMP_UNREACHABLE and code in FILTERED_CODES else "unreachable")
    return None


def run_probes(probes: list[Probe], timeout: float = 2.0) -> dict[str, str]:
    """Every probe at once; outcome by probe key. TCP and echo probes share one timeout (a selector, a
    raw socket); each HTTPS request its own thread."""
    outcomes = _tcp_all([p for p in probes if p.protocol == "tcp"], timeout)
    https = [p for p in probes if p.protocol == "https"]
    with ThreadPoolExecutor(max_workers=min(32, max(1, len(https)))) as pool:
        requests = {p.key: pool.submit(_https, p, timeout) for p in https}
        sources = {p.source for p in probes if p.protocol == "icmp"}
        for source in sources:  # one raw socket per source address
            outcomes.update(_icmp_all([p for p in probes if p.protocol == "icmp" and p.source == source], timeout))
        outcomes.update({key: future.result() for key, future in requests.items()})
    return outcomes


def in_netns(ns: str) -> list[str]:
    return ["ip", "netns", "exec", ns]


def probe_from(entry: list[str], probes: list[Probe], timeout: float = 2.0) -> dict[str, str]:
    """Run the probes inside the namespace `entry` enters; outcome by probe key."""
    if not probes:
        return {}
    done = subprocess.run(
        [*entry, sys.executable, "-I", str(_PROGRAM), "--timeout", str(timeout)],
        input=json.dumps([asdict(p) for p in probes]),
        capture_output=True,
        text=True,
        timeout=timeout * 4 + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probes from `{' '.join(entry)}` failed: {done.stderr.strip()[-500:]}")
    return dict(json.loads(done.stdout))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run reachability probes (JSON on stdin) from here.")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per probe")
    args = parser.parse_args(argv)
    probes = [Probe(**p) for p in json.loads(sys.stdin.read())]
    json.dump(run_probes(probes, args.timeout), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
