"""Network changes without a lab: golden rendered configs (FRR and IOS-XE), remediation and push
order, change windows, plan files, secrets masked."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from inventory.model.sla import CONTRACT_TZ
from network.config import mask_secrets, push_commands, remediation, remediation_and_rollback, same_config
from network.intent import build_intents
from network.plan import DevicePlan, Plan
from network.render import UnsupportedPlatform, render
from network.windows import change_window

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("lab", "kddi-pe1"),
    ("lab", "dc2-edge"),
    ("lab", "ina-ce1"),
    ("prod", "ina-ce1"),
    ("prod", "hatoyama-ce1"),
    ("prod", "namegawa-ce1"),
]


@pytest.fixture(scope="module")
def inventory():
    return load_inventory()


def _intents(inventory, env: str):
    # the binding file of a running lab would change management addresses: the address plan's only
    os.environ.pop("MUNICLOUD_BINDING", None)
    return build_intents(inventory, bind_environment(inventory, env, Path("/nonexistent")))


@pytest.mark.parametrize(("env", "device"), CASES)
def test_rendered_config_matches_its_golden_file(inventory, env: str, device: str) -> None:
    text = render(_intents(inventory, env)[device])
    golden = GOLDEN / f"{env}-{device}.cfg"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"rendered {device} ({env}) differs from {golden} (UPDATE_GOLDEN=1 rewrites)"


def test_no_default_route_and_towns_accept_only_dc_prefixes(inventory) -> None:
    intents = _intents(inventory, "lab")
    for name, intent in intents.items():
        text = render(intent)
        assert "0.0.0.0/0" not in text and "default-originate" not in text, name
    ce = intents["ina-ce1"]
    dc = {str(e.prefix) for e in ce.prefix_lists["DC-PREFIXES"]}
    assert {str(p) for p in ce.allowed_bgp_prefixes or []} == dc
    assert [str(n) for n in ce.networks] == [str(e.prefix) for e in ce.prefix_lists["TOWN-OWN"]]
    backup_out = ce.route_maps["BACKUP-OUT"][0]
    assert backup_out.prepend == (65101, 65101, 65101)
    assert ce.route_maps["PRIMARY-IN"][0].local_preference == 200


def test_each_dc_edge_has_a_last_resort_way_to_the_towns_over_the_interconnect(inventory) -> None:
    intents = _intents(inventory, "lab")
    dc1, dc2 = intents["dc1-edge"], intents["dc2-edge"]

    def interconnect_address(d):
        return next(i.address.ip for i in d.interfaces if i.name == "dci")

    for mine, other in ((dc1, dc2), (dc2, dc1)):
        peer = interconnect_address(other)
        floating = [r for r in mine.static_routes if r.distance is not None]
        assert [(str(r.prefix), r.via, r.distance) for r in floating] == [("198.18.128.0/17", peer, 250)]
        # every town's prefixes lie inside it, so it covers every town when BGP has no route
        town_prefixes = [e.prefix for e in mine.prefix_lists["TOWN-PREFIXES"]]
        assert town_prefixes and all(p.subnet_of(floating[0].prefix) for p in town_prefixes)
        assert f"ip route 198.18.128.0/17 {peer} 250" in render(mine).splitlines()
    ios = render(dataclasses.replace(dc1, platform="cisco_ios")).splitlines()
    assert f"ip route 198.18.128.0 255.255.128.0 {interconnect_address(dc2)} 250" in ios


def test_a_platform_without_templates_is_reported(inventory) -> None:
    intents = _intents(inventory, "prod")
    with pytest.raises(UnsupportedPlatform, match="no template for platform 'junos'"):
        render(dataclasses.replace(intents["namegawa-ce1"], platform="junos"))


RUNNING = """Building configuration...
frr version 8.4.4
frr defaults traditional
hostname r1
log file /var/log/frr/x.log
interface lan
 description old
 ip address 198.18.1.1/24
exit
router bgp 65101
 neighbor 198.18.0.1 remote-as 64600
 neighbor 198.18.0.1 timers 3 9
 address-family ipv4 unicast
  neighbor 198.18.0.1 route-map IN in
 exit-address-family
exit
bfd
 profile WAN
  transmit-interval 100
 exit
