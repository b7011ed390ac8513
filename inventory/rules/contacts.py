"""The contacts (contacts.yaml) against the other files: every town of towns.yaml has its IT officers
and no unknown town has any, sample addresses sit on the reserved domain and real ones never do
(an alert sent there reaches no one), and the repeat intervals name the SLA's tiers, every one."""

from __future__ import annotations

from collections.abc import Iterator

from ..loader import LoadedFiles
from ..model.contacts import DEFAULT_REPEAT, RESERVED_DOMAINS, SAMPLE_DOMAIN, ContactsFile, Person, domain_of
from ..problems import Loc
from .registry import INVENTORY_RULES, Finding


@INVENTORY_RULES.rule("contacts", "towns", complete=("towns",))
def every_town_has_its_it_officers(files: LoadedFiles) -> Iterator[Finding]:
    contacts: ContactsFile = files.contacts  # type: ignore[assignment]
    known = {t.id for t in files.towns.towns}
    for town_id in contacts.towns:
        if town_id not in known:
            yield "contacts", ("towns", town_id), f"unknown town '{town_id}' (towns.yaml has no such id)"
    for town_id in sorted(known - set(contacts.towns)):
        yield (
            "contacts",
            ("towns",),
            f"no contacts for town '{town_id}': every town's alerts go to its IT officers (情報担当); "
            "give at least one with name and email",
        )


@INVENTORY_RULES.rule("contacts")
def addresses_are_samples_only_when_marked_so(files: LoadedFiles) -> Iterator[Finding]:
    contacts: ContactsFile = files.contacts  # type: ignore[assignment]
    for loc, person in _people(contacts):
        domain = domain_of(person.email)
        if contacts.sample and domain != SAMPLE_DOMAIN:
            yield (
                "contacts",
                (*loc, "email"),
                f"{person.email}: the file is marked `sample: true`, so its addresses must be on the reserved "
                f"domain .{SAMPLE_DOMAIN} (a real-looking sample may reach a stranger); or set sample: false",
            )
        elif not contacts.sample and domain in RESERVED_DOMAINS:
            yield (
                "contacts",
                (*loc, "email"),
                f"{person.email}: .{domain} is a reserved domain and reaches no one; the file is not marked "
                "`sample: true`, so give the real address",
            )


@INVENTORY_RULES.rule("contacts", "sla", complete=("sla",))
def repeat_intervals_name_every_tier(files: LoadedFiles) -> Iterator[Finding]:
    contacts: ContactsFile = files.contacts  # type: ignore[assignment]
    tiers = [t.id for t in files.sla.tiers]
    wanted = {*tiers, DEFAULT_REPEAT}
    for key in contacts.repeat_minutes:
        if key not in wanted:
            yield (
                "contacts",
                ("repeat_minutes", key),
                f"'{key}' is not a tier of sla.yaml ({', '.join(tiers)}) nor '{DEFAULT_REPEAT}'",
            )
    for key in sorted(wanted - set(contacts.repeat_minutes)):
        yield "contacts", ("repeat_minutes",), f"no repeat interval for '{key}': give every tier's and the default's"


def _people(contacts: ContactsFile) -> Iterator[tuple[Loc, Person]]:
    for key, party in contacts.parties().items():
        for i, person in enumerate(party.people):
            yield (key, "people", i), person
    for town_id, town in contacts.towns.items():
        for i, person in enumerate(town.it_officers):
            yield ("towns", town_id, "it_officers", i), person
