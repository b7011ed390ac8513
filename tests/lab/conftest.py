"""The lab engine's tests: real FRR, OpenSSH, LXC, nftables; root needed.

`sample_lab` brings the engine's sample topology up once per session under its own prefix (`mct`),
management subnet and state directory, so it never touches a lab a developer has up, and takes it
down at the end even when tests fail. The `lab` fixture heals every fault after each test.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.engine import Lab, UpReport
from lab.names import client_ns, router_ns
from lab.topology import Topology, sample_topology

PREFIX = "mct"
MGMT_SUBNET = "198.18.250.0/24"
STATE_DIR = Path("/var/lib/municloud/lab-test")


@dataclass
class SampleLab:
    lab: Lab
    topo: Topology
    report: UpReport
    up_seconds: float

    def router_ns(self, router: str) -> str:
        return router_ns(self.topo.prefix, router)

    def client_ns(self, client: str) -> str:
        return client_ns(self.topo.prefix, client)

    def netmiko(self, router: str):
        from network.drivers.frr import FrrVtyshSSH

        spec = self.topo.router(router)
        return FrrVtyshSSH(
            host=str(spec.mgmt_address.ip),
            username="netops",
            use_keys=True,
            key_file=str(self.lab.private_key),
            allow_agent=False,
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=str(self.lab.keys_dir / "known_hosts"),
            ssh_strict=True,  # the lab pinned its routers' host keys
            conn_timeout=10,
            auth_timeout=10,
        )

    def ssh(self, container: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        spec = self.topo.container(container)
        return subprocess.run(
            [
                "ssh",
                "-i",
                str(self.lab.private_key),
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                f"root@{spec.mgmt_address.ip}",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (namespaces, nftables, LXC)")


def running_lab(state_dir: Path, topo: Topology) -> Iterator[SampleLab]:
    """Bring `topo` up under its own prefix and state directory; take it down at the end, also when
    a test fails. Whatever an earlier, crashed session left is removed first."""
    _need_root()
    lab = Lab(state_dir=state_dir, prefix=topo.prefix)
    lab.down()
    try:
        started = time.monotonic()
        report = lab.up(topo)
        yield SampleLab(lab, topo, report, time.monotonic() - started)
    finally:
        lab.down()


@pytest.fixture(scope="session")
def sample_lab() -> Iterator[SampleLab]:
    yield from running_lab(STATE_DIR, sample_topology(PREFIX, MGMT_SUBNET))


@pytest.fixture
def lab(sample_lab: SampleLab) -> Iterator[SampleLab]:
    yield sample_lab
    sample_lab.lab.heal()
