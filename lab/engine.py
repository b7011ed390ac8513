"""The lab engine: bring a `Topology` up on this machine, report its status, inject and heal
faults, and take everything down again, from any state.

    from lab.engine import Lab
    lab = Lab()                       # state in /var/lib/municloud/lab
    report = lab.up(topology, progress=lambda what, done, total: ...)
    lab.fault_cut_link("t1-primary")  # silent: nftables drop, link stays up
    lab.heal()
    lab.status().to_dict()
    lab.down()

Every method needs root (NotRootError otherwise) and holds the lab's lock while it changes things.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import faults as fx
from lab import names, teardown
from lab import netns as nx
from lab.base_image import BaseImage, ensure_base_image
from lab.containers import LXC_PATH, stop_container
from lab.home import LabHome
from lab.names import ROUTE_PROTO
from lab.routers import Routers, ensure_netops_user
from lab.state import LabState, exclusive
from lab.status import LabStatus, NodeStatus, lab_status
from lab.teardown import DownReport
from lab.topology import LAB_RANGE, MGMT_IFNAME, Topology
from lab.util import LabError, Progress, Ticker, parallel, require_root, run


@dataclass
class UpReport:
    seconds: float
    steps: list[tuple[str, float]]
    base_image: str | None
    base_image_built_seconds: float | None
    created: list[str] = field(default_factory=list)  # what this run created or repaired


class Lab(LabHome):
    # ---- up ----------------------------------------------------------------------------------------
    def up(self, topology: Topology, progress: Progress | None = None, with_containers: bool = True) -> UpReport:
        """Build the lab, or repair what is missing in a running one (touching nothing else).
        Faults in force stay in force (`heal()` removes them)."""
        require_root()
        topology.validate()
        with exclusive(self.state_dir, "lab up"):
            return self._up(topology, progress, with_containers)

    def _up(self, topo: Topology, progress: Progress | None, with_containers: bool) -> UpReport:
        started = time.monotonic()
        state = self.state()
        old = state.data.get("topology")
        if old and Topology.from_dict(old) != topo and state.data.get("phase") != "empty":
            raise LabError("a lab with a different topology is already up: run `lab down` first")
        state.set("topology", topo.to_dict())
        state.set("prefix", topo.prefix)
        state.set("phase", "building")
        (state.dir / "log").mkdir(parents=True, exist_ok=True)
        containers = topo.containers if with_containers else ()
        total = 2 + 2 * len(topo.routers) + len(topo.links) + len(topo.lans) + len(topo.clients)
        total += 2 + 3 * len(containers) if containers else 1
        tick = Ticker(progress, total)
        steps: list[tuple[str, float]] = []
        created: list[str] = []
        t0 = time.monotonic()

        def step(name: str) -> None:
            nonlocal t0
            now = time.monotonic()
            steps.append((name, round(now - t0, 2)))
            t0 = now

        # the base image builds (or comes from the cache) while the network comes up
        base_box: dict[str, Any] = {}
        base_thread = None
        if containers:

            def build() -> None:
                try:
                    base_box["image"] = ensure_base_image(self.base_cache)
                except BaseException as exc:  # re-raised in the main thread
                    base_box["error"] = exc

            base_thread = threading.Thread(target=build, name="base-image", daemon=True)
            base_thread.start()

        self._prepare_host(state)
        tick("host ready (keys, user, sysctls)")
        # management bridge: the operations center's only link into the lab
        state.add("links", topo.mgmt_bridge)
        if nx.ensure_bridge(None, topo.mgmt_bridge):
            created.append(f"bridge {topo.mgmt_bridge}")
        nx.ensure_addresses(None, topo.mgmt_bridge, [topo.ops_address])
        Path(f"/proc/sys/net/ipv4/conf/{topo.mgmt_bridge}/forwarding").write_text("0")
        nx.set_up(None, topo.mgmt_bridge)
        self._guard_root_route(state)
        tick(f"management bridge {topo.mgmt_bridge}")
        step("host and management bridge")

        routers = self.routers(state, topo)
        faulted_routers = {f["target"] for f in state.data["faults"] if f["kind"] == "router_stopped"}
        faulted_containers = {f["target"] for f in state.data["faults"] if f["kind"] == "container_stopped"}
        hard_cut = {f["target"] for f in state.data["faults"] if f["kind"] == "link_down"}
        for r in topo.routers:
            routers.ensure_namespace(r)
            tick(f"router {r.name}: namespace")
        for lk in topo.links:
            a_ns, b_ns = routers.ns(lk.a.router), routers.ns(lk.b.router)
            if nx.ensure_veth(a_ns, lk.a.ifname, b_ns, lk.b.ifname):
                created.append(f"link {lk.name}")
            for end, ns in ((lk.a, a_ns), (lk.b, b_ns)):
                nx.ensure_addresses(ns, end.ifname, [end.address])
                if lk.name not in hard_cut:
                    nx.set_up(ns, end.ifname)
            tick(f"link {lk.name}")
        for lan in topo.lans:
            self._ensure_lan(state, topo, routers, lan.name)
            tick(f"LAN {lan.name}")
        for c in topo.clients:
            self._ensure_client(state, topo, c.name)
            tick(f"client {c.name}")
        step("namespaces, links, LANs, clients")

        to_start = [r for r in topo.routers if r.name not in faulted_routers and not routers.running(r.name)]
        created += [f"router {r.name}" for r in to_start]

        def start_router(r: Any) -> None:
            routers.start(r)
            tick(f"router {r.name}: FRR and sshd")

        parallel(start_router, to_start, workers=4, what="router")
        tick("routers running", len(topo.routers) - len(to_start))
        step("routers (FRR, sshd)")

        base: BaseImage | None = None
        if containers:
            assert base_thread is not None
            base_thread.join(timeout=3600)
            if "error" in base_box:
                raise LabError(f"base image: {base_box['error']}") from base_box["error"]
            base = base_box["image"]
            tick("base image ready")
            step("base image" + (" (built)" if base.built_seconds else " (cached)"))
            proxy = self.apt_proxy(state, topo)
            proxy.ensure()
            tick(f"apt proxy on {proxy.url}")
            step("apt proxy")
            ct = self.containers(state, topo)
            self._raise_inotify_limits()
            for c in containers:
                if ct.ensure_defined(c, base):
                    created.append(f"container {c.name}")
                tick(f"container {c.name}: defined")
            todo = [c for c in containers if c.name not in faulted_containers]

            def start_container(c: Any) -> None:
                ct.start(c)
                tick(f"container {c.name}: started")
                ct.wait_ssh(c, timeout=90)
                tick(f"container {c.name}: SSH ready")

            parallel(start_container, todo, workers=8, what="container")
            tick("containers", 2 * (len(containers) - len(todo)))
            step("containers")
        else:
            tick("no containers", 2)
        self._write_known_hosts(topo)
        state.set("phase", "up")
        tick("lab up", total)
        return UpReport(
            seconds=round(time.monotonic() - started, 2),
            steps=steps,
            base_image=str(base.rootfs) if base else None,
            base_image_built_seconds=base.built_seconds if base else None,
            created=created,
        )

    def _prepare_host(self, state: LabState) -> None:
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o755)
        os.chmod(self.keys_dir, 0o755)  # sshd reads authorized_keys here (StrictModes: root-owned)
        if not self.private_key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "municloud-lab", "-f", str(self.private_key)])
        pub = self.private_key.with_suffix(".pub").read_text()
        auth = self.keys_dir / "authorized_keys"
        auth.write_text(pub)
        auth.chmod(0o644)
        ensure_netops_user(Path("/var/lib/municloud/netops"))

    def _guard_root_route(self, state: LabState) -> None:
        """Lab addresses outside the management subnet are unreachable from the operations center:
        never sent to the machine's default gateway."""
        routes = nx.ip_json(None, "route", "show", "proto", ROUTE_PROTO)
        if not any(r.get("dst") == str(LAB_RANGE) for r in routes):
            nx.ip(None, "route", "add", "unreachable", str(LAB_RANGE), "proto", ROUTE_PROTO, check=False)
        state.add("routes", f"unreachable {LAB_RANGE} proto {ROUTE_PROTO}")

    @staticmethod
    def _raise_inotify_limits() -> None:
        for key, want in (("max_user_instances", 1024), ("max_user_watches", 524288)):
            path = Path(f"/proc/sys/fs/inotify/{key}")
            with contextlib.suppress(OSError, ValueError):
                if int(path.read_text()) < want:
                    path.write_text(str(want))

    def _ensure_lan(self, state: LabState, topo: Topology, routers: Routers, lan_name: str) -> None:
        lan = topo.lan(lan_name)
        ns = names.lan_ns(topo.prefix, lan.name)
        state.add("namespaces", ns)
        nx.ensure_ns(ns, forwarding=False)
        bridge = names.lan_bridge(topo.prefix, lan.name)
        nx.ensure_bridge(ns, bridge)
        nx.set_up(ns, bridge)
        port = names.lan_port(topo.prefix, f"r-{lan.router}")
        rns = routers.ns(lan.router)
        nx.ensure_veth(rns, lan.ifname, ns, port)
        nx.set_master(ns, port, bridge)
        nx.set_up(ns, port)
        nx.ensure_addresses(rns, lan.ifname, [lan.gateway])
        nx.set_up(rns, lan.ifname)

    def _ensure_client(self, state: LabState, topo: Topology, client: str) -> None:
        c = topo.client(client)
        lan = topo.lan(c.lan)
        ns = names.client_ns(topo.prefix, c.name)
        state.add("namespaces", ns)
        nx.ensure_ns(ns, forwarding=False)
        lan_ns = names.lan_ns(topo.prefix, lan.name)
        port = names.lan_port(topo.prefix, f"n-{c.name}")
        nx.ensure_veth(ns, "eth0", lan_ns, port)
        nx.set_master(lan_ns, port, names.lan_bridge(topo.prefix, lan.name))
        nx.set_up(lan_ns, port)
        nx.ensure_addresses(ns, "eth0", [c.address])
        nx.set_up(ns, "eth0")
        nx.ensure_default_route(ns, str(lan.gateway.ip))

    def _write_known_hosts(self, topo: Topology) -> None:
        """Pin every host key for SSH clients that check: the routers' (the lab generated them) and
        the containers' (generated on first boot, read from the clone's own overlay layer)."""
        lines = []
        pubs = [
            (r.mgmt_address, self.state_dir / "routers" / r.name / "ssh_host_ed25519_key.pub") for r in topo.routers
        ]
        pubs += [
            (
                c.mgmt_address,
                LXC_PATH / names.container_name(topo.prefix, c.name) / "delta0/etc/ssh/ssh_host_ed25519_key.pub",
            )
            for c in topo.containers
        ]
        for address, pub in pubs:
            if pub.exists():
                key = " ".join(pub.read_text().split()[:2])
                lines.append(f"{address.ip} {key}")
        self.known_hosts.write_text("\n".join(lines) + ("\n" if lines else ""))

    # ---- down (lab.teardown) and status (lab.status) -------------------------------------------------
    def down(self, progress: Progress | None = None) -> DownReport:
        """Remove everything of the lab's, found from the state file AND on the system by prefix."""
        return teardown.down(self, progress)

    def status(self) -> LabStatus:
        return lab_status(self)

    # ---- faults ------------------------------------------------------------------------------------
    def faults(self) -> list[dict[str, Any]]:
        return list(self.state().data["faults"])

    def _fault_ctx(self) -> tuple[LabState, Topology]:
        require_root()
        state = self.state()
        topo = self.topology()
        if topo is None or state.data.get("phase") != "up":
            raise LabError("no lab is up (run `lab up` first)")
        return state, topo

    def fault_cut_link(self, link: str, hard: bool = False) -> dict[str, Any]:
        """Cut a link: silently (nftables ingress drop on both ends, link stays up) or hard (down)."""
        with exclusive(self.state_dir, "fault"):
            state, topo = self._fault_ctx()
            lk = topo.link(link)
            kind = "link_down" if hard else "link_silent"
            fault = {"id": f"{kind}:{link}", "kind": kind, "target": link, "since": time.time(), "tables": []}
            if any(f["id"] == fault["id"] for f in state.data["faults"]):
                return next(f for f in state.data["faults"] if f["id"] == fault["id"])
            fault["tables"] = self._cut(topo, [lk.name], hard, "cut")
            state.add("faults", fault)
            return fault

    def fault_isolate_site(
        self, site: str | None = None, links: Sequence[str] | None = None, hard: bool = False
    ) -> dict[str, Any]:
        """Cut (silently by default) every link joining `site` to the rest, or the `links` given."""
        with exclusive(self.state_dir, "fault"):
            state, topo = self._fault_ctx()
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
            fault["tables"] = self._cut(topo, list(links), hard, "iso")
            state.add("faults", fault)
            return fault

    def _cut(self, topo: Topology, links: Sequence[str], hard: bool, tag: str) -> list[dict[str, str]]:
        done: list[dict[str, str]] = []
        for name in links:
            lk = topo.link(name)
            for end in lk.endpoints:
                ns = names.router_ns(topo.prefix, end.router)
                if hard:
                    fx.hard_cut(ns, end.ifname)
                    done.append({"ns": ns, "ifname": end.ifname})
                else:
                    table = fx.cut_table(topo.prefix, f"{tag}_{name}")
                    fx.silent_cut(ns, end.ifname, table)
                    done.append({"ns": ns, "table": table, "ifname": end.ifname})
        return done

    def fault_stop_router(self, router: str) -> dict[str, Any]:
        """Power a router off: stop its FRR and sshd, and silence every interface it has (the kernel
        of its namespace would still answer ARP and ping). Its links stay up, as a carrier's access
        circuits do when the box behind them dies: the neighbours' BFD must notice."""
        with exclusive(self.state_dir, "fault"):
            state, topo = self._fault_ctx()
            spec = topo.router(router)
            fid = f"router_stopped:{router}"
            for f in state.data["faults"]:
                if f["id"] == fid:
                    return f
            ns = names.router_ns(topo.prefix, router)
            table = fx.cut_table(topo.prefix, f"off_{router}")
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
            fx.silent_cut(ns, ifnames, table)
            self.routers(state, topo).stop(router)
            return fault

    def fault_stop_container(self, container: str, kill: bool = False) -> dict[str, Any]:
        with exclusive(self.state_dir, "fault"):
            state, topo = self._fault_ctx()
            c = topo.container(container)
            fid = f"container_stopped:{container}"
            fault = {"id": fid, "kind": "container_stopped", "target": container, "since": time.time()}
            if not any(f["id"] == fid for f in state.data["faults"]):
                state.add("faults", fault)
            stop_container(names.container_name(topo.prefix, c.name), kill=kill)
            return fault

    def restore(self, fault_id: str) -> None:
        """Remove one fault (see `faults()` for the ids)."""
        with exclusive(self.state_dir, "heal"):
            state, topo = self._fault_ctx()
            for f in list(state.data["faults"]):
                if f["id"] == fault_id:
                    self._restore(state, topo, f)
                    return
            raise LabError(f"no fault {fault_id!r} in force")

    def heal(self) -> list[dict[str, Any]]:
        """Remove every fault in force (newest first); return what was healed."""
        require_root()
        with exclusive(self.state_dir, "heal"):
            state = self.state()
            topo = self.topology()
            if topo is None:
                return []
            healed = []
            for f in reversed(list(state.data["faults"])):
                self._restore(state, topo, f)
                healed.append(f)
            return healed

    # convenience names for the drills
    def restore_link(self, link: str) -> None:
        for kind in ("link_silent", "link_down"):
            if any(f["id"] == f"{kind}:{link}" for f in self.faults()):
                self.restore(f"{kind}:{link}")

    def fault_start_router(self, router: str) -> None:
        self.restore(f"router_stopped:{router}")

    def fault_start_container(self, container: str) -> None:
        self.restore(f"container_stopped:{container}")

    def _restore(self, state: LabState, topo: Topology, f: dict[str, Any]) -> None:
        kind = f["kind"]
        if kind in ("link_silent", "link_down", "site_isolated"):
            for t in f.get("tables", []):
                if "table" in t:
                    fx.silent_restore(t["ns"], t["table"])
                else:
                    fx.hard_restore(t["ns"], t["ifname"])
        elif kind == "router_stopped":
            for t in f.get("tables", []):
                fx.silent_restore(t["ns"], t["table"])
            self.routers(state, topo).start(topo.router(f["target"]))
        elif kind == "container_stopped":
            c = topo.container(f["target"])
            ct = self.containers(state, topo)
            ct.start(c)
            ct.wait_ssh(c, timeout=90)
        state.remove("faults", f)


__all__ = ["DownReport", "Lab", "LabError", "LabStatus", "NodeStatus", "Progress", "UpReport"]
