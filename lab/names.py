"""Names of everything the lab creates. Each carries the topology's prefix (default `mc`), so that
`down()` can find leftovers on the system even without the state file."""

from __future__ import annotations

import hashlib

IFNAMSIZ = 15  # the kernel's limit for an interface name (16 with the NUL)
ROUTE_PROTO = "77"  # marks the lab's routes in the root namespace


def _fit(prefix: str, kind: str, name: str) -> str:
    full = f"{prefix}-{kind}-{name}"
    if len(full) <= IFNAMSIZ:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()
    head = f"{prefix}-{kind}-"
    return head + name[: IFNAMSIZ - len(head) - 5] + digest[:5]


def router_ns(prefix: str, router: str) -> str:
    """Network namespace of a router; also its FRR pathspace (`vtysh -N <this>`)."""
    return f"{prefix}-r-{router}"


def lan_ns(prefix: str, lan: str) -> str:
    """Namespace holding a LAN's switch (a bridge)."""
    return f"{prefix}-s-{lan}"


def client_ns(prefix: str, client: str) -> str:
    return f"{prefix}-n-{client}"


def container_name(prefix: str, container: str) -> str:
    return f"{prefix}-c-{container}"


def lan_bridge(prefix: str, lan: str) -> str:
    """The bridge inside a LAN's namespace."""
    return _fit(prefix, "b", lan)


def mgmt_port(prefix: str, node: str) -> str:
    """Root-namespace end of a router's management veth, enslaved to the management bridge."""
    return _fit(prefix, "m", node)


def container_mgmt_port(prefix: str, container: str) -> str:
    return _fit(prefix, "v", container)


def container_lan_port(prefix: str, container: str) -> str:
    """Host end of a container's LAN veth; the lab moves it into the LAN's namespace."""
    return _fit(prefix, "d", container)


def lan_port(prefix: str, node: str) -> str:
    """A port of a LAN's bridge (inside the LAN namespace) towards a router or a client namespace."""
    return _fit(prefix, "p", node)


def nft_table(prefix: str, purpose: str) -> str:
    """nftables table names: letters, digits and '_' only."""
    return f"{prefix}_{purpose}".replace("-", "_")
