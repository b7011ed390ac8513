"""NEC UNIVERGE IX: the rendered town router (golden file in test_network.CASES) and its hier_config
driver (network/config_nec_ix.py): equal configs plan empty whatever IX prints around them, typical
changes are exactly their lines and roll back, every pushed section is left with `exit`, secrets are
masked. The running configs here are written in IX's format; none was taken from a device."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from network.config import mask_secrets, parse, push_commands, remediation, remediation_and_rollback, same_config
from network.intent import build_intents
from network.render import render

GOLDEN = Path(__file__).parent / "golden"
INTENDED = (GOLDEN / "prod-hatoyama-ce1.cfg").read_text()
PRIMARY, BACKUP = "10.64.159.192", "10.64.159.194"

# What IX prints around the configuration: the header (with its clock), the ports' `device`
# sections, the placeholders of ports nobody configured, the account it was bootstrapped with.
HEADER = """! NEC Portable Internetwork Core Operating System Software
! IX Series IX2215 (magellan-sec) Software, Version 10.11.19, RELEASE SOFTWARE
! Compiled Oct 25-Tue-2026 12:37:13 JST #2
! Current time Dec 04-Fri-2026 14:05:13 JST
!
"""
PRINTED_TOO = """username admin password hash 59d34EAF3aeB94C2A609d4F2be7594@ administrator
!
device GigaEthernet0
!
device GigaEthernet2
  vlan-group 1 port 1 2 3 4 5 6 7 8
!
device USB0
  shutdown
!
interface BRI0.0
  encapsulation ppp
  no auto-connect
  no ip address
  shutdown
!
interface USB-Serial0.0
  encapsulation ppp
  no auto-connect
  no ip address
  shutdown
!
interface Null0.0
  no ip address
