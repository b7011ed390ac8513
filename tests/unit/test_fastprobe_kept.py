"""The drills' kept-alive probe connections (bcp_drills/fastprobe.KeptConnections) when the route
moves to a data center whose first handshakes are slow (issue 19): a probe waits for any open still
under way or a connection another probe gives back, so the stream shows one outage that ends, not
answers alternating with time-outs; and a service that refuses fails the probe at once, without a
storm of connection attempts."""

from __future__ import annotations

import asyncio
import time

from bcp_drills import fastprobe

INTERVAL = 0.18  # the full lab's read interval
TIMEOUT = 1.0  # the drills' probe timeout


class Writer:
    def __init__(self, dead: bool) -> None:
        self.dead = dead

    def close(self) -> None:
        pass


class MovedRoute(fastprobe.KeptConnections):
    """Until `moved`, every connection goes into a cut path (the SYN is never answered, a kept one
    never answers); after it, the new site's handshakes take `handshake` s for 2 s, then 20 ms."""

    def __init__(self, moved: float, handshake: float) -> None:
        super().__init__("192.0.2.1", 1, None)
        self.started = time.monotonic()
        self.moved, self.handshake = moved, handshake
        self.opens = 0
        self.idle.append((None, Writer(dead=True)))  # type: ignore[arg-type]

    async def _open(self):  # type: ignore[override]
        self.opens += 1
        at = time.monotonic() - self.started
        if at < self.moved:
            await asyncio.sleep(self.CONNECT_TIMEOUT)
            raise TimeoutError
        await asyncio.sleep(self.handshake if at < self.moved + 2.0 else 0.02)
        return None, Writer(dead=False)

    async def _exchange(self, reader, writer, method, path):  # type: ignore[override]
        if writer.dead:
            await asyncio.sleep(99)
        await asyncio.sleep(0.004)
        self.idle.append((reader, writer))
        self._pulse()
        return b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n", b'{"site":"dc2"}'


async def _stream(pool: fastprobe.KeptConnections, probes: int) -> list[bool]:
    tasks = []
    for _ in range(probes):
        tasks.append(asyncio.ensure_future(fastprobe.http_probe("h", 1, "/", TIMEOUT, connections=pool)))
        await asyncio.sleep(INTERVAL)
    await asyncio.wait(tasks, timeout=TIMEOUT + 1)
    return [t.result()[0] for t in tasks]


def test_slow_first_handshakes_after_a_route_move_are_one_outage() -> None:
    for handshake in (0.5, 0.9):
        answered = asyncio.run(_stream(MovedRoute(moved=1.0, handshake=handshake), 30))
        first = answered.index(True)
        assert first > 0 and all(answered[first:]), (handshake, answered)  # no further outage


def test_a_refusing_service_fails_the_probe_at_once_without_a_storm_of_opens() -> None:
    class Refusing(fastprobe.KeptConnections):
        opens = 0

        async def _open(self):  # type: ignore[override]
            Refusing.opens += 1
            raise ConnectionRefusedError

    async def probe() -> tuple[tuple[bool, str], float]:
        started = time.monotonic()
        result = await fastprobe.http_probe("h", 1, "/", TIMEOUT, connections=Refusing("h", 1, None))
        return result, time.monotonic() - started

    (ok, detail), seconds = asyncio.run(probe())
    assert not ok and detail == "ConnectionRefusedError" and seconds < 0.1
    assert Refusing.opens <= fastprobe.KeptConnections.MAX_OPENING
