"""A lab's status: every node of its recorded topology, up or not, looked at on the system (the
namespaces, FRR and sshd, LXC and SSH, the apt proxy), with the faults in force on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lab import names
from lab import netns as nx
from lab.containers import lxc_state, ssh_banner
from lab.home import LabHome
from lab.standins import Standins
from lab.util import require_root


@dataclass
class NodeStatus:
    name: str
    kind: str  # router, container, client, lan, service
    up: bool
    mgmt_address: str | None
    addresses: list[str]
    detail: str = ""
    faults: list[str] = field(default_factory=list)


@dataclass
class LabStatus:
    phase: str  # empty, building, up, down
    topology: str | None
    nodes: list[NodeStatus]
    faults: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def all_up(self) -> bool:
        return bool(self.nodes) and all(n.up for n in self.nodes)


def lab_status(home: LabHome) -> LabStatus:
    """Every node of the lab's recorded topology as it is on the system now."""
    require_root()
    state = home.state()
    topo = home.topology()
    if topo is None:
        return LabStatus(state.data.get("phase", "empty"), None, [], state.data["faults"])
    faults_by_target: dict[str, list[str]] = {}
    for f in state.data["faults"]:
        targets = [f["target"], *f.get("links", [])]
        for t in targets:
            faults_by_target.setdefault(t, []).append(f["id"])
    routers = home.routers(state, topo)
    nodes: list[NodeStatus] = []
    for r in topo.routers:
        ns = routers.ns(r.name)
        exists = nx.ns_exists(ns)
        frr, sshd = routers.frr_running(r.name), routers.sshd_ref(r.name) is not None
        addrs = _ns_addresses(ns) if exists else []
        detail = "" if exists else "namespace missing"
        if exists and not (frr and sshd):
            detail = f"FRR {'running' if frr else 'stopped'}, sshd {'running' if sshd else 'stopped'}"
        link_faults = [
            fid
            for lk in topo.links
            if r.name in (lk.a.router, lk.b.router)
            for fid in faults_by_target.get(lk.name, [])
        ]
        nodes.append(
            NodeStatus(
                r.name,
                "router",
                exists and frr and sshd,
                str(r.mgmt_address.ip),
                addrs,
                detail,
                sorted(set(faults_by_target.get(r.name, []) + link_faults)),
            )
        )
    for c in topo.containers:
        name = names.container_name(topo.prefix, c.name)
        st = lxc_state(name)
        ssh = st == "RUNNING" and ssh_banner(str(c.mgmt_address.ip), timeout=0.5)
        nodes.append(
            NodeStatus(
                c.name,
                "container",
                ssh,
                str(c.mgmt_address.ip),
                [str(c.mgmt_address)] + ([str(c.address)] if c.address is not None else []),
                f"lxc {st.lower()}",
                faults_by_target.get(c.name, []),
            )
        )
    for cl in topo.clients:
        ns = names.client_ns(topo.prefix, cl.name)
        exists = nx.ns_exists(ns)
        nodes.append(
            NodeStatus(
                cl.name,
                "client",
                exists,
                None,
                _ns_addresses(ns) if exists else [],
                "" if exists else "namespace missing",
            )
        )
    for lan in topo.lans:
        ns = names.lan_ns(topo.prefix, lan.name)
        exists = nx.ns_exists(ns)
        nodes.append(
            NodeStatus(lan.name, "lan", exists, None, [str(lan.network)], "" if exists else "namespace missing")
        )
    standins = Standins(state, topo)
    for standin in topo.standins:
        client = topo.client(standin.client)
        up = standins.ref(standin) is not None
        nodes.append(
            NodeStatus(
                standin.name,
                "stand-in",
                up,
                None,
                [f"{client.address.ip}:{standin.port}"],
                "" if up else "not running",
            )
        )
    if topo.containers:
        proxy = home.apt_proxy(state, topo)
        nodes.append(
            NodeStatus(
                "apt-proxy",
                "service",
                proxy.ref() is not None and proxy.listening(),
                str(topo.ops_address.ip),
                [proxy.url],
            )
        )
    return LabStatus(state.data.get("phase", "empty"), topo.name, nodes, state.data["faults"])


def _ns_addresses(ns: str) -> list[str]:
    out = []
    for link in nx.ip_json(ns, "-4", "addr", "show"):
        if link.get("ifname") == "lo" and all(a["local"].startswith("127.") for a in link.get("addr_info", [])):
            continue
        for a in link.get("addr_info", []):
            if not a["local"].startswith("127."):
                out.append(f"{link['ifname']} {a['local']}/{a['prefixlen']}")
    return out
