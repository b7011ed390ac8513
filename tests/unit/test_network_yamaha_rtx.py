"""Yamaha RTX without a device: the rendered town router (golden file in test_network.py), its
remediation and rollback from running configs as `show config` prints them, the push (contexts left,
`bgp configure refresh` at the end), secrets masked, and what RTX cannot express refused."""

from __future__ import annotations

import dataclasses
import os
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from network.config import mask_secrets, push_commands, remediation, remediation_and_rollback, same_config
from network.intent import Detection, StaticRoute, build_intents
from network.render import UnsupportedIntent, render

GOLDEN = Path(__file__).parent / "golden"
RTX = "yamaha_rtx"
TOWN = "namegawa-ce1"  # RTX1220 in prod

# What `show config` prints above the configuration, and the secrets it prints as `*`.
HEADER = """\
# RTX1220 Rev.14.00.32 (Thu Oct 30 10:34:13 2025)
# MAC Address : 00:a0:de:00:00:01, 00:a0:de:00:00:02, 00:a0:de:00:00:03
# Memory 256Mbytes, 9LAN
# main:  RTX1220 ver=00 serial=S000000000 MAC-Address=00:a0:de:00:00:01 MAC-Address=00:a0:de:00:00:02
# Reporting Date: Dec 4 14:05:13 2026

login password *
administrator password *
login user netops *
user attribute netops connection=ssh
"""
SECRETS = """\
bgp neighbor pre-shared-key 1 text *
bgp neighbor pre-shared-key 2 text *
sshd host key generate *
"""


@pytest.fixture(scope="module")
def intended() -> str:
    return (GOLDEN / f"prod-{TOWN}.cfg").read_text()


@pytest.fixture(scope="module")
def intent():
    os.environ.pop("MUNICLOUD_BINDING", None)
    inventory = load_inventory()
    return build_intents(inventory, bind_environment(inventory, "prod", Path("/nonexistent")))[TOWN]


def _without(text: str, start: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(start))


# ---- the rendered config -----------------------------------------------------------------------------


def test_the_town_router_announces_its_prefixes_accepts_the_dc_prefixes_and_nothing_else(intent, intended) -> None:
    lines = intended.splitlines()
    assert render(intent) == intended
    assert "0.0.0.0/0" not in intended and " default" not in intended
    assert [line for line in lines if line.startswith("bgp neighbor ")] == [
        "bgp neighbor 1 64600 10.64.139.192 hold-time=3 local-address=10.64.139.193",  # lan2, primary
        "bgp neighbor 2 64600 10.64.139.194 hold-time=3 local-address=10.64.139.195",  # lan3, backup
    ]
    exported = [line.split()[-1] for line in lines if line.startswith("bgp export filter ")]
    assert exported == [str(p) for p in intent.allowed_bgp_prefixes]
    assert "bgp export 64600 filter 1 2" in lines
    imported = [line.split()[-1] for line in lines if line.startswith("bgp import filter ")]
    assert imported == [str(n) for n in intent.networks] and "bgp import 64600 aggregate filter 1 2 3 4" in lines
    assert "vlan lan1/1 802.1q vid=10" in lines and "ip lan1/1 address 10.64.139.129/26" in lines
    # management: SSH on lan1 only, from the management subnet only; logging, time
    assert "ip filter 100 pass 10.64.4.0/22 10.64.4.96 tcp * 22" in lines
    assert "ip lan1 secure filter in 100 101 199" in lines and "sshd host lan1" in lines
    assert "telnetd service off" in lines and "timezone +09:00" in lines
    assert "syslog host 10.64.4.6 10.64.4.8" in lines  # over the management network
    assert "schedule at 1 startup * ntpdate 10.64.4.6" in lines
    # no secret is ever rendered (show config prints them as *; see the driver)
    assert not any("password" in line or "pre-shared-key" in line for line in lines)


def test_every_rtx_town_renders() -> None:
    inventory = load_inventory()
    intents = build_intents(inventory, bind_environment(inventory, "prod", Path("/nonexistent")))
    rtx = [name for name, d in intents.items() if d.platform == RTX]
    assert {"namegawa-ce1", "yokoze-ce1", "higashichichibu-ce1"} <= set(rtx)
    for name in rtx:
        text = render(intents[name])
        assert remediation(RTX, text, text) == [], name
        assert text.startswith(f"# {intents[name].model} {intents[name].firmware}: "), name


# ---- idempotency ---------------------------------------------------------------------------------------


def test_the_rendered_config_plans_empty_against_itself(intended) -> None:
    assert remediation(RTX, intended, intended) == []
    assert same_config(RTX, intended, intended)


