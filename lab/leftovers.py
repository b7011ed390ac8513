"""What of a lab is on the system, found by its prefix and not from its state file (which a crash
may have torn or lost): its namespaces, links, nftables tables, containers, routes, processes,
mounts, cgroups and FRR directories. `down` removes what these find; `leftovers()` is its check."""

from __future__ import annotations

import contextlib
import os
from ipaddress import IPv4Address
from pathlib import Path

from lab import netns as nx
from lab.containers import LXC_PATH, list_containers
from lab.names import ROUTE_PROTO
from lab.routers import FRR_ETC, FRR_RUN
from lab.state import DEFAULT_STATE_DIR
from lab.topology import DEFAULT_PREFIX, LAB_RANGE
from lab.util import run
from toolkit.processes import ProcRef


def other_lab_bridges() -> list[str]:
    """Interfaces in the root namespace still holding a lab-range address (another lab's bridge)."""
    out = []
    for link in nx.ip_json(None, "-4", "addr", "show"):
        for a in link.get("addr_info", []):
            if IPv4Address(a["local"]) in LAB_RANGE:
                out.append(link["ifname"])
    return out


def frr_pidfile_refs(prefix: str) -> list[ProcRef]:
    refs = []
    if FRR_RUN.is_dir():
        for d in FRR_RUN.glob(f"{prefix}-*"):
            for pf in d.glob("*.pid"):
                with contextlib.suppress(OSError, ValueError):
                    pid = int(pf.read_text().split()[0])
                    if d.name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                        ref = ProcRef.of(pid)
                        if ref:
                            refs.append(ref)
    return refs


def acng_refs(state_dir: Path) -> list[ProcRef]:
    """The lab's apt-cacher-ng, found by its config directory on its command line."""
    marker = str(state_dir / "apt-cacher-ng").encode()
    refs = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker in Path(f"/proc/{entry.name}/cmdline").read_bytes():
                    ref = ProcRef.of(int(entry.name))
                    if ref and ref.pid != os.getpid():
                        refs.append(ref)
    return refs


def pids_in_lxc_cgroups(prefix: str) -> list[ProcRef]:
    marks = (f"lxc.payload.{prefix}-", f"lxc.monitor.{prefix}-", f"/lxc/{prefix}-")
    refs = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cg = Path(f"/proc/{entry.name}/cgroup").read_text()
                if any(m in cg for m in marks):
                    ref = ProcRef.of(int(entry.name))
                    if ref:
                        refs.append(ref)
    return refs


def root_nft_tables(prefix: str) -> list[tuple[str, str]]:
    out = run(["nft", "list", "tables"], check=False, timeout=15).stdout
    tables = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "table" and parts[2].startswith(f"{prefix}_"):
            tables.append((parts[1], parts[2]))
    return tables


def lab_mounts(prefix: str) -> list[str]:
    marks = (f"/run/netns/{prefix}-", f"{LXC_PATH}/{prefix}-", f"/lxc.payload.{prefix}-")
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mnt = line.split()[4]
            if any(m in mnt for m in marks):
                mounts.append(mnt)
    return sorted(mounts, key=len, reverse=True)


def lab_cgroups(prefix: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    found: list[Path] = []
    pats = (f"lxc.payload.{prefix}-*", f"lxc.monitor.{prefix}-*", f"lxc/{prefix}-*", f"lxc.pivot/{prefix}-*")
    for ctrl in [root, *root.iterdir()] if root.is_dir() else []:
        if ctrl.is_dir():
            for pat in pats:
                found += [p for p in ctrl.glob(pat) if p.is_dir()]
    return found


def leftovers(prefix: str = DEFAULT_PREFIX, state_dir: Path = DEFAULT_STATE_DIR) -> list[str]:
    """Everything of a lab with this prefix still on the system (empty after a good `down()`)."""
    left = [f"namespace {ns}" for ns in nx.list_ns(prefix)]
    left += [f"link {x}" for x in nx.list_links(None, prefix)]
    left += [f"nft table {f} {t}" for f, t in root_nft_tables(prefix)]
    left += [f"container {c}" for c in list_containers(prefix)]
    if not other_lab_bridges():
        left += [f"route {r['dst']}" for r in nx.ip_json(None, "route", "show", "proto", ROUTE_PROTO)]
    left += [f"process {r.pid}" for r in frr_pidfile_refs(prefix) + acng_refs(state_dir)]
    left += [f"process {r.pid} (lxc)" for r in pids_in_lxc_cgroups(prefix)]
    left += [f"mount {m}" for m in lab_mounts(prefix)]
    left += [f"cgroup {c}" for c in lab_cgroups(prefix)]
    for d in (FRR_ETC, FRR_RUN):
        if d.is_dir():
            left += [f"directory {p}" for p in d.glob(f"{prefix}-*")]
    return left
