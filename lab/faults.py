"""Fault primitives on a running lab: a silent circuit cut (nftables netdev ingress drop on both
ends, the link stays up so BFD/BGP timers must notice, as with a real carrier fault) and a hard cut
(link down). Router and container stop/start live with their owners (routers.py, containers.py);
the bookkeeping of every fault is in engine.Lab."""

from __future__ import annotations

from collections.abc import Sequence

from lab import names
from lab import netns as nx


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