def test_show_configs_header_and_masked_secrets_plan_empty(intended) -> None:
    """`show config` as the router prints it: the `#` header, blank lines, the accounts and the
    secrets as `*`, the neighbours' parameters in another order: nothing to change, either way."""
    running = HEADER + intended.replace(
        "hold-time=3 local-address=10.64.139.193", "local-address=10.64.139.193 hold-time=3"
    ).replace("bgp use on\n", "bgp use on\n" + SECRETS)
    assert running != intended
    assert remediation_and_rollback(RTX, running, intended) == ([], [])
    assert remediation_and_rollback(RTX, intended, running) == ([], [])


# ---- remediation and rollback ----------------------------------------------------------------------------


def test_a_neighbour_added_is_one_line_and_rolls_back_with_its_key(intended) -> None:
    running = HEADER + _without(intended, "bgp neighbor 2 ")
    fix, back = remediation_and_rollback(RTX, running, intended)
    assert fix == ["bgp neighbor 2 64600 10.64.139.194 hold-time=3 local-address=10.64.139.195"]
    assert back == ["no bgp neighbor 2"]
    assert push_commands(fix, RTX) == [*fix, "bgp configure refresh"]


def test_a_neighbour_removed_is_no_bgp_neighbor_n(intended) -> None:
    fix, back = remediation_and_rollback(RTX, HEADER + intended, _without(intended, "bgp neighbor 2 "))
    assert fix == ["no bgp neighbor 2"]
    assert back == ["bgp neighbor 2 64600 10.64.139.194 hold-time=3 local-address=10.64.139.195"]
    assert push_commands(fix, RTX) == ["no bgp neighbor 2", "bgp configure refresh"]


def test_a_changed_filter_line_is_replaced_in_place(intended) -> None:
    old = "bgp export filter 2 equal 10.64.0.176/29"
    running = intended.replace(old, "bgp export filter 2 include 10.64.0.0/16")
    fix, back = remediation_and_rollback(RTX, running, intended)
    assert fix == [old]
    assert back == ["bgp export filter 2 include 10.64.0.0/16"]
    # a filter the intent no longer has goes by its number, after what used it
    fewer = intended.replace("bgp export filter 2 equal 10.64.0.176/29\n", "").replace(
        "bgp export 64600 filter 1 2", "bgp export 64600 filter 1"
    )
    fix, back = remediation_and_rollback(RTX, intended, fewer)
    assert fix == ["bgp export 64600 filter 1", "no bgp export filter 2"]
    assert back == ["bgp export filter 2 equal 10.64.0.176/29", "bgp export 64600 filter 1 2"]


def test_a_circuit_moved_replaces_the_address_and_the_neighbour_follows(intended) -> None:
    """`ip lan2 address` is one per interface on RTX: the new line replaces the old (no `no` needed),
    and the neighbour over it changes its peer and local address in the same line."""
    moved = intended.replace("ip lan2 address 10.64.139.193/31", "ip lan2 address 10.64.131.1/31").replace(
        "bgp neighbor 1 64600 10.64.139.192 hold-time=3 local-address=10.64.139.193",
        "bgp neighbor 1 64600 10.64.131.128 hold-time=3 local-address=10.64.131.129",
    )
    fix, back = remediation_and_rollback(RTX, HEADER + intended, moved)
    assert fix == [
        "ip lan2 address 10.64.131.1/31",
        "bgp neighbor 1 64600 10.64.131.128 hold-time=3 local-address=10.64.131.129",
    ]
    assert back == [
        "ip lan2 address 10.64.139.193/31",
        "bgp neighbor 1 64600 10.64.139.192 hold-time=3 local-address=10.64.139.193",
    ]
    assert not any(line.startswith("no ") for line in fix + back)


@pytest.mark.parametrize(
    ("line", "negation"),
    [
        ("ip lan2 address 10.64.139.193/31", "no ip lan2 address"),
        ('description lan3 "backup circuit KDDI-WVS-0003-B to kddi-pe2"', "no description lan3"),
        ("vlan lan1/2 802.1q vid=20", "no vlan lan1/2 802.1q"),
        ("ip filter 101 pass 10.64.4.0/22 10.64.4.96 icmp * *", "no ip filter 101"),
        ("bgp import 64600 aggregate filter 1 2 3 4", "no bgp import 64600 aggregate"),
        ("bgp export 64600 filter 1 2", "no bgp export 64600"),
        ("bgp aggregate 10.64.136.0/25 filter 2", "no bgp aggregate 10.64.136.0/25"),
        ("schedule at 4 *:30 * ntpdate 10.64.4.8", "no schedule at 4"),
        ("bgp router id 10.64.139.255", "no bgp router id"),
    ],
)
def test_a_line_removed_is_negated_by_its_key(intended, line: str, negation: str) -> None:
    assert line in intended.splitlines()
    assert remediation(RTX, intended, intended.replace(line + "\n", "")) == [negation]


