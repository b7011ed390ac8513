"""三層分離 as data: the policy file's rules (every refused case names the file, the entry and the
rule, and changes nothing), the segments' sizes from the towns' counts, and the shipped policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from inventory.check import load_inventory
from inventory.environment import environment_plan
from inventory.model.layers import LAYERS
from inventory.town_segments import device_total, largest_remainder, segment_devices, segment_prefix

from .conftest import Edit, assert_refused, check, town

Case = tuple[str, Callable[[Any], None], str, str, str]


def _flow(flow_id: str, **change: object) -> Callable[[Any], None]:
    def apply(data: Any) -> None:
        next(f for f in data["flows"] if f["id"] == flow_id).update(change)

    return apply


def _add_flow(**flow: object) -> Callable[[Any], None]:
    return lambda data: data["flows"].append({"id": "x", "name": "試験", **flow})


CASES: dict[str, Case] = {
    "a guideline model not built yet": (
        "segmentation.yaml",
        lambda d: d.update(guideline_model="beta"),
        "",
        "guideline_model",
        "the guideline's model β ('beta') is not built yet",
    ),
    "an unknown guideline model": (
        "segmentation.yaml",
        lambda d: d.update(guideline_model="gamma"),
        "",
        "guideline_model",
        "'alpha', 'alpha-prime', 'beta' or 'beta-prime'",
    ),
    "a default other than deny": (
        "segmentation.yaml",
        lambda d: d.update(default_action="allow"),
        "",
        "default_action",
        "'deny'",
    ),
    "shares that do not add up": (
        "segmentation.yaml",
        lambda d: d["town_segments"][0]["share"].update(pcs=45),
        "",
        "",
        "the shares of pcs must add up to 100% across the segments (mynumber 45%, lgwan 50%, internet 10%)",
    ),
    "resident data outside the mynumber segment": (
        "segmentation.yaml",
        lambda d: d["town_segments"][1].update(resident_data=True),
        "segment 'lgwan'",
        "",
        "resident_data is true for the mynumber segment and for no other",
    ),
    "a town's own counts that do not add up": (
        "segmentation.yaml",
        lambda d: d["towns"].update(
            higashichichibu={
                "mynumber": {"pcs": 10, "printers": 2, "multifunction": 1, "scanners": 1},
                "lgwan": {"pcs": 14, "printers": 1, "multifunction": 1, "scanners": 0},
                "internet": {"pcs": 4, "printers": 1, "multifunction": 0, "scanners": 0},
            }
        ),
        "",
        "towns.higashichichibu",
        "its segments hold 28 pcs but towns.yaml gives 東秩父村 30: they must add up",
    ),
    "a town's own counts for an unknown town": (
        "segmentation.yaml",
        lambda d: d["towns"].update(atlantis={layer: {"pcs": 1, "printers": 0} for layer in LAYERS}),
        "",
        "towns.atlantis",
        "unknown town 'atlantis'",
    ),
    "an endpoint that is no endpoint": (
        "segmentation.yaml",
        _flow("sla-probes", **{"from": "town-lan"}),
        "flow 'sla-probes'",
        "from",
        "'town-lan' is not an endpoint",
    ),
    "an unknown segment": (
        "segmentation.yaml",
        _flow("sla-probes", **{"from": "town:servers"}),
        "flow 'sla-probes'",
        "from[0]",
        "town:servers: no town 'servers' (known: internet, lan, lgwan, mynumber)",
    ),
    "an unknown service": (
        "segmentation.yaml",
        _flow("sla-probes", service="http"),
        "flow 'sla-probes'",
        "service",
        "unknown service 'http'",
    ),
    "a duplicate flow id": (
        "segmentation.yaml",
        lambda d: d["flows"].append(dict(d["flows"][0])),
        "flow 'core-business-systems'",
        "id",
        "flow id 'core-business-systems' is already used by flows #1",
    ),
    "resident data to the internet": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:mynumber", "to": "external:security-cloud", "service": "web-proxy"}),
        "flow 'x'",
        "",
        "layers apart: town:mynumber -> external:security-cloud on web-proxy (tcp/8080) would connect the "
        "マイナンバー利用事務系 with the インターネット接続系",
    ),
    "resident data to the LGWAN segment": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:mynumber", "to": "town:lgwan", "service": "lgwan-https"}),
        "flow 'x'",
        "",
        "would connect the マイナンバー利用事務系 with the LGWAN接続系",
    ),
    "the internet into the LGWAN segment": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:internet", "to": "town:lgwan", "service": "lgwan-https"}),
        "flow 'x'",
        "",
        "would connect the インターネット接続系 and the LGWAN接続系 directly",
    ),
    "one town to another": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:lgwan", "to": "other-town:lgwan", "service": "lgwan-https"}),
        "flow 'x'",
        "",
        "towns apart: town:lgwan -> other-town:lgwan on lgwan-https (tcp/443) would let one town reach another",
    ),
    "the core systems from the LGWAN segment": (
        "segmentation.yaml",
        _flow("core-business-systems", **{"from": ["town:mynumber", "town:lgwan"]}),
        "flow 'core-business-systems'",
        "",
        "core business systems from the マイナンバー利用事務系 only: town:lgwan -> service",
    ),
    "the core systems on another port": (
        "segmentation.yaml",
        _flow("core-business-systems", service="ssh"),
        "flow 'core-business-systems'",
        "",
        "core business systems on the service's port only",
    ),
    "a town straight to an application server": (
        "segmentation.yaml",
        _flow("core-business-systems", to="dc:app"),
        "flow 'core-business-systems'",
        "",
        "towns reach the data centers on the service address only: town:mynumber -> dc:app",
    ),
    "the database from a town": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:mynumber", "to": "dc:db", "service": "postgresql"}),
        "flow 'x'",
        "",
        "the database from the application servers and the other site's database only",
    ),
    "SSH from a town": (
        "segmentation.yaml",
        _flow("operations-ssh", **{"from": ["ops", "town:lan"]}),
        "flow 'operations-ssh'",
        "",
        "management from the operations center only: town:lan -> management on ssh (tcp/22)",
    ),
    "business traffic on the management network": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:mynumber", "to": "management", "service": "business-systems"}),
        "flow 'x'",
        "",
        "the operations center and the management network carry management only",
    ),
    "the operations center as a bridge from the internet": (
        "segmentation.yaml",
        _add_flow(**{"from": "town:internet", "to": "ops", "service": "web-proxy"}),
        "flow 'x'",
        "",
        "the operations center and the management network carry management only: town:internet -> ops",
    ),
    "the operations center browsing through the security cloud": (
        "segmentation.yaml",
        _add_flow(**{"from": "ops", "to": "external:security-cloud", "service": "web-proxy"}),
        "flow 'x'",
        "",
        "carry management only: ops -> external:security-cloud",
    ),
    "a data center opening a connection into a town hall": (
        "segmentation.yaml",
        _add_flow(**{"from": "service", "to": "town:mynumber", "service": "business-systems"}),
        "flow 'x'",
        "",
        "a town hall is entered from outside only for management: service -> town:mynumber",
    ),
    "the app servers reading the backups": (
        "segmentation.yaml",
        _add_flow(**{"from": "dc:app", "to": "dc:backup", "service": "pgbackrest"}),
        "flow 'x'",
        "",
        "backups between the database servers and the backup servers only: dc:app -> dc:backup",
    ),
    "the backup servers on the database's own port": (
        "segmentation.yaml",
        _add_flow(**{"from": "dc:backup", "to": "dc:db", "service": "postgresql"}),
        "flow 'x'",
        "",
        "the database from the application servers and the other site's database only: dc:backup -> dc:db",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_policy_that_breaks_the_separation_is_refused_naming_file_entry_and_rule(
    name: str, edit: Edit, inv_dir
) -> None:
    file, change, entry, field, rule = CASES[name]
    before = (inv_dir / "towns.yaml").read_text(encoding="utf-8")
    edit(file, change)
    assert_refused(inv_dir, file, entry, field, rule)
    assert (inv_dir / "towns.yaml").read_text(encoding="utf-8") == before  # a check changes nothing


def test_the_shipped_policy_is_alpha_and_every_flow_passes_the_rules() -> None:
    inv = load_inventory()
    assert inv.segmentation.guideline_model == "alpha" and inv.segmentation.default_action == "deny"
    assert {f.id for f in inv.segmentation.flows} >= {"core-business-systems", "sla-probes", "database-replication"}


def test_a_towns_own_counts_replace_the_shares(edit: Edit, inv_dir) -> None:
    own = {
        "mynumber": {"pcs": 12, "printers": 2, "multifunction": 1, "scanners": 1},
        "lgwan": {"pcs": 14, "printers": 1, "multifunction": 1, "scanners": 0},
        "internet": {"pcs": 4, "printers": 1, "multifunction": 0, "scanners": 0},
    }
    edit("segmentation.yaml", lambda d: d["towns"].update(higashichichibu=own))
    result = check(inv_dir)
    assert result.ok, "\n".join(map(str, result.problems))
    devices = segment_devices(result.inventory.town("higashichichibu"), result.inventory.segmentation)
    assert {layer: devices[layer].pcs for layer in LAYERS} == {"mynumber": 12, "lgwan": 14, "internet": 4}


def test_every_town_fits_with_its_devices_in_the_right_segments() -> None:
    """伊奈町's 364 PCs did not fit the /26 the plan gave every client segment; now each layer's
    segment holds its devices with the headroom, and the three hold all of the town's devices."""
    inv = load_inventory()
    for env in ("lab", "prod"):
        plan = environment_plan(inv, env)
        for t in inv.towns:
            split = segment_devices(t, inv.segmentation)
            assert sum(device_total(c) for c in split.values()) == device_total(t.clients), t.id
            for layer in LAYERS:
                segment = plan.towns[t.id].segments[layer]
                assert segment.network.subnet_of(plan.towns[t.id].block)
                room = segment.network.num_addresses - 3  # network, broadcast, gateway
                assert room >= device_total(split[layer]) * 1.25, (t.id, layer)
    ina = environment_plan(inv, "lab").towns["ina"]
    assert ina.segments["lgwan"].network.prefixlen == 23 and ina.segments["mynumber"].network.prefixlen == 24


