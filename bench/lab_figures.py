"""Benchmarks of the lab itself: `lab up --profile full` with a warm base image (target < 90 s),
`lab down` (< 30 s), the full lab's memory (< 3 GB) and `lab up --profile small` (< 30 s).

Runs its own labs under the prefix `mcb`, a state directory and management region of its own, so
it never touches a lab a developer has up; each is taken down at the end, also on failure. The base
image is made warm first (built if missing, timed separately and shown) because the targets are
for a warm image.

Memory is measured two ways and the larger is judged: the drop of MemAvailable while the lab is up
(everything, including kernel objects and page cache the lab pins, but also any other load on the
machine), and the proportional set size (Pss) of every process of the lab (FRR, sshd, the
containers' processes, apt-cacher-ng).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.check import load_inventory
from inventory.environment import plan_for
from inventory.loader import Inventory
from inventory.model.environment import Regions
from lab.base_image import ensure_base_image
from lab.derive import derive_topology, profile_towns
from lab.engine import Lab
from lab.names import router_ns
from lab.topology import Topology

# $MUNICLOUD_BENCH_SLOT (0 by default) gives the benchmarks' labs another prefix, state directory and
# management region, so two benchmark runs (or a developer's spike beside `make bench`) never meet.
BENCH_SLOT = int(os.environ.get("MUNICLOUD_BENCH_SLOT", "0"))
PREFIX = "mcb" if BENCH_SLOT == 0 else f"mcb{BENCH_SLOT}"
STATE_DIR = Path(f"/var/lib/municloud/lab-bench{'' if BENCH_SLOT == 0 else f'-{BENCH_SLOT}'}")
# below the test labs' regions (one /20 per test slot 0-8, from 198.19.240.0 down to 198.19.112.0), one
# /20 per bench slot 0-3 from 198.19.96.0 down: a benchmark and any test slot can run side by side
BENCH_SLOTS = range(4)
if BENCH_SLOT not in BENCH_SLOTS:
    raise SystemExit(f"MUNICLOUD_BENCH_SLOT={BENCH_SLOT}: a bench slot is 0 to {BENCH_SLOTS[-1]}")
MGMT_REGION = f"198.19.{96 - 16 * BENCH_SLOT}.0/20"
TARGETS = {"full_up": 90.0, "down": 30.0, "memory_gb": 3.0, "small_up": 30.0}
SETTLE_SECONDS = 10  # let the containers' systemd finish starting before memory is read


def topology(inventory: Inventory, profile: str) -> Topology:
    env = inventory.environment("lab").model_copy(update={"regions": Regions(management=MGMT_REGION)})
    plan = plan_for(inventory, env)
    topo = derive_topology(inventory, plan, profile_towns(inventory, profile))
    return Topology.from_dict({**topo.to_dict(), "prefix": PREFIX, "mgmt_bridge": ""})


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def lab_pids(topo: Topology) -> set[int]:
    """Every process of the lab: in a router's network namespace, in a container's cgroup, or the
    lab's apt-cacher-ng (its state directory on its command line)."""
    pids: set[int] = set()
    ns_inodes = set()
    for router in topo.routers:
        path = Path("/run/netns") / router_ns(topo.prefix, router.name)
        if path.exists():
            ns_inodes.add(path.stat().st_ino)
    marker = f"lxc.payload.{topo.prefix}-c-"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry / "ns/net").st_ino in ns_inodes or (
                marker in (entry / "cgroup").read_text() or str(STATE_DIR).encode() in (entry / "cmdline").read_bytes()
            ):
                pids.add(int(entry.name))
        except OSError:
            continue
    return pids


def pss_bytes(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


@contextmanager
def bench_lab() -> Iterator[Lab]:
    lab = Lab(state_dir=STATE_DIR, prefix=PREFIX)
    lab.down()  # whatever an interrupted earlier run left
    try:
        yield lab
    finally:
        lab.down()


def row(figure: str, target: str, measured: str, met: bool, profile: str) -> dict[str, object]:
    return {"figure": figure, "target": target, "measured": measured, "met": met, "profile": profile}


def run() -> list[dict[str, object]]:
    inventory = load_inventory()
    started = time.monotonic()
    image = ensure_base_image()
    warm = time.monotonic() - started
    how = f"built in {image.built_seconds:.0f} s" if image.built_seconds is not None else "from the cache"
    rows = [row("lab base image ready", "-", f"{warm:.1f} s ({how}, recipe {image.recipe_hash[:12]})", True, "-")]

    with bench_lab() as lab:
        full = topology(inventory, "full")
        before = mem_available()
        up = lab.up(full)
        time.sleep(SETTLE_SECONDS)
        drop = max(0, before - mem_available())
        pss = pss_bytes(lab_pids(full))
        memory_gb = max(drop, pss) / 2**30
        down = lab.down()
    shape = f"full: {len(full.routers)} routers, {len(full.containers)} containers"
    rows += [
        row(
            "lab up --profile full (warm image)",
            "< 90 s",
            f"{up.seconds:.1f} s",
            up.seconds < TARGETS["full_up"],
            shape,
        ),
        row(
            "full lab memory",
            "< 3 GB",
            f"{memory_gb:.2f} GB (MemAvailable drop {drop / 2**30:.2f}, Pss {pss / 2**30:.2f})",
            memory_gb < TARGETS["memory_gb"],
            shape,
        ),
        row("lab down", "< 30 s", f"{down.seconds:.1f} s", down.seconds < TARGETS["down"], shape),
    ]

    with bench_lab() as lab:
        small = topology(inventory, "small")
        up = lab.up(small)
    rows.append(
        row(
            "lab up --profile small",
            "< 30 s",
            f"{up.seconds:.1f} s",
            up.seconds < TARGETS["small_up"],
            f"small: {len(small.routers)} routers, {len(small.containers)} containers",
        )
    )
    return rows