def test_static_routes_are_keyed_by_their_network() -> None:
    running = "ip route 10.0.0.0/8 gateway 10.64.139.192\nip route 172.16.0.0/12 gateway 10.64.139.192\n"
    intended = "ip route 10.0.0.0/8 gateway 10.64.139.194\n"
    fix, back = remediation_and_rollback(RTX, running, intended)
    assert fix == ["no ip route 172.16.0.0/12", "ip route 10.0.0.0/8 gateway 10.64.139.194"]
    assert back == ["ip route 10.0.0.0/8 gateway 10.64.139.192", "ip route 172.16.0.0/12 gateway 10.64.139.192"]


def test_autonomous_system_and_router_id_are_replaced_in_place(intended) -> None:
    running = intended.replace("bgp autonomous-system 65103", "bgp autonomous-system 65199").replace(
        "bgp router id 10.64.139.255", "bgp router id 10.64.130.254"
    )
    assert remediation(RTX, running, intended) == ["bgp autonomous-system 65103", "bgp router id 10.64.139.255"]


def test_a_day0_push_defines_the_filters_before_what_uses_them(intended) -> None:
    fix = remediation(RTX, HEADER, intended)
    commands = push_commands(fix, RTX)
    assert commands[-1] == "bgp configure refresh" and commands.count("bgp configure refresh") == 1
    first_use = {
        "ip filter ": commands.index("ip lan1 secure filter in 100 101 199"),
        "bgp import filter ": commands.index("bgp import 64600 aggregate filter 1 2 3 4"),
        "bgp export filter ": commands.index("bgp export 64600 filter 1 2"),
        "bgp aggregate filter ": commands.index("bgp aggregate 10.64.139.128/26 filter 1"),
    }
    for definition, used in first_use.items():
        assert max(i for i, c in enumerate(commands) if c.startswith(definition)) < used, definition
    assert not any(c.startswith("#") for c in commands)


# ---- the push: contexts and bgp configure refresh ----------------------------------------------------------


PP = """\
ip lan2 address 10.1.1.2/30
pp select 1
 description pp "old"
 pp keepalive use lcp-echo
 ip pp address 10.9.9.1/30
 pp enable 1
pp select none
tunnel select 1
 tunnel encapsulation ipsec
 tunnel enable 1
tunnel select none
"""


def test_pp_and_tunnel_contexts_are_sections_left_with_select_none() -> None:
    assert remediation(RTX, PP, PP) == []
    changed = PP.replace('description pp "old"', 'description pp "new"').replace(
        "ip pp address 10.9.9.1/30", "ip pp address 10.9.9.5/30"
    )
    fix, back = remediation_and_rollback(RTX, PP, changed)
    assert fix == ["pp select 1", '  description pp "new"', "  ip pp address 10.9.9.5/30"]
    assert back == ["pp select 1", '  description pp "old"', "  ip pp address 10.9.9.1/30"]
    assert push_commands(fix, RTX) == [
        "pp select 1",
        'description pp "new"',
        "ip pp address 10.9.9.5/30",
        "pp select none",
    ]
    assert push_commands(["tunnel select 1", "  no ip tunnel mtu", "ip lan2 address 10.1.1.6/30"], RTX) == [
        "tunnel select 1",
        "no ip tunnel mtu",
        "tunnel select none",
        "ip lan2 address 10.1.1.6/30",
    ]
    # inside a context too, a removed line goes by its key
    assert remediation(RTX, PP, PP.replace(" ip pp address 10.9.9.1/30\n", "")) == ["pp select 1", "  no ip pp address"]


def test_bgp_configure_refresh_ends_a_push_exactly_when_bgp_changed() -> None:
    assert push_commands(["ip lan2 address 10.1.1.6/30", "syslog host 10.64.0.34"], RTX) == [
        "ip lan2 address 10.1.1.6/30",
        "syslog host 10.64.0.34",
    ]
    assert push_commands(["no bgp neighbor 2", "ip lan3 address 10.1.1.10/30"], RTX) == [
        "no bgp neighbor 2",
        "ip lan3 address 10.1.1.10/30",
        "bgp configure refresh",
    ]
    # once, at the end, whatever the lines already had
    assert push_commands(["bgp configure refresh", "bgp export filter 1 equal 10.64.0.0/27"], RTX) == [
        "bgp export filter 1 equal 10.64.0.0/27",
        "bgp configure refresh",
    ]


# ---- secrets ---------------------------------------------------------------------------------------------


