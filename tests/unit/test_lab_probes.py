"""The isolation proof's probe engine (lab/probes.py), on loopback: TCP probes all at once on one
selector, echo probes on one raw socket, and the ICMP errors matched to the request they are about."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from lab.probes import ICMP_ECHO, ICMP_UNREACHABLE, Probe, _answer, _checksum, _echo, run_probes


def test_tcp_probes_run_at_once_and_say_what_the_network_did() -> None:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: a reset
    try:
        probes = [
            Probe("tcp", "127.0.0.1", listening.getsockname()[1]),
            Probe("tcp", "127.0.0.1", closed.getsockname()[1]),
        ]
        started = time.monotonic()
        outcomes = run_probes(probes, timeout=2.0)
        assert time.monotonic() - started < 1.0
        assert [outcomes[p.key] for p in probes] == ["open", "refused"]
    finally:
        listening.close()
        closed.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="a raw ICMP socket needs root")
def test_echo_probes_on_one_raw_socket() -> None:
    probe = Probe("icmp", "127.0.0.1")
    assert run_probes([probe], timeout=2.0) == {probe.key: "replied"}


def _ip(payload: bytes, protocol: int = 1) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, protocol, 0, bytes(4), bytes(4)) + payload


def test_an_icmp_error_is_matched_to_its_request_by_the_header_it_carries() -> None:
    request = _echo(4242, 7)
    assert _checksum(request) == 0  # a valid checksum sums to zero
    prohibited = _ip(struct.pack("!BBHI", ICMP_UNREACHABLE, 13, 0, 0) + _ip(request))
    assert _answer(prohibited, 4242) == (7, "prohibited")
    no_route = _ip(struct.pack("!BBHI", ICMP_UNREACHABLE, 0, 0, 0) + _ip(request))
    assert _answer(no_route, 4242) == (7, "unreachable")
    assert _answer(prohibited, 4243) is None  # another process's echo
    reply = _ip(struct.pack("!BBHHH", 0, 0, 0, 4242, 9))
    assert _answer(reply, 4242) == (9, "replied")
    assert ICMP_ECHO == 8