exit
end
"""


def test_one_line_change_is_exactly_that_line_and_its_rollback() -> None:
    intended = RUNNING.replace("transmit-interval 100", "transmit-interval 200")
    fix, back = remediation_and_rollback("frr", RUNNING, intended)
    assert fix == ["bfd", "  profile WAN", "    transmit-interval 200"]
    assert back == ["bfd", "  profile WAN", "    transmit-interval 100"]
    assert push_commands(fix) == ["bfd", "profile WAN", "transmit-interval 200", "exit", "exit"]


def test_noise_lines_do_not_count_and_equal_configs_plan_empty() -> None:
    quiet = RUNNING.replace("log file /var/log/frr/x.log\n", "").replace("frr version 8.4.4\n", "")
    assert remediation("frr", RUNNING, quiet) == []
    assert same_config("frr", RUNNING, quiet)


def test_an_address_change_removes_the_old_address() -> None:
    """FRR keeps several addresses per interface: the old one must be negated, not left behind."""
    fix = remediation("frr", RUNNING, RUNNING.replace("198.18.1.1/24", "198.18.1.2/24"))
    assert fix == ["interface lan", "  no ip address 198.18.1.1/24", "  ip address 198.18.1.2/24"]


def test_push_commands_exit_every_section_they_enter() -> None:
    lines = [
        "router bgp 1",
        "  address-family ipv4 unicast",
        "    network 198.18.0.0/24",
        "  neighbor x bfd",
        "ip route a b",
    ]
    assert push_commands(lines) == [
        "router bgp 1",
        "address-family ipv4 unicast",
        "network 198.18.0.0/24",
        "exit-address-family",
        "neighbor x bfd",
        "exit",
        "ip route a b",
    ]


def test_secrets_are_masked() -> None:
    text = "enable secret 9 $9$abc\nusername netops privilege 15 secret 9 $9$x\n neighbor 1.1.1.1 password s3cret\n"
    masked = mask_secrets(text)
    assert "$9$abc" not in masked and "s3cret" not in masked and "$9$x" not in masked
    assert masked.count("<masked>") == 3


def test_a_removed_secret_is_masked_in_the_remediation() -> None:
    """Removing a secret line is `no <the line>`: the remediation names the old secret."""
    running = "router bgp 1\n neighbor 1.2.3.4 remote-as 2\n neighbor 1.2.3.4 password s3cret\nexit\n"
    fix = remediation("frr", running, "router bgp 1\n neighbor 1.2.3.4 remote-as 2\nexit\n")
    assert [mask_secrets(line) for line in fix] == ["router bgp 1", "  no neighbor 1.2.3.4 password <masked>"]
    assert mask_secrets("no enable secret 5 abc\nno snmp-server community pub") == (
        "no enable secret 5 <masked>\nno snmp-server community <masked>"
    )


def test_change_windows(inventory) -> None:
    assert change_window(inventory, "lab").open
    tuesday_night = datetime(2026, 6, 2, 23, 30, tzinfo=CONTRACT_TZ)  # a Tuesday
    tuesday_noon = datetime(2026, 6, 2, 12, 0, tzinfo=CONTRACT_TZ)
    third_sunday = datetime(2026, 6, 21, 2, 0, tzinfo=CONTRACT_TZ)
    assert change_window(inventory, "prod", tuesday_night).open
    assert change_window(inventory, "prod", third_sunday).open
    verdict = change_window(inventory, "prod", tuesday_noon)
    assert not verdict.open and "outside every change window" in verdict.reason


def test_a_plan_file_round_trips(tmp_path: Path) -> None:
    plan = Plan("p1", "now", "me", "lab", [DevicePlan("r1", "frr", "ce", "ina", "h", "cfg", ["x"], ["y"], "d")])
    path = plan.save(tmp_path)
    loaded = Plan.load(path)
    assert loaded.id == "p1" and loaded.device("r1").remediation == ["x"] and loaded.changed[0].name == "r1"


def test_apply_is_refused_outside_the_change_windows(inventory, tmp_path: Path, monkeypatch) -> None:
    from network.apply import Applier, ApplyRefused

    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path))
    binding = bind_environment(inventory, "prod", Path("/nonexistent"))
    plan = Plan("p2", "now", "me", "prod", [DevicePlan("kddi-pe1", "frr", "pe", None, "h", "cfg", ["x"], ["y"], "d")])
    tuesday_noon = datetime(2026, 6, 2, 12, 0, tzinfo=CONTRACT_TZ)
    with pytest.raises(ApplyRefused, match="outside every change window"):
        Applier(plan, inventory, binding, now=tuesday_noon).gates()
    # an emergency goes past the window (and is then stopped by the stale inventory render: no SSH)
    with pytest.raises(ApplyRefused, match="renders differently"):
        Applier(plan, inventory, binding, now=tuesday_noon, emergency_reason="carrier outage").gates()


def test_a_change_window_in_office_hours_is_an_inventory_problem(tmp_path: Path) -> None:
    import shutil

    from inventory.check import check_inventory
    from inventory.loader import DEFAULT_ROOT

    root = tmp_path / "inventory"
    shutil.copytree(DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "model", "rules"))
    wan = (
        (root / "wan.yaml")
        .read_text()
        .replace('weekday: tue\n      start: "23:00"', 'weekday: tue\n      start: "10:00"')
    )
    (root / "wan.yaml").write_text(wan)
    result = check_inventory(root)
    assert any("wan.yaml" in str(p) and "overlaps the service hours 'office'" in str(p) for p in result.problems), (
        result.problems
    )


def _scanned(platform: str, running: str, intended: str) -> tuple[list[str], list[str]]:
    """Remediation and rollback as hier_config computes them alone (its idempotency scan)."""
    from network.config import Workflow, parse

    workflow = Workflow(parse(platform, running), parse(platform, intended))
    return (
        [c.cisco_style_text() for c in workflow.remediation_config.all_children_sorted()],
        [c.cisco_style_text() for c in workflow.rollback_config.all_children_sorted()],
    )


def _drifted_frr(text: str) -> str:
    """Changes of every kind the FRR rules know as idempotent, plus lines added and removed."""
    lines = [
        line.replace("timers 3 9", "timers 10 30")
        .replace("timers connect 1", "timers connect 10")
        .replace("bfd profile WAN", "bfd profile OLD")
        .replace("remote-as 65101", "remote-as 65199")
        .replace(" circuit ", " line ")
        .replace("local-preference 200", "local-preference 150")
        .replace("hostname kddi-pe1", "hostname old-pe1")
        .replace("bgp router-id ", "bgp router-id 1")
        for line in text.splitlines()
        if "neighbor 198.18" not in line or "198.18.131.193 " not in line  # one neighbor gone
    ]
    at = lines.index(" no bgp default ipv4-unicast") + 1
    lines[at:at] = [  # a neighbour the intended config does not have
        " neighbor 198.18.250.1 remote-as 65500",
        " neighbor 198.18.250.1 description gone",
        " neighbor 198.18.250.1 bfd",
        " neighbor 198.18.250.1 bfd profile WAN",
        " neighbor 198.18.250.1 timers 10 30",
    ]
    family = lines.index(" address-family ipv4 unicast") + 1
    lines.insert(family, "  neighbor 198.18.250.1 activate")
    return "\n".join(lines) + "\n"


def _drifted_ios(text: str) -> str:
    return (
        text.replace("description primary", "description old primary")
        .replace("ip address 10.64.131.193 255.255.255.254", "ip address 10.64.200.1 255.255.255.254")
        .replace("timers 3 9", "timers 10 30")
        .replace("hostname ina-ce1", "hostname old")
        .replace("no ip domain lookup\n", "no ip domain lookup\nlogging console informational\n")
        .replace(
            " neighbor 10.64.131.194 remote-as 64600\n",
            " neighbor 10.64.131.194 remote-as 64600\n neighbor 10.64.250.1 remote-as 65500\n"
            " neighbor 10.64.250.1 timers 10 30\n",
        )
        .replace(
            "  neighbor 10.64.131.194 activate\n",
            "  neighbor 10.64.131.194 activate\n  neighbor 10.64.250.1 activate\n",
        )
    )


@pytest.mark.parametrize(
    ("platform", "golden", "drift"),
    [("frr", "lab-kddi-pe1.cfg", _drifted_frr), ("cisco_ios", "prod-ina-ce1.cfg", _drifted_ios)],
)
def test_indexed_idempotency_gives_hier_configs_remediation_and_rollback(platform, golden, drift) -> None:
    intended = (GOLDEN / golden).read_text()
    running = drift(intended)
    assert running != intended
    fix, back = remediation_and_rollback(platform, running, intended)
    assert fix, "the drift must need a remediation, or the comparison below proves nothing"
    assert any(" remote-as " in line for line in fix) and any(" remote-as " in line for line in back)
    assert (fix, back) == _scanned(platform, running, intended)
    assert (back, fix) == tuple(remediation_and_rollback(platform, intended, running))


def test_indexed_idempotency_looks_at_each_line_a_bounded_number_of_times(monkeypatch) -> None:
    """The scan hier_config does alone keys every line of a section for every drifted line of it
    (quadratic: a carrier edge for 2,000 towns took minutes); the index keys each line once per rule."""
    from network.config import HConfigDriverFrr

    intended = (GOLDEN / "lab-kddi-pe1.cfg").read_text()
    bgp = intended.index(" no bgp default ipv4-unicast\n") + len(" no bgp default ipv4-unicast\n")
    many = "".join(
        f" neighbor 198.18.{200 + i // 250}.{i % 250} remote-as 65500\n"
        f" neighbor 198.18.{200 + i // 250}.{i % 250} timers 3 9\n"
        for i in range(600)
    )
    intended = intended[:bgp] + many + intended[bgp:]
    running = intended.replace("timers 3 9", "timers 10 30")
    keyed = []
    original = HConfigDriverFrr._idempotency_key
    monkeypatch.setattr(HConfigDriverFrr, "_idempotency_key", lambda self, *a: keyed.append(1) or original(self, *a))
    fix, _ = remediation_and_rollback("frr", running, intended)
    assert fix.count("  neighbor 198.18.200.7 timers 3 9") == 1 and len(fix) > 600
    assert not any("no neighbor" in line for line in fix)  # replaced in place, each neighbour its own
    lines = intended.count("\n")
    assert 0 < len(keyed) < 4 * lines, f"{len(keyed)} keys for {lines} lines"


# ---- BGP neighbours: each its own idempotency key; a removal is one line ---------------------------------

# (platform, golden two-neighbour config, the neighbour to remove, the neighbour kept, its address family)
NEIGHBOURS = [
    ("frr", "lab-ina-ce1.cfg", "198.18.131.194", "198.18.131.192", "  address-family ipv4 unicast"),
    ("cisco_ios", "prod-ina-ce1.cfg", "10.64.131.194", "10.64.131.192", "  address-family ipv4"),
]


def _without(text: str, address: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if f"neighbor {address} " not in line)


@pytest.mark.parametrize(("platform", "golden", "gone", "kept", "family"), NEIGHBOURS)
def test_removing_a_neighbour_is_one_line_and_its_rollback_adds_it_back_whole(
    platform, golden, gone, kept, family
) -> None:
    """`no neighbor X remote-as N` deletes the neighbour with all its lines; any other `no neighbor X`
    after it is rejected ("% Specify remote-as or peer-group commands first"). The other neighbour's
    `remote-as` is no replacement for the removed one's."""
    intended = (GOLDEN / golden).read_text()
    running_lines = [line for line in intended.splitlines() if f"neighbor {gone} " in line]
    fix, back = remediation_and_rollback(platform, intended, _without(intended, gone))
    assert fix == ["router bgp 65101", f"  no neighbor {gone} remote-as 64600"]
    assert push_commands(fix) == ["router bgp 65101", f"no neighbor {gone} remote-as 64600", "exit"]
    # the rollback re-adds the neighbour: remote-as first (it creates it), then its attributes, then
    # its address family lines, all of them and in the router's own order
    assert back[0] == "router bgp 65101" and back[1] == f"  neighbor {gone} remote-as 64600"
    assert back.index(family) > max(i for i, line in enumerate(back) if line.startswith(f"  neighbor {gone} "))
    assert [line.strip() for line in back if gone in line] == [line.strip() for line in running_lines]
    assert not any(kept in line for line in fix + back)