def test_rtx_secrets_are_masked() -> None:
    text = (
        "administrator password Adm1n-s3cret\n"
        "login password L0gin-s3cret\n"
        "administrator password encrypted Enc-s3cret\n"
        "login user netops encrypted User-s3cret\n"
        "bgp neighbor pre-shared-key 1 text Bgp-s3cret\n"
        "no bgp neighbor pre-shared-key 2 text Old-s3cret\n"
    )
    masked = mask_secrets(text)
    assert "s3cret" not in masked and masked.count("<masked>") == 6
    assert masked.splitlines()[4] == "bgp neighbor pre-shared-key 1 text <masked>"


def test_a_secret_set_on_the_router_is_never_planned_away(intended) -> None:
    """The template renders no secret and the driver compares none: a key set by hand stays."""
    running = intended + "bgp neighbor pre-shared-key 1 text Bgp-s3cret\nadministrator password encrypted X\n"
    assert remediation_and_rollback(RTX, running, intended) == ([], [])


# ---- what RTX cannot express ---------------------------------------------------------------------------------


def test_bfd_on_an_rtx_neighbour_is_refused_naming_the_router(intent) -> None:
    first = intent.neighbors[0]
    bfd = dataclasses.replace(first, detection=Detection(True, 3, 9))
    with pytest.raises(UnsupportedIntent, match=rf"{TOWN} \(yamaha_rtx\): cannot render: BFD with kddi-pe1"):
        render(dataclasses.replace(intent, neighbors=[bfd, *intent.neighbors[1:]]))


def test_two_policies_for_one_remote_as_are_refused(intent) -> None:
    backup = dataclasses.replace(intent.neighbors[1], route_map_in="BACKUP-IN")
    with pytest.raises(UnsupportedIntent, match=r"different policies for the neighbours of AS 64600.*per remote AS"):
        render(dataclasses.replace(intent, neighbors=[intent.neighbors[0], backup]))


def test_same_route_maps_under_other_names_are_one_policy(intent) -> None:
    first, second = intent.neighbors
    renamed = "CARRIER-IN-COPY"
    copy = dict(intent.route_maps, **{renamed: intent.route_maps[first.route_map_in]})
    same = dataclasses.replace(second, route_map_in=renamed)
    # one policy for the AS, so the same filters: RTX does not name route maps
    assert render(dataclasses.replace(intent, neighbors=[first, same], route_maps=copy)) == render(intent)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            lambda i: {"static_routes": [StaticRoute(IPv4Network("198.18.250.0/24"), IPv4Address("198.18.0.1"), 250)]},
            r"with distance 250: Yamaha RTX has no floating static routes",
        ),
        (
            lambda i: {
                "neighbors": [dataclasses.replace(n, route_map_in=None, route_map_out=None) for n in i.neighbors]
            },
            r"no route maps for the neighbours of AS 64600 \(kddi-pe1\): .* would exchange no routes",
        ),
        (
            lambda i: {
                "prefix_lists": {
                    k: [dataclasses.replace(e, action="deny") for e in v] for k, v in i.prefix_lists.items()
                }
            },
            r"prefix list \S+ entry \d+ denies",
        ),
        (
            lambda i: {"neighbors": [dataclasses.replace(n, detection=Detection(False, 1, 4)) for n in i.neighbors]},
            r"keepalive 1 s with hold 4 s; Yamaha RTX sends keepalives at a third of the hold time",
        ),
    ],
    ids=["floating-static", "no-route-maps", "prefix-list-deny", "hold-not-three-keepalives"],
)
def test_what_the_rtx_template_cannot_write_is_refused_before_rendering(intent, change, refusal) -> None:
    with pytest.raises(UnsupportedIntent, match=rf"{TOWN} \(yamaha_rtx\): cannot render: .*{refusal}"):
        render(dataclasses.replace(intent, **change(intent)))


def test_the_rendered_console_settings_are_those_the_driver_sets_in_every_session() -> None:
    # RTX keeps its console settings in its configuration: a config without the driver's would be
    # "corrected" by every plan, and the driver refuses a push that touches its console
    from network.drivers.yamaha_rtx import PROMPT_NAME, SESSION_COMMANDS

    lines = (Path(__file__).parent / "golden" / "prod-namegawa-ce1.cfg").read_text().splitlines()
    console = [line for line in lines if line.startswith("console ")]
    assert sorted(console) == sorted([*SESSION_COMMANDS, f"console prompt {PROMPT_NAME}"])


def test_a_backup_of_an_rtx_leaves_out_its_reporting_date() -> None:
    from network.config import without_volatile

    text = "# RTX1220 Rev.14.00.32 (Thu Feb 29 10:11:32 2024)\n# Reporting Date: Dec 4 14:05:13 2026\nbgp use on\n"
    assert without_volatile("yamaha_rtx", text) == "# RTX1220 Rev.14.00.32 (Thu Feb 29 10:11:32 2024)\nbgp use on\n"
