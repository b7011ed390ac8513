"""Reachability probes from inside a lab namespace: does a TCP connection or an echo request from
here get to an address, and if not, what stopped it.

`probe_from(entry, probes)` runs this file as a program behind `entry` (`ip netns exec NS`, `nsenter
--net=...`), all probes at once in threads, and reads the outcomes back as JSON: one process per
namespace, however many probes. The program needs only the standard library and `ping`.

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
import socket
import ssl
import subprocess
import sys
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


def _tcp(probe: Probe, timeout: float) -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if probe.source:
            sock.bind((probe.source, 0))
        sock.connect((probe.address, int(probe.port or 0)))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as error:
        # Linux reports an ICMP "communication administratively prohibited" as EHOSTUNREACH, as it
        # does a host unreachable; a filter's refusal is told apart by the echo probe's text (below)
        # or, for TCP, by what the policy expects. ENETUNREACH: no route, here or at a router.
        if error.errno == errno.EHOSTUNREACH:
            return "prohibited"
        if error.errno == errno.ENETUNREACH:
            return "unreachable"
        return "timeout" if error.errno == errno.ETIMEDOUT else "unreachable"
    finally:
        sock.close()


def _icmp(probe: Probe, timeout: float) -> str:
    command = ["ping", "-n", "-c", "1", "-W", str(max(1, round(timeout)))]
    command += ["-I", probe.source] if probe.source else []
    done = subprocess.run([*command, probe.address], capture_output=True, text=True, timeout=timeout + 5)
    if done.returncode == 0:
        return "replied"
    text = done.stdout + done.stderr
    if "Prohibited" in text or "prohibited" in text:
        return "prohibited"
    if "Unreachable" in text or "unreachable" in text:
        return "unreachable"
    return "timeout"


def run_probes(probes: list[Probe], timeout: float = 2.0) -> dict[str, str]:
    """Every probe at once; outcome by probe key."""

    def one(p: Probe) -> tuple[str, str]:
        run = {"tcp": _tcp, "https": _https}.get(p.protocol, _icmp)
        return p.key, run(p, timeout)

    with ThreadPoolExecutor(max_workers=min(32, max(1, len(probes)))) as pool:
        return dict(pool.map(one, probes))


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