@pytest.mark.parametrize(("platform", "golden", "gone", "kept", "family"), NEIGHBOURS)
def test_adding_a_neighbour_adds_all_its_lines_and_rolls_back_as_one(platform, golden, gone, kept, family) -> None:
    intended = (GOLDEN / golden).read_text()
    fix, back = remediation_and_rollback(platform, _without(intended, gone), intended)
    assert fix[1] == f"  neighbor {gone} remote-as 64600"
    assert [line.strip() for line in fix if gone in line] == [
        line.strip() for line in intended.splitlines() if f"neighbor {gone} " in line
    ]
    assert back == ["router bgp 65101", f"  no neighbor {gone} remote-as 64600"]


@pytest.mark.parametrize(("platform", "golden", "gone", "kept", "family"), NEIGHBOURS)
def test_a_timer_change_is_one_replacement_line_per_neighbour(platform, golden, gone, kept, family) -> None:
    intended = (GOLDEN / golden).read_text()
    slow = intended.replace(f"neighbor {kept} timers 3 9", f"neighbor {kept} timers 10 30")
    assert slow != intended
    fix, back = remediation_and_rollback(platform, slow, intended)
    assert fix == ["router bgp 65101", f"  neighbor {kept} timers 3 9"]
    assert back == ["router bgp 65101", f"  neighbor {kept} timers 10 30"]
    both = intended.replace("timers 3 9", "timers 10 30")
    assert remediation(platform, both, intended) == [
        "router bgp 65101",
        f"  neighbor {kept} timers 3 9",
        f"  neighbor {gone} timers 3 9",
    ]


