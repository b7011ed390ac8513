"""contacts.yaml: who is told when something breaks. Every town has its IT officers, an address is
an address, sample addresses sit on the reserved domain (and only when the file says it holds
samples), the repeat intervals name every SLA tier; each refusal names the file, the entry and the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inventory.check import load_inventory

from .conftest import Edit, assert_refused


def _officer(town: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: d["towns"][town]["it_officers"][0]


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str, str, str]] = {
    "a town without contacts": (
        lambda d: d["towns"].pop("ogose"),
        "",
        "towns",
        "no contacts for town 'ogose'",
    ),
    "contacts for a town the inventory does not have": (
        lambda d: d["towns"].__setitem__("atlantis", {"it_officers": [{"name": "x", "email": "a@atlantis.example"}]}),
        "",
        "towns.atlantis",
        "unknown town 'atlantis'",
    ),
    "a town whose officers list is empty": (
        lambda d: d["towns"]["ina"].__setitem__("it_officers", []),
        "",
        "towns.ina.it_officers",
        "at least 1 item",
    ),
    "an e-mail that is not one": (
        lambda d: _officer("ina")(d).__setitem__("email", "joho.ina.example"),
        "towns.ina.it_officers '伊奈町 情報担当（サンプル）'",
        "email",
        "is not an e-mail address",
    ),
    "a real-looking address in a file of samples": (
        lambda d: _officer("ina")(d).__setitem__("email", "joho@town.ina.lg.jp"),
        "towns.ina.it_officers '伊奈町 情報担当（サンプル）'",
        "email",
        "must be on the reserved domain .example",
    ),
    "sample addresses in a file that says they are real": (
        lambda d: d.__setitem__("sample", False),
        "secretariat.people '事務局 担当者（サンプル）'",
        "email",
        ".example is a reserved domain and reaches no one",
    ),
    "a tier without a repeat interval": (
        lambda d: d["repeat_minutes"].pop("critical"),
        "",
        "repeat_minutes",
        "no repeat interval for 'critical'",
    ),
    "a repeat interval for a tier the SLA does not have": (
        lambda d: d["repeat_minutes"].__setitem__("gold", 30),
        "",
        "repeat_minutes.gold",
        "'gold' is not a tier of sla.yaml",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_contacts_are_refused_naming_file_entry_and_rule(name: str, edit: Edit, inv_dir) -> None:
    change, entry, field, rule = CASES[name]
    edit("contacts.yaml", change)
    before = (inv_dir / "contacts.yaml").read_text(encoding="utf-8")
    assert_refused(inv_dir, "contacts.yaml", entry, field, rule)
    assert (inv_dir / "contacts.yaml").read_text(encoding="utf-8") == before  # a check changes nothing


def test_the_shipped_contacts_are_samples_for_every_town() -> None:
    inv = load_inventory()
    assert inv.contacts.sample
    assert set(inv.contacts.towns) == {t.id for t in inv.towns}
    addresses = [p.email for party in inv.contacts.parties().values() for p in party.people]
    addresses += [p.email for c in inv.contacts.towns.values() for p in c.it_officers]
    assert all(a.endswith(".example") for a in addresses)
