"""Network namespaces, veth pairs, bridges and addresses, through iproute2 (`ip -j` for reading).

Every helper is idempotent where it can be (`ensure_*`), bounded in time, and takes `ns=None` for
the root namespace (the operations center).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from ipaddress import IPv4Interface
from pathlib import Path

from lab.util import ok, run
from toolkit.processes import ProcRef

NETNS_DIR = Path("/run/netns")


def ip(ns: str | None, *args: str, check: bool = True, timeout: float = 20) -> str:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    return run(cmd, check=check, timeout=timeout).stdout


def ip_json(ns: str | None, *args: str) -> list[dict]:
    out = ip(ns, "-j", *args, check=False)
    try:
        return json.loads(out) if out.strip() else []
    except ValueError:
        return []


def in_ns(ns: str | None, *cmd: str, check: bool = True, timeout: float = 20, input: str | None = None) -> str:
    full = ["ip", "netns", "exec", ns, *cmd] if ns else list(cmd)
    return run(full, check=check, timeout=timeout, input=input).stdout


# ---- namespaces -----------------------------------------------------------------------------------
def list_ns(prefix: str) -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(f"{prefix}-"))


def ns_exists(ns: str) -> bool:
    return (NETNS_DIR / ns).exists() and ok(["ip", "netns", "exec", ns, "true"], timeout=10)


def ensure_ns(ns: str, forwarding: bool) -> bool:
    """Create the namespace if missing (lo up, IPv6 off, forwarding as asked). True if created."""
    created = False
    if not ns_exists(ns):
        if (NETNS_DIR / ns).exists():  # a stale mount point without a namespace behind it
            run(["ip", "netns", "delete", ns], check=False)
        run(["ip", "netns", "add", ns])
        created = True
    sysctls = {
        "net.ipv6.conf.all.disable_ipv6": "1",
        "net.ipv6.conf.default.disable_ipv6": "1",
        "net.ipv4.ip_forward": "1" if forwarding else "0",
        # symmetric routing is not guaranteed across two circuits: loose reverse-path check
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.conf.default.rp_filter": "0",
    }
    if forwarding:
        # A router's packet filter answers every refused packet (ICMP administratively prohibited),
        # as a real router's ACL does: the kernel's ICMP error rate limit (a burst of 6, then one a
        # second per destination) would turn the refusals the isolation proof counts into timeouts.
        sysctls["net.ipv4.icmp_ratemask"] = "0"
    in_ns(ns, "sysctl", "-q", "-w", *(f"{k}={v}" for k, v in sysctls.items()))
    ip(ns, "link", "set", "lo", "up")
    return created


def delete_ns(ns: str) -> None:
    run(["ip", "netns", "delete", ns], check=False, timeout=30)


def ns_inode(ns: str) -> int | None:
    try:
        return os.stat(NETNS_DIR / ns).st_ino
    except OSError:
        return None


def pids_in_netns(inodes: set[int]) -> list[ProcRef]:
    """Every process whose network namespace is one of `inodes` (scanning /proc)."""
    found: list[ProcRef] = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            ino = os.stat(f"/proc/{entry.name}/ns/net").st_ino
        except OSError:
            continue
        if ino in inodes:
            ref = ProcRef.of(int(entry.name))
            if ref:
                found.append(ref)
    return found


# ---- links ------------------------------------------------------------------------------------------
def link_exists(ns: str | None, ifname: str) -> bool:
    return bool(ip_json(ns, "link", "show", "dev", ifname))


def list_links(ns: str | None, prefix: str) -> list[str]:
    return sorted(x["ifname"] for x in ip_json(ns, "link", "show") if x.get("ifname", "").startswith(f"{prefix}-"))


def link_is_up(ns: str | None, ifname: str) -> bool:
    info = ip_json(ns, "link", "show", "dev", ifname)
    return bool(info) and "UP" in info[0].get("flags", [])


def disable_ipv6_root(ifname: str) -> None:
    path = Path(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6")
    if path.exists():
        path.write_text("1")


def ensure_veth(ns_a: str | None, if_a: str, ns_b: str | None, if_b: str) -> bool:
    """A veth pair with one end in each namespace (None: root). Recreated if half of it is missing.
    Both ends are created directly in their namespaces, so nothing lingers in the root namespace
    if the lab is interrupted here. True if (re)created."""
    if link_exists(ns_a, if_a) and link_exists(ns_b, if_b):
        return False
    for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
        if link_exists(ns, ifname):
            ip(ns, "link", "delete", "dev", ifname, check=False)
    cmd = ["link", "add", if_a, *(["netns", ns_a] if ns_a else []), "type", "veth", "peer", "name", if_b]
    cmd += ["netns", ns_b] if ns_b else []
    ip(None, *cmd)
    for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
        if ns is None:
            disable_ipv6_root(ifname)
    return True


def ensure_bridge(ns: str | None, name: str) -> bool:
    if link_exists(ns, name):
        return False
    ip(ns, "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    if ns is None:
        disable_ipv6_root(name)
    return True


def set_master(ns: str | None, ifname: str, bridge: str) -> None:
    ip(ns, "link", "set", "dev", ifname, "master", bridge)


def set_up(ns: str | None, ifname: str, up: bool = True) -> None:
    ip(ns, "link", "set", "dev", ifname, "up" if up else "down")


def addresses(ns: str | None, ifname: str) -> list[IPv4Interface]:
    info = ip_json(ns, "-4", "addr", "show", "dev", ifname)
    out: list[IPv4Interface] = []
    for link in info:
        for a in link.get("addr_info", []):
            out.append(IPv4Interface(f"{a['local']}/{a['prefixlen']}"))
    return out


def ensure_addresses(ns: str | None, ifname: str, wanted: Sequence[IPv4Interface]) -> None:
    have = set(addresses(ns, ifname))
    for addr in wanted:
        if addr not in have:
            ip(ns, "addr", "add", str(addr), "dev", ifname)


def ensure_default_route(ns: str, gateway: str) -> None:
    ip(ns, "route", "replace", "default", "via", gateway)