@pytest.mark.parametrize(("platform", "golden", "gone", "kept", "family"), NEIGHBOURS)
def test_a_neighbour_replaced_by_another_address_removes_the_old_one(platform, golden, gone, kept, family) -> None:
    """Same AS, description and timers under a new address: the old neighbour must still go."""
    intended = (GOLDEN / golden).read_text()
    new = gone.rsplit(".", 1)[0] + ".200"
    fix, back = remediation_and_rollback(platform, intended, intended.replace(f"neighbor {gone} ", f"neighbor {new} "))
    assert fix[:3] == ["router bgp 65101", f"  no neighbor {gone} remote-as 64600", f"  neighbor {new} remote-as 64600"]
    assert not any(line.strip().startswith(f"no neighbor {gone} ") for line in fix[2:])
    assert f"  no neighbor {new} remote-as 64600" in back
    assert not any(line.strip().startswith(f"no neighbor {new} ") and "remote-as" not in line for line in back)


def test_frr_attributes_of_one_neighbour_are_replaced_in_place() -> None:
    intended = (GOLDEN / "lab-ina-ce1.cfg").read_text()
    a = "198.18.131.192"
    running = (
        intended.replace(f"neighbor {a} timers connect 1", f"neighbor {a} timers connect 10")
        .replace(f"neighbor {a} bfd profile WAN", f"neighbor {a} bfd profile OLD")
        .replace(f"neighbor {a} remote-as 64600", f"neighbor {a} remote-as 64601")
        .replace(f"neighbor {a} description kddi-pe1 ", f"neighbor {a} description old ")
    )
    assert remediation("frr", running, intended) == [
        "router bgp 65101",
        f"  neighbor {a} remote-as 64600",
        f"  neighbor {a} description kddi-pe1 primary KDDI-WVS-0001-P",
        f"  neighbor {a} bfd profile WAN",
        f"  neighbor {a} timers connect 1",
    ]


