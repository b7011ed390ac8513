"""Faults on a running lab, and their bookkeeping in the state file (each recorded with what undoes
it, so `heal` undoes it also from another process or after a crash): circuits cut silently
(nftables netdev ingress drop on both ends, the link stays up so BFD/BGP timers must notice, as
with a real carrier fault) or hard (link down), sites isolated, routers and containers stopped.
Router and container stop/start live with their owners (routers.py, containers.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lab import containers, names
from lab import netns as nx
from lab.home import LabHome
from lab.state import LabState, exclusive
from lab.topology import MGMT_IFNAME, Topology
from lab.util import LabError, ok, require_root
from toolkit.processes import wait_until


def cut_table(prefix: str, link: str) -> str:
    return names.nft_table(prefix, f"cut_{link}")


def silent_cut(ns: str, ifname: str | Sequence[str], table: str) -> None:
    """Drop everything arriving on `ifname` (or on each of several) in `ns`: the links stay up.
    nft needs the rules as a file with newlines; a netdev chain hooks exactly one device."""
    if nx.in_ns(ns, "nft", "list", "table", "netdev", table, check=False):
        return
    ifnames = [ifname] if isinstance(ifname, str) else list(ifname)
    chains = "".join(
        f'  chain in{i} {{ type filter hook ingress device "{name}" priority 0; policy drop; }}\n'
        for i, name in enumerate(ifnames)
    )
    nx.in_ns(ns, "nft", "-f", "-", input=f"table netdev {table} {{\n{chains}}}\n")


def silent_restore(ns: str, table: str) -> None:
    if nx.ns_exists(ns):
        nx.in_ns(ns, "nft", "delete", "table", "netdev", table, check=False)


def hard_cut(ns: str, ifname: str) -> None:
    nx.set_up(ns, ifname, up=False)


def hard_restore(ns: str, ifname: str) -> None:
    if nx.ns_exists(ns) and nx.link_exists(ns, ifname):
        nx.set_up(ns, ifname, up=True)


# ---- the faults in force, recorded in the state file ---------------------------------------------
def in_force(home: LabHome) -> list[dict[str, Any]]:
    return list(home.state().data["faults"])


def _running(home: LabHome) -> tuple[LabState, Topology]:
    require_root()
    state = home.state()
    topo = home.topology()
    if topo is None or state.data.get("phase") != "up":
        raise LabError("no lab is up (run `lab up` first)")
    return state, topo


def cut_link(home: LabHome, link: str, hard: bool = False) -> dict[str, Any]:
    """Cut a link: silently (nftables ingress drop on both ends, link stays up) or hard (down)."""
    with exclusive(home.state_dir, "fault"):
        state, topo = _running(home)
        lk = topo.link(link)
        kind = "link_down" if hard else "link_silent"
        fault = {"id": f"{kind}:{link}", "kind": kind, "target": link, "since": time.time(), "tables": []}
        if any(f["id"] == fault["id"] for f in state.data["faults"]):
            return next(f for f in state.data["faults"] if f["id"] == fault["id"])
        fault["tables"] = _cut(topo, [lk.name], hard, "cut")
        state.add("faults", fault)
        return fault


def isolate_site(
    home: LabHome, site: str | None = None, links: Sequence[str] | None = None, hard: bool = False
) -> dict[str, Any]:
    """Cut (silently by default) every link joining `site` to the rest, or the `links` given."""
    with exclusive(home.state_dir, "fault"):
        state, topo = _running(home)
        if links is None:
            if site is None:
                raise ValueError("give a site or a list of links")
            links = [lk.name for lk in topo.links_of_site(site)]
            if not links:
                raise LabError(f"site {site!r} has no links to the rest of the lab")
        for name in links:
            topo.link(name)
        target = site or "+".join(links)
        fid = f"site_isolated:{target}"
        for f in state.data["faults"]:
            if f["id"] == fid:
                return f
        fault = {
            "id": fid,
            "kind": "site_isolated",
            "target": target,
            "links": list(links),
            "hard": hard,
            "since": time.time(),
        }
        fault["tables"] = _cut(topo, list(links), hard, "iso")
        state.add("faults", fault)
        return fault


def _cut(topo: Topology, links: Sequence[str], hard: bool, tag: str) -> list[dict[str, str]]:
    done: list[dict[str, str]] = []
    for name in links:
        lk = topo.link(name)
        for end in lk.endpoints:
            ns = names.router_ns(topo.prefix, end.router)
            if hard:
                hard_cut(ns, end.ifname)
                done.append({"ns": ns, "ifname": end.ifname})
            else:
                table = cut_table(topo.prefix, f"{tag}_{name}")
                silent_cut(ns, end.ifname, table)
                done.append({"ns": ns, "table": table, "ifname": end.ifname})
    return done


def stop_router(home: LabHome, router: str) -> dict[str, Any]:
    """Power a router off: stop its FRR and sshd, and silence every interface it has (the kernel
    of its namespace would still answer ARP and ping). Its links stay up, as a carrier's access
    circuits do when the box behind them dies: the neighbours' BFD must notice."""
    with exclusive(home.state_dir, "fault"):
        state, topo = _running(home)
        spec = topo.router(router)
        fid = f"router_stopped:{router}"
        for f in state.data["faults"]:
            if f["id"] == fid:
                return f
        ns = names.router_ns(topo.prefix, router)
        table = cut_table(topo.prefix, f"off_{router}")
        fault = {
            "id": fid,
            "kind": "router_stopped",
            "target": router,
            "since": time.time(),
            "tables": [{"ns": ns, "table": table}],
        }
        state.add("faults", fault)  # recorded first: a crash below still leaves it healable
        # Silent first, then stopped: a box that loses power sends no BGP notification on its
        # way down, so its neighbours must notice by themselves (BFD), as in a real outage.
        ifnames = [MGMT_IFNAME, *(end.ifname for lk in topo.links for end in lk.endpoints if end.router == router)]
        ifnames += [lan.ifname for lan in topo.lans if lan.router == spec.name]
        silent_cut(ns, ifnames, table)
        home.routers(state, topo).stop(router)
        return fault


