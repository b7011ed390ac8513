"""Network changes on the small lab, for real: render -> plan -> apply with canary, post-checks and
automatic rollback; the fault tests end with every router equal to its pre-change backup and the
WAN reachable again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from network.apply import Hooks, apply_plan
from network.config import same_config
from network.fleet import Fleet
from network.plan import Plan, fetch_running, make_plan

from .conftest import SmallLab

pytestmark = pytest.mark.lab
MUNICLOUD = [sys.executable, "-m", "municloud.cli.main"]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MUNICLOUD, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"}
    )


@pytest.fixture(scope="module")
def net(networked_lab: SmallLab) -> Iterator[SmallLab]:
    """The session's small lab with the network applied from the inventory (the shared
    `networked_lab`: other modules may have applied it already), and the DC service address on
    DC1's app server (provisioning puts it there; when it has not run yet, the test does, and takes
    it away again afterwards)."""
    small_lab = networked_lab
    service = small_lab.environment().plan.service_address
    present = small_lab.ssh("dc1-app1", f"ip -o addr show dev lo to {service}/32").stdout.strip()
    if not present:
        app = small_lab.ssh("dc1-app1", f"ip addr replace {service}/32 dev lo")
        assert app.returncode == 0, app.stderr
    yield small_lab
    if not present:
        small_lab.ssh("dc1-app1", f"ip addr del {service}/32 dev lo")


@pytest.fixture
def healed(net: SmallLab) -> Iterator[SmallLab]:
    yield net
    net.lab.heal()


def _routers(lab: SmallLab) -> list[str]:
    return [r.name for r in lab.environment().routers()]


def _running(lab: SmallLab) -> dict[str, str]:
    result = fetch_running(Fleet(lab.environment()), _routers(lab), 8)
    assert all(isinstance(v, str) for v in result.values()), result
    return result  # type: ignore[return-value]


def _changed_plan(lab: SmallLab, device: str, old: str, new: str) -> Plan:
    """A plan for `device` whose intended config is the inventory's with `old` replaced by `new`."""
    inv, binding = lab.inventory, lab.environment()
    intended = make_plan(inv, binding, [device]).device(device).intended
    assert old in intended, old
    return make_plan(inv, binding, [device], intended_override={device: intended.replace(old, new)})


def _ping(lab: SmallLab, client: str, target: str) -> bool:
    ns = lab.client_ns(client)
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "1", target], capture_output=True
    )
    return done.returncode == 0


def _assert_wan_healthy(lab: SmallLab) -> None:
    binding = lab.environment()
    service = str(binding.plan.service_address)
    deadline = time.monotonic() + 30
    while True:
        ok = all(_ping(lab, f"{t}-pcs", service) for t in binding.towns)
        if ok or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ok, "the DC service is not reachable from every town"


def _assert_equal_to(lab: SmallLab, before: dict[str, str]) -> None:
    after = _running(lab)
    differ = [n for n in before if not same_config("frr", after[n], before[n])]
    assert differ == [], f"not back to the pre-change config: {differ}"


def test_apply_gives_town_to_dc_reachability_with_bfd_and_isolation(net: SmallLab) -> None:
    binding = net.environment()
    plan = binding.plan
    service = str(plan.service_address)
    for town in binding.towns:
        assert _ping(net, f"{town}-pcs", service), f"{town}: DC service unreachable"
        for other in binding.towns:
            if other != town:
                assert not _ping(net, f"{town}-pcs", str(plan.towns[other].lan_gateway.ip + 1)), (town, other)
    for router in _routers(net):
        conn = net.netmiko(router)
        try:
            default = json.loads(conn.send_command("show ip route 0.0.0.0/0 json") or "{}")
            assert not any(default.values()), (router, default)
            peers = json.loads(conn.send_command("show bfd peers json"))
            assert peers and all(p["status"] == "up" for p in peers), (router, peers)
            summary = json.loads(conn.send_command("show ip bgp summary json"))["ipv4Unicast"]["peers"]
            assert summary and all(p["state"] == "Established" for p in summary.values()), router
        finally:
            conn.disconnect()
    # the primary circuit wins: the town's route to the service goes out wan-primary
    conn = net.netmiko("ina-ce1")
    try:
        route = json.loads(conn.send_command(f"show ip route {plan.service_prefix} json"))
        hops = route[str(plan.service_prefix)][0]["nexthops"]
        assert hops[0]["interfaceName"] == "wan-primary"
    finally:
        conn.disconnect()


