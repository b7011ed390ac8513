"""The lab engine against the real thing: FRR routers reached with Netmiko, LXC containers reached
with SSH, faults checked with real traffic, `down()` checked against the system."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.engine import Lab
from lab.names import container_name
from tests.lab.conftest import PREFIX, STATE_DIR, SampleLab
from tests.lab.system import lab_objects, link_flags, ping, ping_until, sh

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]  # the first may build the base image

PE1_LO, PE2_LO = "198.18.255.1", "198.18.255.2"  # reached from the town LAN via primary / backup
SRV = "198.19.1.10"  # the town server's LAN address

STATIC_ROUTES = {  # day 0 has no routing: the tests push their own, as `net apply` would
    "ce1": [f"ip route {PE1_LO}/32 198.18.64.6", f"ip route {PE2_LO}/32 198.18.64.10"],
    "pe1": ["ip route 198.19.1.0/24 198.18.64.5"],
    "pe2": ["ip route 198.19.1.0/24 198.18.64.9"],
}


@pytest.fixture(scope="module")
def routed(sample_lab: SampleLab) -> SampleLab:
    for router, lines in STATIC_ROUTES.items():
        conn = sample_lab.netmiko(router)
        try:
            conn.send_config_set(lines)
            conn.save_config()  # a stopped and restarted router must come back with its routes
        finally:
            conn.disconnect()
    pc = sample_lab.client_ns("t1-pc")
    assert ping_until(pc, PE1_LO) and ping_until(pc, PE2_LO), "static routes did not carry traffic"
    return sample_lab


def test_up_is_fast_and_complete(sample_lab: SampleLab) -> None:
    print(f"\nlab up (sample topology): {sample_lab.up_seconds:.1f} s, steps {sample_lab.report.steps}")
    status = sample_lab.lab.status()
    assert status.phase == "up"
    assert status.all_up, [n for n in status.nodes if not n.up]
    kinds = sorted(n.kind for n in status.nodes)
    assert kinds == ["client", "container", "lan", "router", "router", "router", "service"]


def test_every_router_answers_netmiko_show_version(sample_lab: SampleLab) -> None:
    for spec in sample_lab.topo.routers:
        conn = sample_lab.netmiko(spec.name)
        try:
            assert conn.find_prompt() == f"{spec.hostname}#"
            out = conn.send_command("show version")
            assert "FRRouting" in out and f"({spec.hostname})" in out, out
            running = conn.send_command("show running-config")
            assert f"ip address {spec.mgmt_address}" in running
        finally:
            conn.disconnect()


def test_config_errors_and_saves_are_reported(sample_lab: SampleLab) -> None:
    from netmiko.exceptions import ConfigInvalidException

    conn = sample_lab.netmiko("pe2")
    try:
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["ip route not-an-address"])
        conn.exit_config_mode()
        assert "[OK]" in conn.save_config()
    finally:
        conn.disconnect()


def test_every_container_runs_systemd_and_sshd(sample_lab: SampleLab) -> None:
    for spec in sample_lab.topo.containers:
        res = sample_lab.ssh(
            spec.name,
            "timeout 60 systemctl is-system-running --wait; hostname; "
            "ip -4 -o addr show dev eth1; systemctl --failed --no-legend",
        )
        lines = res.stdout.splitlines()
        assert lines and lines[0] == "running", res.stdout + res.stderr
        assert lines[1] == spec.hostname
        assert str(spec.address) in lines[2]


def test_container_apt_goes_through_the_lab_proxy(sample_lab: SampleLab) -> None:
    res = sample_lab.ssh(
        "t1-srv", "apt-config dump Acquire::http::Proxy; apt-get -q -o Acquire::Retries=2 update", timeout=180
    )
    assert f'"http://{sample_lab.topo.ops_address.ip}:3142"' in res.stdout
    assert res.returncode == 0, res.stdout + res.stderr


def test_management_and_data_plane_are_not_routed_together(routed: SampleLab) -> None:
    pc = routed.client_ns("t1-pc")
    assert ping(pc, SRV), "positive control: the client reaches the server on its LAN"
    assert not ping(pc, str(routed.topo.ops_address.ip)), "a client reached the operations center"
    assert not ping(pc, str(routed.topo.container("t1-srv").mgmt_address.ip)), "client reached a mgmt address"
    root = sh("ping", "-n", "-q", "-c", "1", "-W", "1", SRV, timeout=10)
    assert root.returncode != 0, "the operations center reached the data plane"
    bridge = routed.topo.mgmt_bridge
    assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").read_text().strip() == "0"


def test_silent_cut_drops_traffic_but_keeps_the_link_up(lab: SampleLab, routed: SampleLab) -> None:
    pc = lab.client_ns("t1-pc")
    fault = lab.lab.fault_cut_link("t1-primary")
    assert fault["kind"] == "link_silent"
    assert not ping(pc, PE1_LO), "traffic crossed a silently cut circuit"
    assert ping(pc, PE2_LO), "the backup circuit was cut too"
    for ns, ifname in ((lab.router_ns("ce1"), "eth1"), (lab.router_ns("pe1"), "eth2")):
        assert {"UP", "LOWER_UP"} <= set(link_flags(ns, ifname)), f"{ns} {ifname} went down"
    assert [f["id"] for f in lab.lab.faults()] == ["link_silent:t1-primary"]
    ce1 = next(n for n in lab.lab.status().nodes if n.name == "ce1")
    assert "link_silent:t1-primary" in ce1.faults
    healed = lab.lab.heal()
    assert [f["id"] for f in healed] == ["link_silent:t1-primary"]
    assert lab.lab.faults() == []
    assert ping_until(pc, PE1_LO)


def test_hard_cut_takes_the_link_down(lab: SampleLab, routed: SampleLab) -> None:
    pc = lab.client_ns("t1-pc")
    lab.lab.fault_cut_link("t1-backup", hard=True)
    assert not ping(pc, PE2_LO)
    assert ping(pc, PE1_LO)
    assert "LOWER_UP" not in link_flags(lab.router_ns("pe2"), "eth2")
    assert "UP" not in link_flags(lab.router_ns("ce1"), "eth2")
    lab.lab.heal()
    assert {"UP", "LOWER_UP"} <= set(link_flags(lab.router_ns("ce1"), "eth2"))
    assert ping_until(pc, PE2_LO)


def test_isolating_a_site_cuts_all_its_circuits_only(lab: SampleLab, routed: SampleLab) -> None:
    pc = lab.client_ns("t1-pc")
    fault = lab.lab.fault_isolate_site("town1")
    assert sorted(fault["links"]) == ["t1-backup", "t1-primary"]
    assert not ping(pc, PE1_LO) and not ping(pc, PE2_LO)
    assert ping(pc, SRV), "traffic inside the isolated site must still flow"
    conn = lab.netmiko("ce1")  # management is not the data plane
    conn.disconnect()
    lab.lab.heal()
    assert ping_until(pc, PE1_LO) and ping_until(pc, PE2_LO)


def test_stopped_router_is_really_down_and_comes_back_with_its_config(lab: SampleLab, routed: SampleLab) -> None:
    pc = lab.client_ns("t1-pc")
    lab.lab.fault_stop_router("pe1")
    ns_marker = f"-N {lab.router_ns('pe1')}"
    alive = [
        p for p in sh("ps", "-e", "-o", "stat=,args=").stdout.splitlines() if ns_marker in p and not p.startswith("Z")
    ]
    assert alive == [], alive
    with pytest.raises(Exception):  # noqa: B017 (any connection error will do)
        lab.netmiko("pe1")
    assert not ping(pc, PE1_LO), "a stopped router still routed"
    assert ping(pc, PE2_LO)
    pe1 = next(n for n in lab.lab.status().nodes if n.name == "pe1")
    assert not pe1.up and "router_stopped:pe1" in pe1.faults
    lab.lab.heal()
    conn = lab.netmiko("pe1")
    try:
        assert "FRRouting" in conn.send_command("show version")
    finally:
        conn.disconnect()
    assert ping_until(pc, PE1_LO, timeout=15), "pe1 came back without its saved static route"


def test_stopped_container_is_unreachable_until_healed(lab: SampleLab) -> None:
    pc = lab.client_ns("t1-pc")
    lab.lab.fault_stop_container("t1-srv")
    state = sh("lxc-info", "-n", container_name(PREFIX, "t1-srv"), "-s", "-H").stdout.strip()
    assert state == "STOPPED"
    assert not ping(pc, SRV)
    assert lab.ssh("t1-srv", "true", timeout=30).returncode != 0
    lab.lab.heal()
    assert ping_until(pc, SRV), "the container's LAN port did not come back"
    res = lab.ssh("t1-srv", "timeout 60 systemctl is-system-running --wait")
    assert res.stdout.strip() == "running", res.stdout + res.stderr


def test_up_again_repairs_what_is_missing_and_touches_nothing_else(lab: SampleLab) -> None:
    topo, engine = lab.topo, lab.lab

    def zebra_pids() -> dict[str, str]:
        out = {}
        for r in topo.routers:
            out[r.name] = sh("cat", f"/var/run/frr/{lab.router_ns(r.name)}/zebra.pid").stdout.strip()
        return out

    ct = container_name(PREFIX, "t1-srv")
    before, init_before = zebra_pids(), sh("lxc-info", "-n", ct, "-p", "-H").stdout.strip()
    again = engine.up(topo)
    assert again.created == [], again.created
    # break two things behind the engine's back: a client namespace and a router's sshd
    sh("ip", "netns", "delete", lab.client_ns("t1-pc"), check=True)
    ss = sh("ip", "netns", "exec", lab.router_ns("pe2"), "ss", "-Hltnp").stdout
    sshd_line = next(line for line in ss.splitlines() if '"sshd"' in line)
    sshd_pid = int(sshd_line.split("pid=")[1].split(",")[0])
    os.kill(sshd_pid, 9)
    engine.up(topo)
    assert ping_until(lab.client_ns("t1-pc"), SRV)
    lab.netmiko("pe2").disconnect()
    assert zebra_pids() == before, "up restarted a router that was running"
    assert sh("lxc-info", "-n", ct, "-p", "-H").stdout.strip() == init_before, "up restarted a container"


def test_non_root_is_refused_plainly() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    code = "from lab.engine import Lab; Lab('/tmp/municloud-nonroot').status()"
    res = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert res.returncode != 0
    assert "NotRootError" in res.stderr and "needs root" in res.stderr, res.stderr


def test_down_leaves_nothing_on_the_system(sample_lab: SampleLab) -> None:
    """Last test of the session lab: `down()` judged by ip, nft, lxc-ls and /proc, not by the state."""
    assert lab_objects(PREFIX, STATE_DIR) != [], "positive control: the lab is visible before down"
    report = sample_lab.lab.down()
    print(f"\nlab down: {report.seconds:.1f} s")
    assert lab_objects(PREFIX, STATE_DIR) == []
    assert report.leftovers == []
    assert Lab(state_dir=STATE_DIR).status().nodes == []
