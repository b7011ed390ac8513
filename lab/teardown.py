"""Taking a lab down from any state (up, half built, crashed, its state file lost): everything the
state file records and everything of its prefix found on the system (`lab.leftovers`) is removed,
the state file goes back to empty. Keys and logs stay."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab import netns as nx
from lab.base_image import stop_builders
from lab.containers import LXC_PATH, Containers, list_containers, stop_container
from lab.home import LabHome
from lab.leftovers import (
    acng_refs,
    frr_pidfile_refs,
    lab_cgroups,
    lab_mounts,
    leftovers,
    other_lab_bridges,
    pids_in_lxc_cgroups,
    root_nft_tables,
)
from lab.names import ROUTE_PROTO
from lab.routers import FRR_ETC, FRR_RUN
from lab.state import exclusive
from lab.util import LabError, Progress, Ticker, parallel, require_root, run
from toolkit.processes import ProcRef, attached_processes, stop_processes


@dataclass
class DownReport:
    seconds: float
    removed: list[str]
    leftovers: list[str]  # what is still on the system afterwards (normally empty)


def down(home: LabHome, progress: Progress | None = None) -> DownReport:
    """Remove everything of the lab's, found from the state file AND on the system by prefix."""
    require_root()
    with exclusive(home.state_dir, "lab down"):
        return _down(home, progress)


def _down(home: LabHome, progress: Progress | None) -> DownReport:
    started = time.monotonic()
    state = home.state()
    prefix = state.data.get("prefix") or home.default_prefix
    removed: list[str] = []
    tick = Ticker(progress, 7)
    state.set("phase", "down")

    # 1. containers (stopped concurrently, then their directories)
    cts = sorted(set(list_containers(prefix)) | set(state.data["containers"]))

    def stop_ct(name: str) -> None:
        stop_container(name, kill=True)

    parallel(stop_ct, cts, workers=8, what="container", raise_errors=False)
    _kill(pids_in_lxc_cgroups(prefix))
    for name in cts:
        _umount_under(LXC_PATH / name)
        Containers.destroy(name)
        removed.append(f"container {name}")
    tick("containers removed")

    # 2. processes: recorded ones, FRR pid files, and everything inside the lab's namespaces
    refs: list[ProcRef] = []
    for rec in state.data["processes"].values():
        with contextlib.suppress(KeyError, ValueError):
            refs.append(ProcRef.from_json(rec))
    refs += frr_pidfile_refs(prefix)
    inodes = {i for i in (nx.ns_inode(ns) for ns in nx.list_ns(prefix)) if i}
    refs += nx.pids_in_netns(inodes)
    refs += acng_refs(home.state_dir)
    attached = attached_processes(home.state_dir)  # e.g. `monitor up`'s Prometheus scraping the lab
    refs += [ref for _, ref in attached]
    killed = _kill(refs)
    for path, _ in attached:
        path.unlink(missing_ok=True)
    removed += [f"base-image build {pid}" for pid in stop_builders(home.base_cache)]
    removed += [f"process {r.pid}" for r in killed]
    state.set("processes", {})
    tick("processes stopped")

    # 3. namespaces (their links, bridges and nftables tables go with them)
    for ns in sorted(set(nx.list_ns(prefix)) | set(state.data["namespaces"])):
        if (nx.NETNS_DIR / ns).exists():
            nx.delete_ns(ns)
            removed.append(f"namespace {ns}")
    tick("namespaces deleted")

    # 4. root namespace: links, bridges, nftables tables, routes
    for ifname in sorted(set(nx.list_links(None, prefix)) | set(state.data["links"])):
        if nx.link_exists(None, ifname):
            nx.ip(None, "link", "delete", "dev", ifname, check=False)
            removed.append(f"link {ifname}")
    for fam, table in root_nft_tables(prefix):
        run(["nft", "delete", "table", fam, table], check=False)
        removed.append(f"nft table {fam} {table}")
    if not other_lab_bridges():  # the guard route is shared by labs running side by side
        for r in nx.ip_json(None, "route", "show", "proto", ROUTE_PROTO):
            nx.ip(None, "route", "delete", r.get("type", "unicast"), r["dst"], "proto", ROUTE_PROTO, check=False)
            removed.append(f"route {r['dst']}")
    tick("links, tables, routes removed")

    # 5. FRR instance directories, mounts and cgroups
    for d in (FRR_ETC, FRR_RUN):
        if d.is_dir():
            for sub in d.glob(f"{prefix}-*"):
                shutil.rmtree(sub, ignore_errors=True)
    for mnt in lab_mounts(prefix):
        run(["umount", "-l", mnt], check=False)
    for cg in lab_cgroups(prefix):
        _rmdir_tree(cg)
    if not list_containers(""):  # LXC's shared pivot cgroup, once no container at all is left
        for pivot in Path("/sys/fs/cgroup").glob("*/lxc.pivot"):
            with contextlib.suppress(OSError):
                pivot.rmdir()
    tick("directories, mounts, cgroups removed")

    # 6. the state file goes back to empty; keys and logs stay (they are not system objects)
    state.reset()
    shutil.rmtree(home.state_dir / "routers", ignore_errors=True)
    shutil.rmtree(home.state_dir / "apt-cacher-ng", ignore_errors=True)
    tick("state cleared")
    left = leftovers(prefix, home.state_dir)
    tick("checked", 7)
    return DownReport(seconds=round(time.monotonic() - started, 2), removed=removed, leftovers=left)


def _kill(refs: Iterable[ProcRef]) -> list[ProcRef]:
    unique = sorted({r for r in refs if r.alive()}, key=lambda r: r.pid)
    left = stop_processes(unique, grace=5.0)
    if left:
        raise LabError(f"processes {[r.pid for r in left]} did not stop")
    return unique


def _rmdir_tree(path: Path) -> None:
    """Remove an (empty of processes) cgroup directory tree, deepest first."""
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def _umount_under(path: Path) -> None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mnt = line.split()[4]
            if mnt.startswith(str(path)):
                run(["umount", "-l", mnt], check=False)
