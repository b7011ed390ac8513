"""The inventory's small profile (3 towns), brought up for real by the session's `small_lab`.

Faults are checked with real traffic between directly connected neighbours, so the checks need no
routing (day 0 has none: routing comes from `municloud net apply`), and each fault must cut exactly
what it names: the neighbouring circuits and sites keep passing traffic.
"""

from __future__ import annotations

import pytest
import yaml
from netmiko.exceptions import NetmikoTimeoutException

from inventory.environment import bind_environment

from .conftest import SMALL_PREFIX, SmallLab
from .system import link_flags, ping, ping_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]  # the first may build the base image


def _peer_ping(lab: SmallLab, link: str, from_router: str) -> bool:
    """One ping from `from_router` to the other end of `link`, over that link only."""
    spec = lab.topo.link(link)
    near, far = (spec.a, spec.b) if spec.a.router == from_router else (spec.b, spec.a)
    return ping(lab.router_ns(near.router), str(far.address.ip), wait=0.5)


def _all_links_pass(lab: SmallLab) -> dict[str, bool]:
    return {link.name: _peer_ping(lab, link.name, link.a.router) for link in lab.topo.links}


def test_small_profile_has_the_inventorys_shape(small_lab: SmallLab) -> None:
    topo = small_lab.topo
    assert small_lab.towns == ["ina", "ogose", "namegawa"]
    assert {r.name for r in topo.routers} == {
        "kddi-pe1",
        "kddi-pe2",
        "dc1-edge",
        "dc2-edge",
        "ina-ce1",
        "ogose-ce1",
        "namegawa-ce1",
    }
    assert {c.name for c in topo.containers} >= {"dc1-app1", "dc1-db1", "dc2-app1", "dc2-db1", "ina-sv01"}
    print(f"\nsmall lab up: {small_lab.up_seconds:.1f} s")


def test_the_binding_reaches_this_lab(small_lab: SmallLab) -> None:
    data = yaml.safe_load(small_lab.binding_path.read_text())
    assert data["lab"]["prefix"] == SMALL_PREFIX
    env = bind_environment(small_lab.inventory, "lab")  # through $MUNICLOUD_BINDING, as commands do
    assert env.towns == ("ina", "ogose", "namegawa")
    assert env.key_file == small_lab.lab.private_key
    assert env.lab is not None and env.lab.state_dir == small_lab.lab.state_dir
    for router in small_lab.topo.routers:
        assert env.host(router.name).mgmt_address == router.mgmt_address.ip
    assert env.clients["ina-pcs"].netns == small_lab.client_ns("ina-pcs")


def test_every_router_answers_show_version_over_netmiko(small_lab: SmallLab) -> None:
    for router in small_lab.topo.routers:
        conn = small_lab.netmiko(router.name)
        try:
            output = conn.send_command("show version")
            assert "FRRouting" in output and f"({router.hostname})" in output, router.name
            assert conn.find_prompt() == f"{router.hostname}#"
        finally:
            conn.disconnect()


def test_every_container_runs_systemd_and_answers_ssh(small_lab: SmallLab) -> None:
    for container in small_lab.topo.containers:
        result = small_lab.ssh(container.name, "systemctl is-system-running --wait; hostname")
        assert result.stdout.split() == ["running", container.hostname], (container.name, result.stderr)


def test_status_sees_every_node_up(small_lab: SmallLab) -> None:
    status = small_lab.lab.status()
    assert status.all_up, [n.name for n in status.nodes if not n.up]


def test_every_link_passes_traffic_at_day_zero(clean_small_lab: SmallLab) -> None:
    assert all(_all_links_pass(clean_small_lab).values()), _all_links_pass(clean_small_lab)


def test_silent_circuit_cut_drops_only_that_circuit_and_keeps_the_link_up(clean_small_lab: SmallLab) -> None:
    lab = clean_small_lab
    lab.lab.fault_cut_link("ina-primary")
    assert not _peer_ping(lab, "ina-primary", "ina-ce1")
    assert not _peer_ping(lab, "ina-primary", "kddi-pe1")  # both directions
    assert "UP" in link_flags(lab.router_ns("ina-ce1"), "wan-primary")  # silent: only BFD can tell
    assert _peer_ping(lab, "ina-backup", "ina-ce1")
    assert _peer_ping(lab, "ogose-primary", "ogose-ce1")
    assert any(f["id"] == "link_silent:ina-primary" for f in lab.lab.status().faults)
    lab.lab.heal()
    assert ping_until(lab.router_ns("ina-ce1"), str(lab.topo.link("ina-primary").a.address.ip), timeout=5)
    assert lab.lab.status().faults == []


def test_hard_circuit_cut_takes_the_link_down_and_restore_brings_it_back(clean_small_lab: SmallLab) -> None:
    lab = clean_small_lab
    lab.lab.fault_cut_link("ogose-backup", hard=True)
    assert "LOWER_UP" not in link_flags(lab.router_ns("ogose-ce1"), "wan-backup")
    assert not _peer_ping(lab, "ogose-backup", "ogose-ce1")
    assert _peer_ping(lab, "ogose-primary", "ogose-ce1")
    lab.lab.restore_link("ogose-backup")
    assert "LOWER_UP" in link_flags(lab.router_ns("ogose-ce1"), "wan-backup")
    assert ping_until(lab.router_ns("ogose-ce1"), str(lab.topo.link("ogose-backup").a.address.ip), timeout=5)


def test_isolating_dc1_cuts_its_wan_and_interconnect_only(clean_small_lab: SmallLab) -> None:
    lab = clean_small_lab
    lab.lab.fault_isolate_site("dc1")
    passing = _all_links_pass(lab)
    assert {name for name, ok in passing.items() if not ok} == {"dc1-pe1", "dc1-dc2"}, passing
    lab.lab.heal()
    assert all(_all_links_pass(lab).values())


def test_stopped_carrier_edge_is_really_down_until_healed(clean_small_lab: SmallLab) -> None:
    lab = clean_small_lab
    lab.lab.fault_stop_router("kddi-pe1")
    status = {n.name: n for n in lab.lab.status().nodes}
    assert not status["kddi-pe1"].up
    assert not _peer_ping(lab, "ina-primary", "ina-ce1")  # a powered-off box answers nothing
    assert _peer_ping(lab, "ina-backup", "ina-ce1")
    with pytest.raises(NetmikoTimeoutException):  # powered off: not even a refusal
        lab.netmiko("kddi-pe1")
    lab.lab.heal()
    conn = lab.netmiko("kddi-pe1")
    try:
        assert "FRRouting" in conn.send_command("show version")
    finally:
        conn.disconnect()
    assert _peer_ping(lab, "ina-primary", "ina-ce1")


def test_stopped_town_server_is_unreachable_until_healed(clean_small_lab: SmallLab) -> None:
    lab = clean_small_lab
    lab.lab.fault_stop_container("ina-sv01")
    assert lab.ssh("ina-sv01", "true", timeout=20).returncode != 0
    assert lab.ssh("ogose-sv01", "true").returncode == 0
    lab.lab.heal()
    result = lab.ssh("ina-sv01", "systemctl is-system-running --wait")
    assert result.stdout.strip() == "running", result.stderr
