"""The lab topology derived from the inventory: the shape the lab issue asks for, valid, lab-range only."""

from __future__ import annotations

import pytest

from inventory.check import load_inventory
from inventory.environment import environment_plan
from lab.derive import derive_topology, profile_towns


@pytest.fixture(scope="module")
def inv():
    return load_inventory()


@pytest.mark.parametrize(("profile", "towns"), [("small", 3), ("full", 18)])
def test_profiles_have_every_router_link_and_host(inv, profile: str, towns: int) -> None:
    topo = derive_topology(inv, environment_plan(inv, "lab"), profile_towns(inv, profile))
    roles = [r.role for r in topo.routers]
    assert roles.count("pe") == 2 and roles.count("dc-edge") == 2 and roles.count("ce") == towns
    kinds = [link.kind for link in topo.links]
    assert kinds.count("circuit-primary") == towns and kinds.count("circuit-backup") == towns
    assert kinds.count("interconnect") == 1 and kinds.count("core") == 3
    # a client namespace per town segment (三層分離), and the two external stand-ins behind the DC
    assert len(topo.clients) == 3 * towns + 2
    assert {c.segment for c in topo.clients} == {"mynumber", "lgwan", "internet", "lgwan-gateway", "security-cloud"}
    assert {s.client for s in topo.standins} == {"lgwan-gateway", "security-cloud"}
    assert {c.role for c in topo.containers} >= {"app", "db", "probe"}


def test_each_town_has_its_primary_on_pe1_and_backup_on_pe2(inv) -> None:
    topo = derive_topology(inv, environment_plan(inv, "lab"), profile_towns(inv, "small"))
    for town in profile_towns(inv, "small"):
        primary, backup = topo.link(f"{town.id}-primary"), topo.link(f"{town.id}-backup")
        assert (primary.a.router, primary.b.router) == ("kddi-pe1", town.router.name)
        assert (backup.a.router, backup.b.router) == ("kddi-pe2", town.router.name)


def test_isolating_dc1_cuts_exactly_its_wan_link_and_the_interconnect(inv) -> None:
    topo = derive_topology(inv, environment_plan(inv, "lab"), profile_towns(inv, "small"))
    assert {link.name for link in topo.links_of_site("dc1")} == {"dc1-pe1", "dc1-dc2"}


def test_unknown_profile_is_refused(inv) -> None:
    with pytest.raises(KeyError, match="unknown lab profile"):
        profile_towns(inv, "huge")
