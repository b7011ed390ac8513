"""The packet filters the routers carry (network/filters.py) against the policy they come from: every
concrete flow passes the filters on its way, and the crossings 三層分離 forbids are refused there,
whatever the routing would do. Also the lab routers' filter program (lab/router_filter.py) and the FRR
driver's split of a push, which need no router."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from inventory.check import load_inventory
from inventory.environment import bind_environment
from inventory.flow_plan import concrete_flows
from lab import router_filter as rf
from network.drivers.frr import split_filter_commands
from network.intent import build_intents
from network.render import render


@pytest.fixture(scope="module")
def lab():
    inv = load_inventory()
    binding = bind_environment(inv, "lab", Path("/nonexistent"))
    intents = build_intents(inv, binding)
    flows = concrete_flows(inv.segmentation, binding.plan, inv.datacenters, binding.towns)
    return inv, binding.plan, intents, flows


def _filter(intents, router: str, interface: str):
    return next(f for f in intents[router].filters if f.interface == interface)


def _host(network, n: int = 10) -> IPv4Address:
    return network.network_address + n


def test_every_town_flow_passes_its_segment_filter_and_the_dc_edges(lab) -> None:
    inv, plan, intents, flows = lab
    dc_edges = {dc.edge_router.name: dc for dc in inv.datacenters}
    checked = 0
    for f in flows:
        if f.town is None:
            continue
        town = inv.town(f.town)
        ce = intents[town.router.name]
        entering = next(x for x in ce.filters if any(e.source == f.source for e in x.entries))
        src, dst = _host(f.source, 1 if f.source.prefixlen > 30 else 10), f.destination.network_address
        assert entering.allows(src, dst, f.protocol, f.port), (f.flow, entering.name)
        for name in dc_edges:
            edge = intents[name]
            if any(dst in n for n in edge.networks):  # this site announces it: the towns' traffic comes in here
                assert edge.filters[0].allows(src, dst, f.protocol, f.port), (f.flow, name)
        checked += 1
    assert checked >= 6 * len(plan.towns)


def test_a_town_hall_segment_reaches_no_other_layer_nor_anything_the_policy_does_not_name(lab) -> None:
    inv, plan, intents, _ = lab
    ina = plan.towns["ina"]
    ce = inv.town("ina").router.name
    mynumber = _filter(intents, ce, "clients")
    lgwan = _filter(intents, ce, "lgwan")
    internet = _filter(intents, ce, "internet")
    lan = _filter(intents, ce, "lan")
    pc = _host(ina.segments["mynumber"].network)
    # マイナンバー利用事務系: the service, nothing of the other layers, the LGWAN or the internet
    assert mynumber.allows(pc, plan.service_address, "tcp", 8080)
    for layer in ("lgwan", "internet"):
        assert not mynumber.allows(pc, _host(ina.segments[layer].network), "tcp", 445), layer
        assert not mynumber.allows(pc, _host(ina.segments[layer].network), "icmp", None), layer
    assert not mynumber.allows(pc, plan.externals["lgwan-gateway"], "tcp", 443)
    assert not mynumber.allows(pc, plan.externals["security-cloud"], "tcp", 8080)
    assert not mynumber.allows(pc, plan.service_address, "tcp", 22)
    # LGWAN接続系 and インターネット接続系: their own target only, never the core systems
    lg = _host(ina.segments["lgwan"].network)
    assert lgwan.allows(lg, plan.externals["lgwan-gateway"], "tcp", 443)
    assert not lgwan.allows(lg, plan.service_address, "tcp", 8080)
    assert not lgwan.allows(lg, plan.externals["security-cloud"], "tcp", 8080)
    net = _host(ina.segments["internet"].network)
    assert internet.allows(net, plan.externals["security-cloud"], "tcp", 8080)
    assert not internet.allows(net, plan.service_address, "tcp", 8080)
    assert not internet.allows(net, plan.externals["lgwan-gateway"], "tcp", 443)
    assert not internet.allows(net, _host(ina.segments["mynumber"].network), "tcp", 445)
    # a spoofed source (another segment's address sent from this one) is refused too
    assert not lgwan.allows(pc, plan.service_address, "tcp", 8080)
    # the LAN's servers: the service (the SLA probes), not the database nor the other segments
    server = ina.servers["ina-sv01"].ip
    assert lan.allows(server, plan.service_address, "tcp", 8080)
    assert not lan.allows(server, _host(ina.segments["mynumber"].network), "tcp", 445)


def test_the_dc_edges_let_in_the_carriers_sessions_and_the_towns_flows_only(lab) -> None:
    inv, plan, intents, _ = lab
    pc = _host(plan.towns["ina"].segments["mynumber"].network)
    for dc in inv.datacenters:
        edge = intents[dc.edge_router.name]
        (wan,) = edge.filters
        sessions = wan.entries[0]
        assert sessions.action == "permit" and sessions.protocol == "ip"
        assert wan.allows(sessions.source.network_address, sessions.destination.network_address, "tcp", 179)
        assert wan.allows(pc, plan.service_address, "tcp", 8080)
        for host in (*dc.server_names("app"), *dc.server_names("db")):
            address = plan.dc_hosts[host].ip
            for port in (22, 5432, 9100):
                assert not wan.allows(pc, address, "tcp", port), (dc.id, host, port)
        assert not wan.allows(pc, plan.service_address, "tcp", 5432)
        assert wan.entries[-1].action == "deny"


def test_the_lab_router_parses_back_what_the_frr_template_renders(lab) -> None:
    _, _, intents, _ = lab
    for name in ("ina-ce1", "dc1-edge"):
        text = render(intents[name])
        section = text[text.index("filter ") : text.rindex("end")]
        parsed = rf.apply_lines({}, section.splitlines())
        assert rf.render_text(parsed) == section
        script = rf.nft_script("mc_filter", parsed)
        assert script.startswith("table inet mc_filter {}\ndelete table inet mc_filter\n")
        assert script.count("hook input") == script.count("hook forward") == 1


def test_the_lab_router_applies_a_change_and_refuses_a_bad_line_whole() -> None:
    start = rf.apply_lines(
        {}, ["filter MC-LAN-IN in lan", " 10 permit tcp 198.18.1.0/26 198.18.0.1/32 eq 8080", " 20 deny ip any any"]
    )
    changed = rf.apply_lines(
        start,
        [
            "filter MC-LAN-IN in lan",
            " no 10 permit tcp 198.18.1.0/26 198.18.0.1/32 eq 8080",
            " 10 permit tcp 198.18.1.0/26 198.18.0.1/32 eq 8443",
            "exit",
        ],
    )
    assert changed["MC-LAN-IN"][1][10].endswith("eq 8443") and start["MC-LAN-IN"][1][10].endswith("eq 8080")
    # the `no` of the old entry after its replacement leaves the replacement (hier_config's order varies)
    again = rf.apply_lines(
        changed, ["filter MC-LAN-IN in lan", " no 10 permit tcp 198.18.1.0/26 198.18.0.1/32 eq 8080"]
    )
    assert again == changed
    assert rf.apply_lines(changed, ["no filter MC-LAN-IN in lan"]) == {}
    for bad in (
        [" 10 permit tcp any any"],  # outside a filter
        ["filter MC-LAN-IN in lan", " 10 permit tcp 198.18.1.0/26 198.18.0.1/32 eq 70000"],
        ["filter MC-LAN-IN in lan", " 10 allow tcp any any"],
        ["filter OTHER in lan"],  # one filter per interface
    ):
        with pytest.raises(rf.Invalid):
            rf.apply_lines(changed, bad)
    assert changed["MC-LAN-IN"][1][10].endswith("eq 8443")  # refused lines changed nothing


def test_nft_rules_say_what_the_entries_say() -> None:
    rule = rf._rule("20 permit icmp 198.18.130.0/24 198.18.0.1/32 echo")
    assert rule.startswith("ip saddr 198.18.130.0/24 ip daddr 198.18.0.1/32 icmp type echo-request accept")
    assert rf._rule("30 deny ip any any").startswith("meta nfproto ipv4 reject with icmpx type admin-prohibited")
    assert "tcp dport 443 accept" in rf._rule("10 permit tcp 198.18.128.0/23 198.18.0.177/32 eq 443")


def test_a_push_goes_to_vtysh_and_to_the_filter_each_its_own_lines() -> None:
    commands = [
        "interface clients",
        "description x",
        "exit",
        "filter MC-LAN-IN in lan",
        "no 10 permit tcp any any eq 1",
        "10 permit tcp any any eq 2",
        "exit",
        "no filter MC-OLD-IN in internet",
        "router bgp 65101",
        "exit",
    ]
    vtysh, filters = split_filter_commands(commands)
    assert vtysh == ["interface clients", "description x", "exit", "router bgp 65101", "exit"]
    assert filters == commands[3:8]
