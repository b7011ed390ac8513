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

Test slots: $MUNICLOUD_TEST_LAB_SLOT (0 by default) plus the pytest-xdist worker's index (gw0 +0,
gw1 +1; +0 without xdist) is this process's slot. Every lab of the tests (small, sample, the
interrupted `up`'s) and every port takes the slot into its prefix, state directory, management
subnet and port number, so that test sessions, and the workers of one `pytest -n 2` session, each
have their own labs side by side. Slot 0 keeps the historical names (`mcs`, `mct`, `mci`).

`pytest -n 2 --dist loadgroup tests/lab` (what `make test` runs) puts each test file whole on one
worker, by the groups of `LAB_GROUPS`: a file's tests share its worker's labs and run in order.
"""

from __future__ import annotations

import fcntl
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
from xdist.scheduler import LoadScopeScheduling

from inventory.check import load_inventory
from inventory.environment import BINDING_ENV_VAR, EnvironmentBinding, bind_environment, plan_for
from inventory.loader import Inventory
from inventory.model.environment import Regions
from lab.base_image import ensure_base_image
from lab.binding import write_lab_binding
from lab.derive import derive_topology, profile_towns
from lab.engine import Lab, UpReport
from lab.names import client_ns, router_ns
from lab.topology import Topology, sample_topology

from .system import lab_objects

BASE_SLOT = int(os.environ.get("MUNICLOUD_TEST_LAB_SLOT", "0"))
# xdist names its workers gw0, gw1, ...; a session without xdist is worker 0.
SLOT = BASE_SLOT + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


SLOT_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"  # a lab prefix has at most 4 characters


def slot_name(base: str) -> str:
    """`base` for slot 0 (a developer's habitual names), else a directory `base-<slot>` or a lab
    prefix `base` + the slot as one base-36 digit (slot 3: mcs3, slot 11: mcsb)."""
    if SLOT == 0:
        return base
    return f"{base}-{SLOT}" if "/" in base else base + SLOT_DIGITS[SLOT]


# The sample labs' management subnets: two /24s per slot, down from 198.18.250.0 (198.18.0.0/15,
# clear of the lab environment's 198.18.16.0/20 and of the slots' /20s in 198.19).
PREFIX = slot_name("mct")
MGMT_SUBNET = f"198.18.{250 - 2 * SLOT}.0/24"
STATE_DIR = Path(slot_name("/var/lib/municloud/lab-test"))
# test_interrupted's lab, brought up and killed by the test itself
INTERRUPTED_PREFIX = slot_name("mci")
INTERRUPTED_MGMT_SUBNET = f"198.18.{251 - 2 * SLOT}.0/24"
INTERRUPTED_STATE_DIR = Path(slot_name("/var/lib/municloud/lab-test-interrupted"))

# `--dist loadgroup` for the lab tests: the two workers' shares, balanced by the files' measured
# durations. Files sharing the provisioned small lab stay together, so each worker provisions at most
# once. A file not named here is a group of its own (correct, perhaps unbalanced).
LAB_GROUPS = {
    # lab-a: the SLA test waits out whole calendar minutes (about 11 of its 12) while Prometheus
    # scrapes a quiet lab; lab-b runs everything else (the hand-over's export beside a drill made
    # another town's probes time out: a stop condition).
    "test_sla_lab.py": "lab-a",
    "test_handover.py": "lab-b",
    "test_drills.py": "lab-b",
    "test_interrupted.py": "lab-b",
    "test_lab.py": "lab-b",
    "test_network.py": "lab-b",
    "test_provisioning.py": "lab-b",
    "test_backups.py": "lab-b",
    "test_small_lab.py": "lab-b",
    "test_whole_demo.py": "lab-b",
}


class LabGroupScheduling(LoadScopeScheduling):
    """Each test file whole on one worker, the files of one `LAB_GROUPS` group on the same worker.

    Grouped by file name here, not by `xdist_group` marks: with pytest 9.2, xdist 3.8 cannot carry a
    mark's group to the scheduler any more (it rewrites a node id that pytest no longer reads,
    pytest-xdist issue 1386) and would spread a file's tests over both workers."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return LAB_GROUPS.get(path.rsplit("/", 1)[-1], path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    return LabGroupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


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


@contextmanager
def one_up_at_a_time() -> Iterator[None]:
    """Held by this session's workers while one of them brings a lab up: the first `up` on a fresh
    machine also prepares the host (the base image, the routers' login user), which two at once
    would race for. Only workers of the same base slot wait for each other."""
    lock = Path(f"/run/lock/municloud-lab-test-{BASE_SLOT}.lock")
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the file closes, or when the holder dies
        yield


@pytest.fixture(scope="session", autouse=True)
def _base_image() -> None:
    """The containers' base image before any test: a test that brings up its own lab (test_interrupted)
    must not start a second build beside a worker's first `up`."""
    if os.geteuid() == 0:
        with one_up_at_a_time():
            ensure_base_image()


def running_lab(state_dir: Path, topo: Topology) -> Iterator[SampleLab]:
    """Bring `topo` up under its own prefix and state directory; take it down at the end, also when
    a test fails. Whatever an earlier, crashed session left is removed first."""
    _need_root()
    lab = Lab(state_dir=state_dir, prefix=topo.prefix)
    lab.down()
    try:
        started = time.monotonic()
        with one_up_at_a_time():
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
SMALL_SLOT = SLOT  # the test files' ports: 19190 + 10 * slot and up
SMALL_PREFIX = slot_name("mcs")
SMALL_STATE_DIR = Path(slot_name("/var/lib/municloud/lab-test-small"))
# Management regions carved below the lab environment's own (198.18.16.0/20), one /20 per slot, from
# 198.19.240.0 down to 198.19.112.0 (slot 8); the benchmarks' labs take the /20s below (bench/lab_figures.py).
SMALL_SLOTS = range(9)
if SMALL_SLOT not in SMALL_SLOTS:
    raise pytest.UsageError(f"test slot {SMALL_SLOT} (MUNICLOUD_TEST_LAB_SLOT + xdist worker): a slot is 0 to 8")
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
    plan = plan_for(inventory, env)
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
            write_lab_binding(sample.lab, towns, binding_path, "small")
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
    """The routed small lab with every server provisioned (`municloud provision`), once per session:
    the lab environment's execution nodes set up first (`municloud nodes setup`), so each town's
    servers are provisioned on its node and the data centers' here, as the environment says."""
    nodes = municloud_cli("nodes", "setup")
    assert nodes.returncode == 0, nodes.stdout[-3000:] + nodes.stderr[-3000:]
    result = municloud_cli("provision", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    networked_lab.first_provision = json.loads(result.stdout)
    return networked_lab
