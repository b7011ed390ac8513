"""The shipped inventory is the seed's: 18 towns, 350,779 residents, 49 systems in the seed's classes."""

from collections import Counter

from inventory.check import check_inventory, load_inventory
from inventory.model.systems import SystemClass


def test_shipped_inventory_is_valid() -> None:
    result = check_inventory()
    assert result.problems == []
    assert result.skipped_rules == []


def test_towns_are_the_seeds_eighteen() -> None:
    inv = load_inventory()
    assert len(inv.towns) == 18
    assert sum(t.population for t in inv.towns) == 350_779
    assert inv.town("ina").name == "伊奈町" and inv.town("ina").population == 43_727
    assert inv.town("higashichichibu").name == "東秩父村" and inv.town("higashichichibu").kind == "village"
    assert inv.town("nagatoro").name == "長瀞町"  # the deck's 長瀬町 is an OCR slip
    assert [t.number for t in inv.towns] == list(range(1, 19))


def test_systems_are_the_seeds_49_in_their_classes() -> None:
    inv = load_inventory()
    assert [s.number for s in inv.systems] == list(range(1, 50))
    counts = Counter(s.system_class for s in inv.systems)
    assert counts == {
        SystemClass.REQUIRED: 23,
        SystemClass.OPTION: 5,
        SystemClass.VENDOR_OPTION: 18,
        SystemClass.OUT_OF_SCOPE: 3,
    }
    assert inv.system_by_id["resident-registry"].name == "住民基本台帳"


def test_cutover_matches_the_seed_sixteen_of_eighteen_live() -> None:
    inv = load_inventory()
    assert sum(1 for t in inv.towns if t.cutover.status == "live") == 16


def test_tenant_parameters_merge_package_defaults_with_the_towns_own() -> None:
    inv = load_inventory()
    ina = inv.town("ina")
    params = inv.tenant_parameters(ina)
    assert params["resident-registry"]["convenience_store_issuance"] is True  # the town's own
    assert params["resident-registry"]["kana_display"] == "全角"  # the package default
    assert "nursery-fees" not in params  # not subscribed by ina, and has no parameters anyway