def test_largest_remainder_adds_up_and_gives_leftovers_to_the_largest_remainders() -> None:
    assert largest_remainder(364, {"mynumber": 40, "lgwan": 50, "internet": 10}) == {
        "mynumber": 146,  # 145.6
        "lgwan": 182,
        "internet": 36,  # 36.4
    }
    assert largest_remainder(1, {"mynumber": 40, "lgwan": 50, "internet": 10}) == {
        "mynumber": 0,
        "lgwan": 1,
        "internet": 0,
    }
    for total in range(0, 50):
        assert sum(largest_remainder(total, {"mynumber": 33, "lgwan": 33, "internet": 34}).values()) == total


@pytest.mark.parametrize(
    ("devices", "headroom", "prefix"), [(0, 25, 28), (10, 25, 28), (11, 25, 27), (204, 25, 23), (165, 25, 24)]
)
def test_a_segment_holds_its_devices_the_headroom_and_its_three_reserved_addresses(devices, headroom, prefix) -> None:
    assert segment_prefix(devices, headroom) == prefix
    assert 2 ** (32 - prefix) >= -(-devices * (100 + headroom) // 100) + 3


def test_the_services_ports_are_the_playbooks() -> None:
    """One port per service: the policy's are the ones the playbooks configure the servers with."""
    inv = load_inventory()
    ports = {s.id: s.port for s in inv.segmentation.services}
    all_vars = yaml.safe_load((Path(__file__).parents[2] / "playbooks" / "group_vars" / "all.yml").read_text())
    assert ports["business-systems"] == all_vars["business_app_port"]
    assert ports["node-exporter"] == all_vars["node_exporter_port"]
    assert ports["probe-exporter"] == all_vars["probe_exporter_port"]
    assert ports["pgbackrest"] == all_vars["pgbackrest_tls_port"]


def test_more_devices_move_no_lan_circuit_or_loopback(edit: Edit, inv_dir) -> None:
    """The carrier configures the circuits' PE side and the servers have fixed addresses: a town whose
    devices grow past a power of two has its layer segments re-planned, never those."""
    before = environment_plan(check(inv_dir).inventory, "prod").towns["ogose"]
    edit("towns.yaml", lambda d: town(d, "ogose")["clients"].update(pcs=180))
    after = environment_plan(check(inv_dir).inventory, "prod").towns["ogose"]
    assert after.segments["mynumber"].network != before.segments["mynumber"].network  # it did grow
    assert (after.lan, after.servers, after.primary, after.backup, after.loopback) == (
        before.lan,
        before.servers,
        before.primary,
        before.backup,
        before.loopback,
    )