def stop_container(home: LabHome, container: str, kill: bool = False) -> dict[str, Any]:
    with exclusive(home.state_dir, "fault"):
        state, topo = _running(home)
        c = topo.container(container)
        fid = f"container_stopped:{container}"
        fault = {"id": fid, "kind": "container_stopped", "target": container, "since": time.time()}
        if not any(f["id"] == fid for f in state.data["faults"]):
            state.add("faults", fault)
        containers.stop_container(names.container_name(topo.prefix, c.name), kill=kill)
        # The kernel tears a stopped container's network namespace down asynchronously; until it
        # has, the container's address still answers on its LAN (seen under load: a ping answered
        # after lxc-info said STOPPED). The fault is in force once its LAN port is gone with it (a
        # management-only container's, its management port in the root namespace).
        if c.lan is None:
            where, port = ["ip"], names.container_mgmt_port(topo.prefix, c.name)
            place = "the root namespace"
        else:
            place = names.lan_ns(topo.prefix, c.lan)
            where, port = ["ip", "-n", place], names.container_lan_port(topo.prefix, c.name)
        if not wait_until(lambda: not ok([*where, "link", "show", "dev", port]), 10.0, 0.05):
            raise LabError(f"container {container} stopped, but its port {port} is still in {place} after 10 s")
        return fault


def restore(home: LabHome, fault_id: str) -> None:
    """Remove one fault (see `in_force()` for the ids)."""
    with exclusive(home.state_dir, "heal"):
        state, topo = _running(home)
        for f in list(state.data["faults"]):
            if f["id"] == fault_id:
                _restore(home, state, topo, f)
                return
        raise LabError(f"no fault {fault_id!r} in force")


def heal(home: LabHome) -> list[dict[str, Any]]:
    """Remove every fault in force (newest first); return what was healed."""
    require_root()
    with exclusive(home.state_dir, "heal"):
        state = home.state()
        topo = home.topology()
        if topo is None:
            return []
        healed = []
        for f in reversed(list(state.data["faults"])):
            _restore(home, state, topo, f)
            healed.append(f)
        return healed


# convenience names for the drills
def restore_link(home: LabHome, link: str) -> None:
    for kind in ("link_silent", "link_down"):
        if any(f["id"] == f"{kind}:{link}" for f in in_force(home)):
            restore(home, f"{kind}:{link}")


def start_router(home: LabHome, router: str) -> None:
    restore(home, f"router_stopped:{router}")


def start_container(home: LabHome, container: str) -> None:
    restore(home, f"container_stopped:{container}")


def _restore(home: LabHome, state: LabState, topo: Topology, f: dict[str, Any]) -> None:
    kind = f["kind"]
    if kind in ("link_silent", "link_down", "site_isolated"):
        for t in f.get("tables", []):
            if "table" in t:
                silent_restore(t["ns"], t["table"])
            else:
                hard_restore(t["ns"], t["ifname"])
    elif kind == "router_stopped":
        for t in f.get("tables", []):
            silent_restore(t["ns"], t["table"])
        home.routers(state, topo).start(topo.router(f["target"]))
    elif kind == "container_stopped":
        c = topo.container(f["target"])
        ct = home.containers(state, topo)
        ct.start(c)
        ct.wait_ssh(c, timeout=90)
    state.remove("faults", f)
