"""The lab tests: real FRR, OpenSSH, LXC, nftables; root needed.

Two labs, each brought up once per test session under its own prefix, management subnet and state
directory (so they never touch a lab a developer has up) and taken down at the end even when tests
fail:
- `sample_lab`: the engine's own sample topology (prefix `mct`), for the engine's tests;
- `small_lab`: the inventory's `small` profile (3 towns, 7 routers, 8 containers), the lab every
  later part (network changes, provisioning, SLA probes, drills) is tested on. For the session it
  writes its environment binding and points $MUNICLOUD_BINDING at it, and points
  $MUNICLOUD_STATE_DIR at a directory of its own, so commands under test reach this lab and keep
  their state (plans, backups, audit logs) apart from a developer's.
The `lab` and `clean_small_lab` fixtures heal every fault after each test.

$MUNICLOUD_TEST_LAB_SLOT (0 by default) gives the small lab another prefix, state directory and
management region, so that two test sessions can each have their own small lab side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from inventory.address_plan import plan_addresses
from inventory.loader import Inventory, load_inventory
from inventory.model.environment import Regions
from lab.derive import derive_topology, profile_towns
from lab.engine import Lab, UpReport
from lab.names import client_ns, router_ns
from lab.topology import Topology, sample_topology
from municloud.environment import BINDING_ENV_VAR, EnvironmentBinding, bind_environment
from municloud.lab_binding import write_lab_binding

from .system import lab_objects

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


# ---- the inventory's small profile, shared by every later part's lab tests ----------------------------
SMALL_SLOT = int(os.environ.get("MUNICLOUD_TEST_LAB_SLOT", "0"))
SMALL_PREFIX = "mcs" if SMALL_SLOT == 0 else f"mcs{SMALL_SLOT}"
SMALL_STATE_DIR = Path(f"/var/lib/municloud/lab-test-small{'' if SMALL_SLOT == 0 else f'-{SMALL_SLOT}'}")
# Management regions carved below the lab environment's own (198.18.16.0/20), one /20 per slot.
SMALL_MGMT_REGION = f"198.19.{240 - 16 * SMALL_SLOT}.0/20"


@dataclass
class SmallLab(SampleLab):
    inventory: Inventory
    towns: list[str]
    binding_path: Path
    ops_state_dir: Path
    first_provision: dict | None = None  # the first `municloud provision --json` of the session

    def environment(self) -> EnvironmentBinding:
        return bind_environment(self.inventory, "lab", self.binding_path)


def small_topology(inventory: Inventory) -> Topology:
    env = inventory.environment("lab").model_copy(update={"regions": Regions(management=SMALL_MGMT_REGION)})
    plan = plan_addresses(
        env, inventory.addressing, inventory.towns, inventory.datacenters, inventory.wan.carrier.edges
    )
    topo = derive_topology(inventory, plan, profile_towns(inventory, "small"))
    return Topology.from_dict({**topo.to_dict(), "prefix": SMALL_PREFIX, "mgmt_bridge": ""})


@pytest.fixture(scope="session")
def small_lab() -> Iterator[SmallLab]:
    inventory = load_inventory()
    towns = [t.id for t in profile_towns(inventory, "small")]
    binding_path = SMALL_STATE_DIR / "binding.yaml"
    ops_state_dir = SMALL_STATE_DIR.with_name(SMALL_STATE_DIR.name + "-ops")
    saved = {k: os.environ.get(k) for k in (BINDING_ENV_VAR, "MUNICLOUD_STATE_DIR")}
    shutil.rmtree(ops_state_dir, ignore_errors=True)  # a new lab: no plan, backup, secret or record is valid
    try:
        with contextmanager(running_lab)(SMALL_STATE_DIR, small_topology(inventory)) as sample:
            write_lab_binding(sample.lab, towns, binding_path)
            os.environ[BINDING_ENV_VAR] = str(binding_path)
            os.environ["MUNICLOUD_STATE_DIR"] = str(ops_state_dir)
            yield SmallLab(
                sample.lab, sample.topo, sample.report, sample.up_seconds, inventory, towns, binding_path, ops_state_dir
            )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # Checked against the system, not against the lab's own state file: an error at teardown if any.
    leftovers = lab_objects(SMALL_PREFIX, SMALL_STATE_DIR)
    assert leftovers == [], f"lab down left these behind: {leftovers}"


@pytest.fixture
def clean_small_lab(small_lab: SmallLab) -> Iterator[SmallLab]:
    """The small lab, with every fault a test leaves healed afterwards."""
    yield small_lab
    small_lab.lab.heal()


# ---- the small lab's WAN routed from the inventory, shared by provisioning, SLA and drill tests ------
def municloud_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`municloud ...` in its own process, reaching the session's lab through $MUNICLOUD_BINDING."""
    return subprocess.run(
        [sys.executable, "-m", "municloud.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def networked_lab(small_lab: SmallLab) -> SmallLab:
    """The small lab with every router configured from the inventory (`net plan` then `net apply`;
    an empty plan when an earlier test already did it)."""
    planned = municloud_cli("net", "plan", "--json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    path = json.loads(planned.stdout)["path"]
    if path is not None:  # None: nothing to change (every router already as intended)
        applied = municloud_cli("net", "apply", path, "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
    return small_lab


@pytest.fixture(scope="session")
def provisioned_lab(networked_lab: SmallLab) -> SmallLab:
    """The routed small lab with every server provisioned (`municloud provision`), once per session."""
    result = municloud_cli("provision", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    networked_lab.first_provision = json.loads(result.stdout)
    return networked_lab
