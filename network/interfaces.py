"""Interface names per platform: the one place that says what a router's interfaces are called.

The lab (`lab/derive.py`) names the FRR routers' interfaces from this map, and the renderer
(`network/intent.py`) configures them by the same names, so the two can never drift apart.
Roles:
  every router   mgmt (management), loopback
  pe             pe-peer (the other PE), dc (its data center), town-circuit (one per town, by number)
  dc-edge        wan (its PE), dci (the DC1-DC2 interconnect), lan (the DC LAN), externals (the
                 primary DC's link to the LGWAN gateway and the security cloud)
  ce             wan-primary, wan-backup, lan (town hall LAN: its servers), and the three layers'
                 segments of 三層分離: clients (マイナンバー利用事務系), lgwan (LGWAN接続系),
                 internet (インターネット接続系)
This module imports nothing of municloud: the lab may use it without pulling in the network code.
"""

from __future__ import annotations

INTERFACE_ROLES = (
    "mgmt",
    "loopback",
    "pe-peer",
    "dc",
    "town-circuit",
    "wan",
    "dci",
    "lan",
    "wan-primary",
    "wan-backup",
    "clients",
    "lgwan",
    "internet",
    "externals",
)

# The interface role of each layer's segment at a town hall.
SEGMENT_INTERFACE_ROLE = {"mynumber": "clients", "lgwan": "lgwan", "internet": "internet"}

# FRR in the lab: names that say what they face (an engineer reading `show interface` knows).
_FRR = {
    "mgmt": "mgmt0",
    "loopback": "lo",
    "pe-peer": "pe-peer",
    "dc": "dc",
    "town-circuit": "t{town_number:03d}",
    "wan": "wan",
    "dci": "dci",
    "lan": "lan",
    "wan-primary": "wan-primary",
    "wan-backup": "wan-backup",
    "clients": "clients",
    "lgwan": "lgwan",
    "internet": "internet",
    "externals": "externals",
}

# IOS-XE on an ISR 4000 (the production CE of many towns): WAN on the built-in ports, LANs on the
# NIM, management on the dedicated port (VRF Mgmt-intf).
_CISCO_IOS = {
    "mgmt": "GigabitEthernet0",
    "loopback": "Loopback0",
    "wan-primary": "GigabitEthernet0/0/0",
    "wan-backup": "GigabitEthernet0/0/1",
    "lan": "GigabitEthernet0/1/0",
    "clients": "GigabitEthernet0/1/1",
    "lgwan": "GigabitEthernet0/1/2",
    "internet": "GigabitEthernet0/1/3",
    "externals": "TenGigabitEthernet0/1/2",
    "pe-peer": "TenGigabitEthernet0/1/0",
    "dc": "TenGigabitEthernet0/1/1",
    "town-circuit": "GigabitEthernet1/0/{town_number}",
    "wan": "GigabitEthernet0/0/0",
    "dci": "GigabitEthernet0/0/1",
}

# Yamaha RTX1210/1220/1300 (town hall routers only): the circuits on LAN2 and LAN3, the town's
# segments as tagged VLANs on the LAN1 switch (`vlan lan1/N 802.1q vid=V`), management untagged on
# LAN1. RTX830 has no LAN3 and is refused by the inventory (inventory/platforms.py).
_YAMAHA_RTX = {
    "mgmt": "lan1",
    "loopback": "loopback1",
    "wan-primary": "lan2",
    "wan-backup": "lan3",
    "lan": "lan1/1",
    "clients": "lan1/2",
    "lgwan": "lan1/3",
    "internet": "lan1/4",
}

# NEC UNIVERGE IX2215/2235/3315 (town hall routers only): the circuits on GE0 and GE1, the town's
# segments as dot1q sub-interfaces of the GE2 switch, management on its untagged GE2.0.
_NEC_IX = {
    "mgmt": "GigaEthernet2.0",
    "loopback": "Loopback0.0",
    "wan-primary": "GigaEthernet0.0",
    "wan-backup": "GigaEthernet1.0",
    "lan": "GigaEthernet2.1",
    "clients": "GigaEthernet2.2",
    "lgwan": "GigaEthernet2.3",
    "internet": "GigaEthernet2.4",
}

INTERFACE_MAPS: dict[str, dict[str, str]] = {
    "frr": _FRR,
    "cisco_ios": _CISCO_IOS,
    "yamaha_rtx": _YAMAHA_RTX,
    "nec_ix": _NEC_IX,
}


class UnknownInterface(KeyError):
    """No interface name for this platform and role."""


def interface_name(platform: str, role: str, town_number: int | None = None) -> str:
    try:
        pattern = INTERFACE_MAPS[platform][role]
    except KeyError:
        raise UnknownInterface(f"platform '{platform}' has no interface for role '{role}'") from None
    if "{town_number" in pattern:
        if town_number is None:
            raise UnknownInterface(f"role '{role}' needs a town number")
        return pattern.format(town_number=town_number)
    return pattern
