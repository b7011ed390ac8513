"""The policy's flows made concrete on the address plan: what the filters and the isolation check
share. Every pair the issue names, from the shipped policy on the lab's plan."""

from __future__ import annotations

import pytest

from inventory.check import load_inventory
from inventory.environment import environment_plan
from inventory.flow_plan import allowed_by, concrete_flows


@pytest.fixture(scope="module")
def setup():
    inv = load_inventory()
    plan = environment_plan(inv, "lab")
    return plan, concrete_flows(inv.segmentation, plan, inv.datacenters)


def _allowed(setup, src, dst, port: int, protocol: str = "tcp") -> str | None:
    _, flows = setup
    hit = allowed_by(flows, src, dst, protocol, port)
    return hit.flow if hit else None


def test_the_core_systems_from_the_mynumber_segments_only_on_the_service_port(setup) -> None:
    plan, _ = setup
    ina = plan.towns["ina"]
    pc = ina.segments["mynumber"].network.network_address + 10
    assert _allowed(setup, pc, plan.service_address, 8080) == "core-business-systems"
    assert _allowed(setup, ina.servers["ina-sv01"].ip, plan.service_address, 8080) == "sla-probes"
    assert _allowed(setup, pc, plan.service_address, 22) is None
    for layer in ("lgwan", "internet"):
        other = ina.segments[layer].network.network_address + 10
        assert _allowed(setup, other, plan.service_address, 8080) is None, layer


def test_towns_reach_no_data_center_server_and_no_other_town(setup) -> None:
    plan, _ = setup
    pc = plan.towns["ina"].segments["mynumber"].network.network_address + 10
    for host, address in plan.dc_hosts.items():
        for port in (22, 5432, 8080, 9100):
            assert _allowed(setup, pc, address.ip, port) is None, (host, port)
    for layer in ("mynumber", "lgwan", "internet"):
        target = plan.towns["ogose"].segments[layer].network.network_address + 10
        assert _allowed(setup, pc, target, 8080) is None


def test_the_layers_reach_only_their_own_targets(setup) -> None:
    plan, _ = setup
    ina = plan.towns["ina"]
    lgwan_pc = ina.segments["lgwan"].network.network_address + 5
    web_pc = ina.segments["internet"].network.network_address + 5
    my_pc = ina.segments["mynumber"].network.network_address + 5
    gateway, proxy = plan.externals["lgwan-gateway"], plan.externals["security-cloud"]
    assert _allowed(setup, lgwan_pc, gateway, 443) == "lgwan-services"
    assert _allowed(setup, web_pc, proxy, 8080) == "internet-via-security-cloud"
    assert _allowed(setup, my_pc, gateway, 443) is None and _allowed(setup, my_pc, proxy, 8080) is None
    assert _allowed(setup, lgwan_pc, proxy, 8080) is None and _allowed(setup, web_pc, gateway, 443) is None


def test_the_database_from_the_app_servers_and_the_other_sites_database(setup) -> None:
    plan, _ = setup
    h = {name: a.ip for name, a in plan.dc_hosts.items()}
    assert _allowed(setup, h["dc1-app1"], h["dc1-db1"], 5432) == "application-database"
    assert _allowed(setup, h["dc2-app1"], h["dc1-db1"], 5432) == "application-database"  # DC2 writes to DC1
    assert _allowed(setup, h["dc1-db1"], h["dc2-db1"], 5432) == "database-replication"
    assert _allowed(setup, h["dc2-db1"], h["dc1-db1"], 5432) == "database-replication"  # after a failover
    assert _allowed(setup, h["dc1-app1"], h["dc1-db1"], 22) is None


def test_backups_between_the_database_and_the_backup_servers_of_both_sites(setup) -> None:
    plan, _ = setup
    h = {name: a.ip for name, a in plan.dc_hosts.items()}
    for db in ("dc1-db1", "dc2-db1"):
        for backup in ("dc1-backup1", "dc2-backup1"):
            assert _allowed(setup, h[db], h[backup], 8432) == "wal-archive"
            assert _allowed(setup, h[backup], h[db], 8432) == "database-backup"
            assert _allowed(setup, h[backup], h[db], 5432) is None  # pgBackRest's own protocol only
    assert _allowed(setup, h["dc1-app1"], h["dc1-backup1"], 8432) is None  # the app never reads a backup


def test_ssh_and_the_exporters_from_the_operations_center_only(setup) -> None:
    plan, _ = setup
    ops = plan.ops_address.ip
    for node in ("dc1-app1", "dc2-db1", "ina-sv01", "ina-ce1"):
        target = plan.mgmt[node].ip
        assert _allowed(setup, ops, target, 22) == "operations-ssh", node
        assert _allowed(setup, ops, target, 9100) == "operations-node-exporter", node
        other = plan.mgmt["ogose-sv01"].ip
        assert _allowed(setup, other, target, 22) is None, node


def test_every_town_has_its_flows_and_only_its_own(setup) -> None:
    plan, flows = setup
    for town, t in plan.towns.items():
        mine = [f for f in flows if f.town == town]
        assert {f.flow for f in mine} == {
            "core-business-systems",
            "sla-probes",
            "lgwan-services",
            "internet-via-security-cloud",
            "service-echo",
        }, town
        assert all(f.source.subnet_of(t.block) for f in mine), town


def test_the_command_lists_a_towns_flows_and_the_shared_ones(setup) -> None:
    import json

    from typer.testing import CliRunner

    from municloud.cli.main import app

    result = CliRunner().invoke(app, ["inventory", "flows", "--town", "ina", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {f["town"] for f in listed} == {"ina", None}
    # four flows from one source each, and the echo request from the town LAN and from 個人番号利用事務系
    assert sum(f["town"] == "ina" for f in listed) == 6
    assert CliRunner().invoke(app, ["inventory", "flows", "--town", "atlantis"]).exit_code == 2
