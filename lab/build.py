"""Building a lab: bring a `Topology` up on this machine, or repair what is missing in a running
one and touch nothing else. The host first (keys, the routers' login user, the management bridge),
then namespaces, links, LANs and clients, the routers (FRR, sshd), and the containers from the base
image (built or taken from the cache meanwhile) behind the apt proxy; last the pinned host keys."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import names
from lab import netns as nx
from lab.base_image import BaseImage, ensure_base_image
from lab.containers import LXC_PATH
from lab.home import LabHome
from lab.names import ROUTE_PROTO
from lab.routers import Routers, ensure_netops_user
from lab.standins import Standins
from lab.state import LabState, exclusive
from lab.topology import LAB_RANGE, Topology
from lab.util import LabError, Progress, Ticker, parallel, require_root, run


@dataclass
class UpReport:
    seconds: float
    steps: list[tuple[str, float]]
    base_image: str | None
    base_image_built_seconds: float | None
    created: list[str] = field(default_factory=list)  # what this run created or repaired


def up(home: LabHome, topology: Topology, progress: Progress | None = None, with_containers: bool = True) -> UpReport:
    """Build the lab, or repair what is missing in a running one (touching nothing else).
    Faults in force stay in force (`heal()` removes them)."""
    require_root()
    topology.validate()
    with exclusive(home.state_dir, "lab up"):
        return _up(home, topology, progress, with_containers)


def _up(home: LabHome, topo: Topology, progress: Progress | None, with_containers: bool) -> UpReport:
    started = time.monotonic()
    state = home.state()
    old = state.data.get("topology")
    if old and Topology.from_dict(old) != topo and state.data.get("phase") != "empty":
        raise LabError("a lab with a different topology is already up: run `lab down` first")
    state.set("topology", topo.to_dict())
    state.set("prefix", topo.prefix)
    state.set("phase", "building")
    (state.dir / "log").mkdir(parents=True, exist_ok=True)
    containers = topo.containers if with_containers else ()
    total = 2 + 2 * len(topo.routers) + len(topo.links) + len(topo.lans) + len(topo.clients) + len(topo.standins)
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
                base_box["image"] = ensure_base_image(home.base_cache)
            except BaseException as exc:  # re-raised in the main thread
                base_box["error"] = exc

        base_thread = threading.Thread(target=build, name="base-image", daemon=True)
        base_thread.start()

    _prepare_host(home)
    tick("host ready (keys, user, sysctls)")
    # management bridge: the operations center's only link into the lab
    state.add("links", topo.mgmt_bridge)
    if nx.ensure_bridge(None, topo.mgmt_bridge):
        created.append(f"bridge {topo.mgmt_bridge}")
    nx.ensure_addresses(None, topo.mgmt_bridge, [topo.ops_address])
    Path(f"/proc/sys/net/ipv4/conf/{topo.mgmt_bridge}/forwarding").write_text("0")
    nx.set_up(None, topo.mgmt_bridge)
    _guard_root_route(state)
    tick(f"management bridge {topo.mgmt_bridge}")
    step("host and management bridge")

    routers = home.routers(state, topo)
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
        _ensure_lan(state, topo, routers, lan.name)
        tick(f"LAN {lan.name}")
    for c in topo.clients:
        _ensure_client(state, topo, c.name)
        tick(f"client {c.name}")
    standins = Standins(state, topo)
    for standin in topo.standins:
        if standins.ensure(standin):
            created.append(f"stand-in {standin.name}")
        tick(f"stand-in {standin.name}")
    step("namespaces, links, LANs, clients, stand-ins")

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
        proxy = home.apt_proxy(state, topo)
        proxy.ensure()
        tick(f"apt proxy on {proxy.url}")
        step("apt proxy")
        ct = home.containers(state, topo)
        _raise_inotify_limits()
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
    _write_known_hosts(home, topo)
    state.set("phase", "up")
    tick("lab up", total)
    return UpReport(
        seconds=round(time.monotonic() - started, 2),
        steps=steps,
        base_image=str(base.rootfs) if base else None,
        base_image_built_seconds=base.built_seconds if base else None,
        created=created,
    )


def _prepare_host(home: LabHome) -> None:
    home.keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(home.state_dir, 0o755)
    os.chmod(home.keys_dir, 0o755)  # sshd reads authorized_keys here (StrictModes: root-owned)
    if not home.private_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "municloud-lab", "-f", str(home.private_key)])
    pub = home.private_key.with_suffix(".pub").read_text()
    auth = home.keys_dir / "authorized_keys"
    auth.write_text(pub)
    auth.chmod(0o644)
    ensure_netops_user(Path("/var/lib/municloud/netops"))


def _guard_root_route(state: LabState) -> None:
    """Lab addresses outside the management subnet are unreachable from the operations center:
    never sent to the machine's default gateway."""
    routes = nx.ip_json(None, "route", "show", "proto", ROUTE_PROTO)
    if not any(r.get("dst") == str(LAB_RANGE) for r in routes):
        nx.ip(None, "route", "add", "unreachable", str(LAB_RANGE), "proto", ROUTE_PROTO, check=False)
    state.add("routes", f"unreachable {LAB_RANGE} proto {ROUTE_PROTO}")


def _raise_inotify_limits() -> None:
    for key, want in (("max_user_instances", 1024), ("max_user_watches", 524288)):
        path = Path(f"/proc/sys/fs/inotify/{key}")
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text()) < want:
                path.write_text(str(want))


def _ensure_lan(state: LabState, topo: Topology, routers: Routers, lan_name: str) -> None:
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


def _ensure_client(state: LabState, topo: Topology, client: str) -> None:
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


def _write_known_hosts(home: LabHome, topo: Topology) -> None:
    """Pin every host key for SSH clients that check: the routers' (the lab generated them) and
    the containers' (generated on first boot, read from the clone's own overlay layer)."""
    lines = []
    pubs = [(r.mgmt_address, home.state_dir / "routers" / r.name / "ssh_host_ed25519_key.pub") for r in topo.routers]
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
    home.known_hosts.write_text("\n".join(lines) + ("\n" if lines else ""))