def test_frr_bfd_off_for_a_neighbour_is_one_line() -> None:
    """On FRR `no neighbor X bfd` drops the profile too, and `no neighbor X bfd profile P` after it
    would turn BFD back on (FRR 8.4 does)."""
    intended = (GOLDEN / "lab-ina-ce1.cfg").read_text()
    a = "198.18.131.194"
    no_bfd = intended.replace(f" neighbor {a} bfd\n", "").replace(f" neighbor {a} bfd profile WAN\n", "")
    fix, back = remediation_and_rollback("frr", intended, no_bfd)
    assert fix == ["router bgp 65101", f"  no neighbor {a} bfd"]
    assert back == ["router bgp 65101", f"  neighbor {a} bfd", f"  neighbor {a} bfd profile WAN"]
    # the profile alone off: that line is needed and kept
    fix = remediation("frr", intended, intended.replace(f" neighbor {a} bfd profile WAN\n", ""))
    assert fix == ["router bgp 65101", f"  no neighbor {a} bfd profile WAN"]


@pytest.mark.parametrize(
    ("platform", "golden", "definitions"),
    [
        ("frr", "lab-kddi-pe1.cfg", ("ip prefix-list ", "route-map ", "bfd")),
        ("cisco_ios", "prod-ina-ce1.cfg", ("ip prefix-list ", "route-map ", "bfd-template ")),
    ],
)
def test_a_day0_push_defines_the_policies_before_the_neighbours_that_use_them(platform, golden, definitions) -> None:
    """Prefix lists, then route maps, then the BFD profile, then `router bgp`: a session must never
    come up before its policy exists (and FRR would apply a late route map only 5 s later)."""
    intended = (GOLDEN / golden).read_text()
    top = [line for line in remediation(platform, "hostname day0\n", intended) if not line.startswith(" ")]
    first = {what: next(i for i, line in enumerate(top) if line.startswith(what)) for what in definitions}
    last = {what: max(i for i, line in enumerate(top) if line.startswith(what)) for what in definitions}
    bgp = next(i for i, line in enumerate(top) if line.startswith("router bgp "))
    assert last[definitions[0]] < first[definitions[1]] and last[definitions[1]] < first[definitions[2]], top
    assert last[definitions[2]] < bgp, top


