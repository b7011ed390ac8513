"""The address plan: deterministic, without overlaps, inside its supernet, stable when towns are added."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Network

import pytest

from inventory.address_plan import LAB_SUPERNET, plan_addresses, plan_problems
from inventory.check import load_inventory
from inventory.model.towns import Town


@pytest.fixture(scope="module")
def inv():
    return load_inventory()


def _plan(inv, env: str, towns=None):
    return plan_addresses(
        inv.environment(env),
        inv.addressing,
        towns if towns is not None else inv.towns,
        inv.datacenters,
        inv.wan.carrier.edges,
        inv.segmentation,
    )


@pytest.mark.parametrize("env", ["lab", "prod"])
def test_no_two_allocations_overlap(inv, env: str) -> None:
    plan = _plan(inv, env)
    leaves = list(plan.leaves())
    for (a_label, a), (b_label, b) in itertools.combinations(leaves, 2):
        assert not a.overlaps(b), f"{a_label} {a} overlaps {b_label} {b}"
    assert plan_problems(plan, inv.environment(env).kind) == []


@pytest.mark.parametrize("env", ["lab", "prod"])
def test_everything_is_inside_the_supernet(inv, env: str) -> None:
    plan = _plan(inv, env)
    for label, net in plan.leaves():
        assert net.subnet_of(plan.supernet), label
    for name, address in plan.mgmt.items():
        assert address.ip in plan.management, name


def test_the_lab_uses_only_the_benchmarking_range(inv) -> None:
    plan = _plan(inv, "lab")
    private = [IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    for label, net in plan.leaves():
        assert net.subnet_of(LAB_SUPERNET), label
        assert not any(net.overlaps(p) for p in private), label


def test_management_addresses_are_unique(inv) -> None:
    plan = _plan(inv, "lab")
    addresses = [a.ip for a in plan.mgmt.values()] + [plan.ops_address.ip]
    assert len(addresses) == len(set(addresses))


def test_circuit_ends_share_one_small_subnet(inv) -> None:
    plan = _plan(inv, "lab")
    for t in plan.towns.values():
        for link in (t.primary, t.backup):
            assert link.a.network == link.b.network and link.a.ip != link.b.ip
            assert link.network.prefixlen == inv.addressing.circuit_prefix
        assert t.lan_gateway.ip in t.lan and all(s.ip in t.lan for s in t.servers.values())
        assert t.loopback in t.block


def test_plan_is_deterministic(inv) -> None:
    assert _plan(inv, "lab") == _plan(inv, "lab")


def test_appending_a_town_moves_no_existing_address(inv) -> None:
    before = _plan(inv, "lab")
    ina = inv.town("ina")
    newcomer = ina.model_copy(
        update={
            "number": 19,
            "id": "ranzan2",
            "name": "新町",
            "romaji": "Shinmachi",
            "router": ina.router.model_copy(update={"name": "shin-ce1", "asn": 65119}),
            "servers": [ina.servers[0].model_copy(update={"name": "shin-sv01"})],
        }
    )
    after = _plan(inv, "lab", [*inv.towns, newcomer])
    for town_id, addresses in before.towns.items():
        assert after.towns[town_id] == addresses, town_id
    for name, address in before.mgmt.items():
        assert after.mgmt[name] == address, name
    assert after.core_links == before.core_links and after.service_prefix == before.service_prefix
    assert plan_problems(after, "lab") == []


def test_reordering_the_towns_file_moves_nothing(inv) -> None:
    forward = _plan(inv, "lab")
    backward = _plan(inv, "lab", list(reversed(inv.towns)))
    assert forward.towns == backward.towns and forward.mgmt == backward.mgmt


def test_town_block_follows_the_town_number(inv) -> None:
    plan = _plan(inv, "lab")
    towns: list[Town] = list(inv.towns)
    blocks = [plan.towns[t.id].block for t in sorted(towns, key=lambda t: t.number)]
    starts = [int(b.network_address) for b in blocks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert blocks[0].network_address == plan.regions["towns"].network_address


def test_an_allocation_swallowing_several_others_is_reported_against_each(inv) -> None:
    import dataclasses

    plan = _plan(inv, "lab")
    swallowing = dataclasses.replace(plan, dc_lans={**plan.dc_lans, "dc9": IPv4Network("198.18.128.0/22")})
    messages = [message for _, message in plan_problems(swallowing, "lab")]
    assert any("town ina LAN" in m and "dc9" in m for m in messages)
    assert any("town ina backup circuit" in m and "dc9" in m for m in messages)
