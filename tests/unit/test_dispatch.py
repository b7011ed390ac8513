"""Where a playbook run's hosts go (provisioning/dispatch.py) and what an execution node's job holds
(provisioning/node_worker.py), without machines: the hosts found by Ansible's own pattern rules,
the data centers' servers here, each town's on its node, a node not ready replaced by a ready one,
and a node's job bundle free of the secrets, the residents' data and other towns' keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from municloud.scale import town_nodes
from provisioning.dispatch import Placement, lost_lines, matched_hosts, place, placement_lines
from provisioning.node_worker import DATA_CENTER_ONLY_VARIABLES, NodeUnavailable, write_bundle
from provisioning.runner import Events, EventSink, NodeRun, PlaybookResult, prepare_job

from .conftest import lab_binding_file

TOWNS = ["ina", "ogose", "namegawa"]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def binding(tmp_path: Path, state: Path):
    return bind_environment(load_inventory(), "lab", lab_binding_file(tmp_path, TOWNS))


def servers_of(binding, town: str | None) -> list[str]:
    return [h.name for h in binding.servers() if h.town == town]


def test_the_plan_gives_every_town_a_node_of_the_environment(binding) -> None:
    nodes = town_nodes(load_inventory(), binding)
    assert set(nodes) == set(TOWNS)
    assert set(nodes.values()) <= {n.name for n in binding.execution_nodes}
    assert len(set(nodes.values())) == 2  # the lab's two nodes both get regions


def test_ansible_decides_which_hosts_a_limit_covers(binding, state: Path) -> None:
    inventory = load_inventory()
    job = prepare_job(inventory, binding, "site.yml", limit="role_app:town_ogose")
    hosts = matched_hosts(job, state)
    dc_apps = [h.name for h in binding.servers() if h.role == "app"]
    ogose = [h.name for h in binding.hosts if h.town == "ogose"]  # its group holds its router too
    assert sorted(hosts) == sorted(dc_apps + ogose)
    job = prepare_job(inventory, binding, "site.yml", limit="servers:!site_dc2:!town_ina")
    hosts = matched_hosts(job, state)
    assert not set(hosts) & set(servers_of(binding, "ina")) and servers_of(binding, "namegawa")[0] in hosts


def test_data_centers_stay_here_and_towns_go_to_their_nodes(binding) -> None:
    nodes = {"ina": "exec-1", "ogose": "exec-2", "namegawa": "exec-2"}
    hosts = [h.name for h in binding.servers()]
    placement = place(binding, hosts, nodes, {"exec-1": None, "exec-2": None})
    assert sorted(placement.local) == sorted(servers_of(binding, None))
    assert placement.hosts["exec-1"] == servers_of(binding, "ina")
    assert sorted(placement.hosts["exec-2"]) == sorted(servers_of(binding, "ogose") + servers_of(binding, "namegawa"))
    assert placement.towns == {"exec-1": ["ina"], "exec-2": ["ogose", "namegawa"]} and not placement.moved


def test_a_node_not_ready_has_its_towns_run_on_a_ready_one_and_says_so(binding) -> None:
    nodes = {"ina": "exec-1", "ogose": "exec-2", "namegawa": "exec-2"}
    hosts = [h.name for h in binding.servers()]
    placement = place(binding, hosts, nodes, {"exec-1": None, "exec-2": "no SSH on 198.18.0.9:22"})
    assert set(placement.hosts) == {"exec-1"}
    assert placement.towns["exec-1"] == ["ina", "ogose", "namegawa"]
    assert "no SSH" in placement.moved["exec-2"] and "exec-1" in placement.moved["exec-2"]
    with pytest.raises(NodeUnavailable, match="no execution node is ready: exec-1: down; exec-2: down"):
        place(binding, hosts, nodes, {"exec-1": "down", "exec-2": "down"})
    only_dc = place(binding, servers_of(binding, None), nodes, {"exec-1": "down", "exec-2": "down"})
    assert only_dc == Placement(local=only_dc.local) and only_dc.local  # the data centers need no node


def test_a_nodes_job_holds_its_towns_identities_and_nothing_of_the_data_centers(binding, tmp_path: Path) -> None:
    inventory = load_inventory()
    job = prepare_job(inventory, binding, "site.yml")
    assert set(DATA_CENTER_ONLY_VARIABLES) & set(job.extravars)  # the local job has them
    bundle = tmp_path / "bundle"
    node_dir = Path("/var/lib/municloud-node/jobs/x-exec-2")
    variables = write_bundle(job, binding, ["ogose", "namegawa"], bundle, node_dir)  # type: ignore[arg-type]
    files = sorted(p.relative_to(bundle).as_posix() for p in (bundle / "files").rglob("*") if p.is_file())
    assert files == [
        "files/known_hosts",
        "files/pki/ca.pem",
        "files/pki/towns/namegawa.pem",
        "files/pki/towns/ogose.pem",
    ]
    assert not set(DATA_CENTER_ONLY_VARIABLES) & set(variables)
    assert variables["municloud_pki_dir"] == str(node_dir / "files" / "pki")
    assert set(variables.get("handover_delivery_keys", {})) <= {"ogose", "namegawa"}
    assert (bundle / "project" / "site.yml").is_file() and (bundle / "project" / "ansible.cfg").is_file()
    inventory_text = (bundle / "inventory" / "hosts.yml").read_text()
    assert f"UserKnownHostsFile={node_dir}/files/known_hosts" in inventory_text
    everything = "".join(p.read_text(errors="replace") for p in bundle.rglob("*") if p.is_file())
    assert "private" not in everything  # the SSH key travels in the stream's header, never as a file


def test_a_lost_node_is_named_with_its_towns(tmp_path: Path) -> None:
    sink = EventSink(Events())
    result = PlaybookResult("site.yml", "error", 255, 1.0, sink.recap, [], tmp_path)
    result.nodes = [
        NodeRun("exec-1", ["ina"], ["ina-sv01"], "successful", 20.0, tmp_path),
        NodeRun(
            "exec-2", ["ogose", "namegawa"], ["ogose-sv01"], "error", 9.0, tmp_path, "node exec-2 lost: ssh exit 255"
        ),
    ]
    result.moved = {}
    assert result.lost == {"exec-2": ["ogose", "namegawa"]} and not result.ok
    assert "holding ogose, namegawa" in lost_lines(result)[0]
    assert placement_lines(result)[0].startswith("exec-1: ina (1 server(s)) successful")


def test_the_events_handler_takes_the_recap_from_the_stats_event() -> None:
    seen: list[str] = []
    sink = EventSink(Events(play_started=lambda play, hosts: seen.append(play)), label="exec-1")
    sink({"event": "playbook_on_play_start", "event_data": {"play": "Baseline", "play_pattern": "servers"}})
    sink({"event": "runner_on_failed", "event_data": {"host": "a", "task": "t", "res": {"msg": "boom"}}})
    sink({"event": "playbook_on_stats", "event_data": {"ok": {"a": 3, "b": 4}, "failures": {"a": 1}, "changed": {}}})
    assert seen == ["Baseline @exec-1"]
    assert sink.recap["a"].failed == 1 and sink.recap["b"].ok == 4 and not sink.recap["a"].good
    assert sink.failures[0].message == "boom" and sink.failures[0].play == "Baseline @exec-1"
