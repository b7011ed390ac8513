"""Execution nodes on the small lab (issue 22): the lab's two nodes set up from the operations
machine's wheelhouse; provisioning through them (ansible-runner transmit | worker over SSH | process)
changes exactly what a local run changes and verification passes; a node killed in the middle of a
run is reported with the towns it held, and the re-run finishes them on the other node."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import time
from typing import Any

from municloud.scale import town_nodes

from .conftest import SmallLab, municloud_cli

# Drift on every town server that the baseline role repairs: its sshd and journald drop-ins gone.
DRIFT = "rm -f /etc/ssh/sshd_config.d/10-municloud.conf /etc/systemd/journald.conf.d/10-municloud.conf"
RECAP_FIELDS = ("ok", "changed", "failed", "unreachable", "skipped")


def _json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _town_servers(lab: SmallLab) -> list[str]:
    return [h.name for h in lab.environment().servers() if h.town]


def _drift(lab: SmallLab) -> None:
    for host in _town_servers(lab):
        assert lab.ssh(host, DRIFT).returncode == 0, host


def test_the_nodes_run_the_operations_machines_versions(provisioned_lab: SmallLab) -> None:
    status = municloud_cli("nodes", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    nodes = _json(status)["nodes"]
    assert [n["name"] for n in nodes] == ["exec-1", "exec-2"]
    assert {n["runner_version"] for n in nodes} == {importlib.metadata.version("ansible-runner")}


def test_the_first_provision_ran_each_town_on_its_node(provisioned_lab: SmallLab) -> None:
    first = provisioned_lab.first_provision
    assert first is not None and first["ok"]
    plan = town_nodes(provisioned_lab.inventory, provisioned_lab.environment())
    ran = {n["node"]: n for n in first["nodes"]}
    assert {town: node for node, run in ran.items() for town in run["towns"]} == plan
    assert all(run["status"] == "successful" for run in ran.values())
    servers = provisioned_lab.environment().servers()
    assert {h.name for h in servers} <= set(first["recap"])  # the data centers' here, the towns' on the nodes


def test_through_the_nodes_the_same_changes_as_a_local_run_and_verify_passes(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    limit = ":".join(f"town_{t}" for t in lab.towns)
    _drift(lab)
    local = _json(municloud_cli("provision", "--json", "--local", "--limit", limit))
    _drift(lab)
    nodes = _json(municloud_cli("provision", "--json", "--limit", limit))
    assert local["ok"] and nodes["ok"], (local["failures"], nodes["failures"])
    assert local["nodes"] == [] and {n["node"] for n in nodes["nodes"]} == {"exec-1", "exec-2"}
    servers = _town_servers(lab)
    for host in servers:
        assert local["recap"][host]["changed"] > 0, host  # the drift was repaired
    assert {h: [local["recap"][h][f] for f in RECAP_FIELDS] for h in servers} == {
        h: [nodes["recap"][h][f] for f in RECAP_FIELDS] for h in servers
    }
    verified = municloud_cli("verify", "--json")
    assert verified.returncode == 0, [c for c in _json(verified)["checks"] if not c["passed"]]


def test_a_node_killed_during_a_run_is_named_with_its_towns_and_the_rerun_finishes(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    plan = town_nodes(lab.inventory, lab.environment())
    held: dict[str, list[str]] = {}
    for town, node in plan.items():
        held.setdefault(node, []).append(town)
    victim = max(held, key=lambda n: len(held[n]))
    survivor = next(n for n in held if n != victim)
    artifacts = lab.ops_state_dir / "ansible" / "lab" / "artifacts"
    before = set(artifacts.glob(f"*-{victim}"))
    _drift(lab)
    run = subprocess.Popen(
        [sys.executable, "-m", "municloud.cli.main", "provision", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        streaming = False
        while time.monotonic() < deadline and run.poll() is None and not streaming:
            jobs = set(artifacts.glob(f"*-{victim}")) - before
            streaming = any(any((job / "job_events").glob("*.json")) for job in jobs)
            time.sleep(0.2)
        assert streaming, "the victim's job never streamed an event"
        lab.lab.fault_stop_container(victim, kill=True)
        stdout, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    try:
        assert run.returncode == 1, stderr[-2000:]
        broken = json.loads(stdout)
        assert broken["lost"] == {victim: held[victim]}
        assert "was lost during the run, holding" in stderr
        rerun = municloud_cli("provision", "--json")
        finished = _json(rerun)
        assert rerun.returncode == 0 and finished["ok"], finished["failures"]
        assert victim in finished["moved"] and survivor in finished["moved"][victim]
        assert [n["node"] for n in finished["nodes"]] == [survivor]
        assert sorted(finished["nodes"][0]["towns"]) == sorted(lab.towns)
        for town in held[victim]:
            for host in (h.name for h in lab.environment().servers() if h.town == town):
                assert finished["recap"][host]["changed"] > 0, host  # its drift repaired on the survivor
    finally:
        lab.lab.heal()
    deadline = time.monotonic() + 120
    status = municloud_cli("nodes", "status", "--json")
    while status.returncode != 0 and time.monotonic() < deadline:  # the container boots again
        time.sleep(2)
        status = municloud_cli("nodes", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr  # the node back, ready again