def test_a_route_map_is_removed_after_the_neighbour_that_used_it() -> None:
    """hier_config alone puts `no route-map ...` first: the neighbour would meanwhile name a route
    map that is gone."""
    intended = (GOLDEN / "lab-ina-ce1.cfg").read_text()
    running = intended
    policy = "route-map BACKUP-OUT permit 10\n"
    assert policy in running
    section = running[running.index(policy) : running.index("exit\n", running.index(policy)) + len("exit\n")]
    users = [line for line in running.splitlines(keepends=True) if line.strip().endswith("route-map BACKUP-OUT out")]
    assert users
    without = running.replace(section, "")
    for line in users:
        without = without.replace(line, "")
    fix = remediation("frr", running, without)
    assert fix[0].startswith("router bgp ") and fix[-1] == "no route-map BACKUP-OUT permit 10", fix


@pytest.mark.parametrize(("platform", "golden"), [("frr", "lab-kddi-pe1.cfg"), ("cisco_ios", "prod-ina-ce1.cfg")])
def test_a_neighbour_is_activated_right_after_it_is_created(platform, golden) -> None:
    """Not some hundred lines later, when a town router may have connected to a neighbour with no
    address family (the session is reset and both ends back off)."""
    lines = remediation(platform, "hostname day0\n", (GOLDEN / golden).read_text())
    commands = push_commands(lines)
    created = {c.split()[1]: i for i, c in enumerate(commands) if c.startswith("neighbor ") and " remote-as " in c}
    activated = {
        c.split()[1]: i for i, c in enumerate(commands) if c.startswith("neighbor ") and c.endswith(" activate")
    }
    assert len(created) >= 2 and created.keys() == activated.keys()
    assert all(0 < activated[n] - created[n] <= 8 for n in created), (created, activated)
    # the same lines, the address family entered again per neighbour
    sent = [c for c in commands if c not in ("exit", "exit-address-family") and not c.startswith("address-family ")]
    assert sorted(sent) == sorted(line.strip() for line in lines if not line.strip().startswith("address-family "))


def test_a_backup_leaves_out_only_the_lines_that_change_by_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    from network import config
    from network.config import HCONFIG_DRIVERS, without_volatile

    class Clocked(HCONFIG_DRIVERS["frr"]):  # type: ignore[misc,valid-type]
        volatile_lines = (r"^! Current time ",)

    monkeypatch.setitem(config.HCONFIG_DRIVERS, "clocked", Clocked)
    text = "! Current time Dec  4 14:05:13 2026\nhostname x\n! Current times are kept\n"
    assert without_volatile("clocked", text) == "hostname x\n! Current times are kept\n"
    assert without_volatile("frr", text) == text  # FRR prints no clock: the config whole