!
"""


def _as_printed(text: str, clock: str = "Dec 04-Fri-2026 14:05:13 JST") -> str:
    return HEADER.replace("Dec 04-Fri-2026 14:05:13 JST", clock) + text + PRINTED_TOO


def _without(text: str, address: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if f"neighbor {address} " not in line)


def _applied(running: str, commands: list[str]) -> str:
    """`running` after `commands` (remediation lines), as IX would take them: hier_config's future
    config, and a neighbour whose `remote-as` was negated gone with all its lines."""
    sent = parse("nec_ix", "\n".join(commands) + "\n")
    future = parse("nec_ix", running).future(sent)
    # hier_config takes `no shutdown` after `shutdown` as the two cancelling out; IX prints the new state
    for iface in sent.get_children(startswith="interface "):
        state = next((c.text for c in iface.children if c.text in ("shutdown", "no shutdown")), None)
        if state and (target := future.get_child(equals=iface.text)):
            for c in list(target.children):
                if c.text in ("shutdown", "no shutdown"):
                    c.delete()
            target.add_child(state)
    for bgp in future.get_children(startswith="router bgp "):
        alive = {c.text.split()[1] for c in bgp.children if re.match(r"^neighbor \S+ remote-as ", c.text)}
        for child in list(bgp.all_children()):
            if (m := re.match(r"^neighbor (\S+) ", child.text)) and m[1] not in alive:
                child.delete()
    return "\n".join(c.cisco_style_text() for c in future.all_children_sorted()) + "\n"


def _check_cycle(running: str, intended: str) -> tuple[list[str], list[str]]:
    """Remediation takes `running` to `intended`, its rollback takes that back to `running`."""
    fix, back = remediation_and_rollback("nec_ix", running, intended)
    after = _applied(running, fix)
    assert same_config("nec_ix", after, intended), remediation("nec_ix", after, intended)
    assert same_config("nec_ix", _applied(after, back), running), remediation("nec_ix", _applied(after, back), running)
    return fix, back


# ---- the rendered town router ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def intents():
    os.environ.pop("MUNICLOUD_BINDING", None)
    inventory = load_inventory()
    return build_intents(inventory, bind_environment(inventory, "prod", Path("/nonexistent")))


@pytest.mark.parametrize("town", ["hatoyama-ce1", "nagatoro-ce1"])
def test_an_ix_town_prefers_its_primary_announces_its_own_and_accepts_only_the_dcs(intents, town) -> None:
    intent = intents[town]
    text = render(intent)
    lines = text.splitlines()
    assert intent.platform == "nec_ix" and "bfd" not in text.lower()
    assert "default" not in text and "0.0.0.0/0" not in text
    primary, backup = (str(n.address) for n in intent.neighbors)
    assert f"  neighbor {primary} timers 1 3" in lines and f"  neighbor {backup} timers 1 3" in lines
    assert f"    neighbor {primary} route-map PRIMARY-IN in" in lines
    assert f"    neighbor {backup} route-map BACKUP-OUT out" in lines
    primary_in = text[text.index("route-map PRIMARY-IN permit 10") :].split("!", 1)[0]
    backup_out = text[text.index("route-map BACKUP-OUT permit 10") :].split("!", 1)[0]
    assert "set local-preference 200" in primary_in and f"set as-path prepend {intent.asn} " in backup_out
    assert [line.split()[-1] for line in lines if line.startswith("    network ")] == [str(n) for n in intent.networks]
    dc = [line.split()[-1] for line in lines if line.startswith("ip prefix-list DC-PREFIXES ")]
    assert dc == [str(p) for p in intent.allowed_bgp_prefixes or []]
    assert f"ip access-list MGMT-ONLY permit ip src {intent.mgmt_subnet} dest any" in lines
    assert "ssh-server ip access-list MGMT-ONLY" in lines and "timezone +09 00" in lines
    assert {f"ntp server {s}" for s in intent.ntp_servers} | {
        f"syslog ip host {s}" for s in intent.syslog_servers
    } <= set(lines)


# ---- equal configs plan empty --------------------------------------------------------------------------


def test_the_rendered_config_plans_empty_against_itself_as_ix_prints_it() -> None:
    assert remediation("nec_ix", INTENDED, INTENDED) == []
    printed = _as_printed(INTENDED)
    assert remediation("nec_ix", printed, INTENDED) == [] and remediation("nec_ix", INTENDED, printed) == []
    # the clock in the header moves on: still the same configuration
    assert same_config("nec_ix", printed, _as_printed(INTENDED, "Dec 05-Sat-2026 03:00:00 JST"))


def test_an_unconfigured_circuit_port_is_configured_and_its_rollback_resets_it() -> None:
    """IX prints an unconfigured port as `no ip address` / `shutdown`: the remediation configures
    it, the rollback takes the lines back and leaves the port (no `no interface GigaEthernet1.0`)."""
    section = INTENDED[INTENDED.index("interface GigaEthernet1.0\n") :].split("!\n", 1)[0]
    running = _as_printed(INTENDED.replace(section, "interface GigaEthernet1.0\n  no ip address\n  shutdown\n"))
    fix, back = _check_cycle(running, INTENDED)
    assert fix == [
        "interface GigaEthernet1.0",
        "  description backup circuit KDDI-WVS-0008-B to kddi-pe2",
        "  ip address 10.64.159.195/31",
        "  no shutdown",
    ]
    assert back == [
        "interface GigaEthernet1.0",
        "  no description backup circuit KDDI-WVS-0008-B to kddi-pe2",
        "  no ip address 10.64.159.195/31",
        "  shutdown",
    ]


# ---- typical changes -------------------------------------------------------------------------------------


def test_a_neighbour_added_is_all_its_lines_and_rolls_back_as_one() -> None:
    running = _as_printed(_without(INTENDED, BACKUP))
    fix, back = _check_cycle(running, INTENDED)
    assert fix == [
        "router bgp 65108",
        f"  neighbor {BACKUP} remote-as 64600",
        f"  neighbor {BACKUP} description kddi-pe2 backup KDDI-WVS-0008-B",
        f"  neighbor {BACKUP} timers 1 3",
        "  address-family ipv4 unicast",
        f"    neighbor {BACKUP} route-map BACKUP-IN in",
        f"    neighbor {BACKUP} route-map BACKUP-OUT out",
    ]
    assert back == ["router bgp 65108", f"  no neighbor {BACKUP} remote-as 64600"]


def test_a_neighbour_removed_is_one_line() -> None:
    fix, back = _check_cycle(_as_printed(INTENDED), _without(INTENDED, BACKUP))
    assert fix == ["router bgp 65108", f"  no neighbor {BACKUP} remote-as 64600"]
    assert push_commands(fix, "nec_ix") == ["router bgp 65108", f"no neighbor {BACKUP} remote-as 64600", "exit"]
    assert back[:2] == ["router bgp 65108", f"  neighbor {BACKUP} remote-as 64600"] and len(back) == 7
    assert not any(PRIMARY in line for line in fix + back)


def test_a_prefix_list_entry_changed_is_replaced_in_place() -> None:
    running = _as_printed(INTENDED.replace("TOWN-OWN 10 permit 10.64.156.0/25", "TOWN-OWN 10 permit 10.64.135.64/27"))
    fix, back = _check_cycle(running, INTENDED)
    assert fix == ["ip prefix-list TOWN-OWN 10 permit 10.64.156.0/25"]
    assert back == ["ip prefix-list TOWN-OWN 10 permit 10.64.135.64/27"]


def test_an_access_list_line_changed_is_added_before_the_old_one_goes() -> None:
    """IX's access-list lines have no number: the new line, then the old one's negation last (the
    management access is never without a permit)."""
    old = "ip access-list MGMT-ONLY permit ip src 10.64.0.0/16 dest any"
    running = _as_printed(INTENDED.replace("ip access-list MGMT-ONLY permit ip src 10.64.4.0/22 dest any", old))
    fix, back = _check_cycle(running, INTENDED)
    assert fix == ["ip access-list MGMT-ONLY permit ip src 10.64.4.0/22 dest any", f"no {old}"]
    assert back == [old, "no ip access-list MGMT-ONLY permit ip src 10.64.4.0/22 dest any"]


def test_a_circuit_moved_replaces_its_address_and_its_neighbour() -> None:
    """The carrier renumbers the primary circuit: the port's one address is replaced in place, the
    old neighbour goes in one line and the new one comes whole."""
    old_ip, old_peer = "10.64.200.1/31", "10.64.200.0"
    running = _as_printed(
        INTENDED.replace("ip address 10.64.159.193/31", f"ip address {old_ip}").replace(
            f"neighbor {PRIMARY} ", f"neighbor {old_peer} "
        )
    )
    fix, back = _check_cycle(running, INTENDED)
    assert fix[:3] == [
        "router bgp 65108",
        f"  no neighbor {old_peer} remote-as 64600",
        f"  neighbor {PRIMARY} remote-as 64600",
    ]
    assert fix[-2:] == ["interface GigaEthernet0.0", "  ip address 10.64.159.193/31"]
    assert not any(line.strip().startswith(f"no neighbor {old_peer} ") and "remote-as" not in line for line in fix)
    assert not any("no ip address" in line for line in fix + back)
    assert back[-2:] == ["interface GigaEthernet0.0", f"  ip address {old_ip}"]
    assert f"  no neighbor {PRIMARY} remote-as 64600" in back


def test_attributes_replaced_in_place() -> None:
    running = _as_printed(
        INTENDED.replace(f"neighbor {PRIMARY} timers 1 3", f"neighbor {PRIMARY} timers 10 30")
        .replace("set local-preference 200", "set local-preference 150")
        .replace("router-id 10.64.159.255", "router-id 10.64.135.254")
        .replace("hostname hatoyama-ce1", "hostname Router")
        .replace("encapsulation dot1q 20 tpid 8100", "encapsulation dot1q 30 tpid 8100")
        .replace("description hatoyama mynumber segment", "description clients")
        .replace("set as-path prepend 65108 65108 65108", "set as-path prepend 65108")
    )
    fix, _ = _check_cycle(running, INTENDED)
    assert fix == [
        "route-map PRIMARY-IN permit 10",
        "  set local-preference 200",
        "route-map BACKUP-OUT permit 10",
        "  set as-path prepend 65108 65108 65108",
        "hostname hatoyama-ce1",
        "router bgp 65108",
        "  router-id 10.64.159.255",
        f"  neighbor {PRIMARY} timers 1 3",
        "interface GigaEthernet2.2",
        "  description hatoyama mynumber segment",
        "  encapsulation dot1q 20 tpid 8100",
    ]


# ---- pushing -------------------------------------------------------------------------------------------------


def test_push_commands_leave_every_section_they_enter_with_exit() -> None:
    day0 = _as_printed("timezone +09 00\n!\ninterface GigaEthernet2.0\n  ip address 10.64.4.176/22\n  no shutdown\n!\n")
    lines = remediation("nec_ix", day0, INTENDED)
    commands = push_commands(lines, "nec_ix")
    assert "exit-address-family" not in commands and commands[-1] == "exit"
    sent = [c for c in commands if c != "exit" and not c.startswith("address-family ")]
    assert sorted(sent) == sorted(line.strip() for line in lines if not line.strip().startswith("address-family "))
    opened = 0
    for c in commands:
        if c.startswith(("interface ", "router bgp ", "address-family ", "route-map ")):
            opened += 1
        elif c == "exit":
            opened -= 1
            assert opened >= 0, "an exit without a section"
    assert opened == 0, "a section left open"
    # the address family is left before the next neighbour's lines, the router last
    bgp = commands[commands.index("router bgp 65108") :]
    family = bgp[bgp.index("address-family ipv4 unicast") + 1 :]
    announced = family[: family.index("exit")]
    assert announced and all(c.startswith("network ") for c in announced), announced


# ---- secrets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (
            "username admin password plain 1 S3cr3t administrator",
            "username admin password plain <masked> administrator",
        ),
        ("username admin password plain S3cr3t administrator", "username admin password plain <masked> administrator"),
        ("username admin password plain 12345 administrator", "username admin password plain <masked> administrator"),
        ("username ops password plain 1 S3cr3t", "username ops password plain <masked>"),
        (
            "username admin password hash 59d34EAF3aeB94C2A609d4F2be7594@ administrator",
            "username admin password hash <masked> administrator",
        ),
        (
            "no username admin password hash 59d34E@ administrator",
            "no username admin password hash <masked> administrator",
        ),
        ("http-server username admin secret-password cJZnRPlg", "http-server username admin secret-password <masked>"),
        ("username netops privilege 15 secret 9 $9$x", "username netops privilege 15 secret 9 <masked>"),
    ],
)
def test_ix_secrets_are_masked(line, masked) -> None:
    assert mask_secrets(line) == masked
    assert mask_secrets(f"hostname a\n{line}\nhostname b\n") == f"hostname a\n{masked}\nhostname b\n"


def test_accounts_are_neither_compared_nor_removed() -> None:
    """The intent has no accounts: the one IX was bootstrapped with stays (a remediation deleting the
    account it logs in with would lock the operator out), and its hash changing is no drift."""
    printed = _as_printed(INTENDED)
    assert remediation("nec_ix", printed, INTENDED) == []
    assert same_config("nec_ix", printed, printed.replace("59d34EAF3aeB94C2A609d4F2be7594@", "0000@"))
    assert "username" not in INTENDED


def test_the_indexed_look_up_gives_hier_configs_own_answer() -> None:
    """IndexedIdempotency answers from an index; hier_config alone scans: the same plans."""
    from network.config import Workflow

    running = _as_printed(
        _without(INTENDED, BACKUP)
        .replace("timers 1 3", "timers 10 30")
        .replace("TOWN-OWN 10 permit 10.64.156.0/25", "TOWN-OWN 10 permit 10.64.135.64/27")
        .replace("ip address 10.64.159.193/31", "ip address 10.64.200.1/31")
    )
    scanned = Workflow(parse("nec_ix", running), parse("nec_ix", INTENDED))
    assert remediation_and_rollback("nec_ix", running, INTENDED) == (
        [c.cisco_style_text() for c in scanned.remediation_config.all_children_sorted()],
        [c.cisco_style_text() for c in scanned.rollback_config.all_children_sorted()],
    )


def test_a_backup_of_an_ix_leaves_out_its_clock() -> None:
    from network.config import without_volatile

    text = "! IX Series IX2215\n! Current time Dec  4 14:05:13 2026\n! Last updated Dec  4 14:00:01 2026\nhostname h\n"
    assert without_volatile("nec_ix", text) == "! IX Series IX2215\nhostname h\n"