def test_plan_right_after_apply_is_empty(net: SmallLab, tmp_path: Path) -> None:
    planned = cli("net", "plan", "--json")
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert data["path"] is None and all(not d["remediation"] for d in data["devices"])
    checked = cli("net", "compliance", "--out", str(tmp_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads((tmp_path / "compliance.json").read_text(encoding="utf-8"))
    assert report["compliant"] and report["summary"]["compliant"] == len(_routers(net)) == len(report["routers"])
    assert (tmp_path / "compliance.pdf").is_file() and "伊奈町" in (tmp_path / "compliance.html").read_text()


def test_one_line_change_plans_as_that_line_and_applies(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    base = make_plan(inv, binding, ["ogose-ce1"])
    intended = base.device("ogose-ce1").intended
    assert base.changed == []
    changed = intended.replace("  transmit-interval 100", "  transmit-interval 150")
    plan = make_plan(inv, binding, ["ogose-ce1"], intended_override={"ogose-ce1": changed})
    assert plan.device("ogose-ce1").remediation == ["bfd", "  profile WAN", "    transmit-interval 150"]
    result = apply_plan(plan, inv, binding)
    assert result.ok, result.results
    back = make_plan(inv, binding, ["ogose-ce1"])
    assert back.device("ogose-ce1").remediation == ["bfd", "  profile WAN", "    transmit-interval 100"]
    assert apply_plan(back, inv, binding).ok
    _assert_wan_healthy(lab)


def test_a_rejected_line_rolls_the_device_back(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)
    plan = _changed_plan(lab, "ina-ce1", " description ina town hall LAN", " description x\n ip address 300.1.1.1/24")
    result = apply_plan(plan, inv, binding)
    assert not result.ok
    assert result.results["ina-ce1"].status == "rolled-back", result.results["ina-ce1"]
    assert "rejected" in result.results["ina-ce1"].detail
    _assert_equal_to(lab, before)
    _assert_wan_healthy(lab)


def test_a_failing_post_check_rolls_back(healed: SmallLab) -> None:
    """A plan that drops a BGP session (the town's backup circuit) fails its post-check."""
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)
    intended = make_plan(inv, binding, ["namegawa-ce1"]).device("namegawa-ce1").intended
    pe2 = str(binding.plan.towns["namegawa"].backup.a.ip)
    dropped = "\n".join(line for line in intended.splitlines() if f"neighbor {pe2} " not in line) + "\n"
    plan = make_plan(inv, binding, ["namegawa-ce1"], intended_override={"namegawa-ce1": dropped})
    # the neighbour goes with its one `remote-as` line (any other `no neighbor` after it FRR rejects)
    assert plan.device("namegawa-ce1").remediation == [
        _line(intended, "router bgp "),
        f"  no {_remote_as(intended, pe2)}",
    ]
    result = apply_plan(plan, inv, binding, check_timeout=8)
    assert result.results["namegawa-ce1"].status == "rolled-back", result.results
    assert "BGP session with kddi-pe2" in result.results["namegawa-ce1"].detail
    _assert_equal_to(lab, before)
    assert make_plan(inv, binding, ["namegawa-ce1"]).changed == []  # the neighbour is back, whole
    _assert_wan_healthy(lab)


def _line(config: str, start: str) -> str:
    return next(line for line in config.splitlines() if line.startswith(start))


def _remote_as(config: str, address: str) -> str:
    """`neighbor <address> remote-as N` as the config has it (without the indent)."""
    return _line(config, f" neighbor {address} remote-as ").strip()


def test_a_plan_that_removes_a_neighbour_applies_and_a_rollback_brings_it_back(healed: SmallLab) -> None:
    """A neighbour that was never up (so "what was up before the change is up after it" lets its
    removal through): added with every line a neighbour has, then removed by a plan of the one line
    `no neighbor X remote-as N`, which FRR takes (a rejected line would roll the change back). A plan
    right after is empty: the neighbour is gone, not half-removed and planned again and again. `net
    rollback` to the pre-change backup brings it back whole."""
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    device = "ogose-ce1"
    before = _running(lab)
    intended = make_plan(inv, binding, [device]).device(device).intended
    extra = "198.19.199.1"  # in the lab's range and on no router of it
    assert all(extra not in text for text in before.values())
    pe = _line(intended, " neighbor ").split()[1]  # the extra neighbour gets every line this one has
    with_extra = "".join(
        line + (line.replace(f"neighbor {pe} ", f"neighbor {extra} ") if f"neighbor {pe} " in line else "")
        for line in intended.splitlines(keepends=True)
    )
    added = [line for line in with_extra.splitlines() if f"neighbor {extra} " in line]
    assert len(added) >= 8 and any(line.startswith("  neighbor") for line in added)  # address family too
    router_bgp = _line(intended, "router bgp ")
    try:
        plan = make_plan(inv, binding, [device], intended_override={device: with_extra})
        assert plan.device(device).remediation[:2] == [router_bgp, f"  {_remote_as(with_extra, extra)}"]
        applied = cli("net", "apply", str(plan.save()), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert make_plan(inv, binding, [device], intended_override={device: with_extra}).changed == []

        removal = make_plan(inv, binding, [device], intended_override={device: intended})
        assert removal.device(device).remediation == [router_bgp, f"  no {_remote_as(with_extra, extra)}"]
        applied = cli("net", "apply", str(removal.save()), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert make_plan(inv, binding, [device]).changed == []
        _assert_equal_to(lab, before)

        rolled = cli("net", "rollback", "--device", device, "--yes")
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        assert make_plan(inv, binding, [device], intended_override={device: with_extra}).changed == []
    finally:
        restore = make_plan(inv, binding, [device])
        assert apply_plan(restore, inv, binding).ok
    _assert_equal_to(lab, before)
    _assert_wan_healthy(lab)


def test_a_device_lost_in_the_middle_of_a_change_comes_back_as_it_was(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)
    plan = _changed_plan(lab, "ogose-ce1", " description ogose mynumber segment", " description ogose (changed)")

    def lose(name: str) -> None:  # the router dies right after the push, and boots again 3 s later
        lab.lab.fault_stop_router(name)
        threading.Timer(3.0, lab.lab.fault_start_router, args=(name,)).start()

    result = apply_plan(plan, inv, binding, hooks=Hooks(after_push=lose), check_timeout=5, reconnect_s=40)
    assert result.results["ogose-ce1"].status == "rolled-back", result.results
    _assert_equal_to(lab, before)
    _assert_wan_healthy(lab)


def test_a_killed_apply_is_found_and_rolled_back(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)
    names = _routers(lab)
    base = make_plan(inv, binding, names)
    overrides = {
        n: base.device(n).intended.replace("  transmit-interval 100", "  transmit-interval 120") for n in names
    }
    plan = make_plan(inv, binding, names, intended_override=overrides)
    path = plan.save()
    proc = subprocess.Popen(
        [*MUNICLOUD, "net", "apply", str(path), "--yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    changes = lab.ops_state_dir / "network" / "changes"
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        for journal in changes.glob("*.json") if changes.is_dir() else []:
            data = json.loads(journal.read_text())
            if data["plan"] == plan.id and any(d["state"] == "pushed" for d in data["devices"].values()):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        if killed:
            break
        time.sleep(0.02)
    proc.wait()
    assert killed, "the apply finished before it could be killed"
    replan = cli("net", "plan")
    assert "unfinished change" in replan.stderr
    refused = cli("net", "apply", str(path), "--yes")
    assert refused.returncode == 2 and "unfinished" in refused.stderr
    rolled = cli("net", "rollback", "--unfinished", "--yes")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    _assert_equal_to(lab, before)
    _assert_wan_healthy(lab)


def test_rollback_of_one_device_to_its_last_pre_change_backup(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)["dc2-edge"]
    assert apply_plan(
        _changed_plan(lab, "dc2-edge", " description dc2 LAN (app, db)", " description x"), inv, binding
    ).ok
    assert not same_config("frr", _running(lab)["dc2-edge"], before)
    rolled = cli("net", "rollback", "--device", "dc2-edge", "--yes")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert same_config("frr", _running(lab)["dc2-edge"], before)
    log = cli("net", "log", "--json")
    events = json.loads(log.stdout)
    assert any(e["event"] == "rollback" and e.get("device") == "dc2-edge" for e in events)


def test_a_stale_plan_is_refused(healed: SmallLab) -> None:
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    plan_a = _changed_plan(lab, "ina-ce1", " description ina mynumber segment", " description one")
    plan_b = _changed_plan(lab, "ina-ce1", " description ina mynumber segment", " description two")
    assert apply_plan(plan_a, inv, binding).ok
    path = plan_b.save()
    refused = cli("net", "apply", str(path), "--yes")
    assert refused.returncode == 2 and "stale" in refused.stderr, refused.stderr
    restore = make_plan(inv, binding, ["ina-ce1"])
    assert apply_plan(restore, inv, binding).ok
    assert Plan.load(Path(path)).id == plan_b.id


def test_a_filter_change_applies_and_a_rollback_restores_the_filter(healed: SmallLab) -> None:
    """The town hall router's packet filter is configuration like the rest: planned, pushed (to the
    router's filter, not to vtysh), enforced at once, and put back by the next plan."""
    lab = healed
    inv, binding = lab.inventory, lab.environment()
    before = _running(lab)
    service = str(binding.plan.service_address)
    gateway = str(binding.plan.externals["lgwan-gateway"])
    mynumber = binding.plan.towns["ina"].segments["mynumber"].network
    entry = f" 20 permit icmp {mynumber} {service}/32 echo"
    plan = _changed_plan(lab, "ina-ce1", entry, entry.replace(f"{service}/32", f"{gateway}/32"))
    assert any(line.startswith("filter MC-MYNUMBER-IN in clients") for line in plan.device("ina-ce1").remediation)
    # the resident-data segment loses its echo to the service; the post-checks ping from the town
    # hall LAN's server, whose filter is unchanged, so the change applies
    applied = apply_plan(plan, inv, binding)
    assert applied.results["ina-ce1"].status == "applied", applied.results
    assert not _ping(lab, "ina-pcs", service), "the changed filter still lets the echo through"
    restore = make_plan(inv, binding, ["ina-ce1"])
    assert apply_plan(restore, inv, binding).ok
    _assert_equal_to(lab, before)
    _assert_wan_healthy(lab)  # the echo from every town's マイナンバー利用事務系 again
