"""Who is told when something breaks (contacts.yaml): each town's IT officers (情報担当), the council's
secretariat (事務局), the vendor's on-call and the carrier's NOC, and how often a still-firing alert
is sent again. Monitoring routes every alert to them (monitoring/alerting.py).

The form of an address is checked here; that every town has its contacts, that sample addresses sit
on the reserved domain and that the repeat intervals name the SLA's tiers are rules
(inventory/rules/contacts.py), since they look at other files or at the whole."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .base import InventoryModel, NonEmptyText, Slug

# The usual practical form (RFC 5321's local part without quoting, a host name of at least two
# labels): what a mail relay accepts; a typo such as a missing "@" or a space is refused.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
RESERVED_DOMAINS = ("example", "test", "invalid", "localhost")  # RFC 2606: reach no one
SAMPLE_DOMAIN = "example"
DEFAULT_REPEAT = "default"  # repeat_minutes' key for alerts without a tier


def _email(value: str) -> str:
    if not _EMAIL.match(value) or ".." in value:
        raise ValueError(f"{value!r} is not an e-mail address (name@host.domain)")
    return value


Email = Annotated[str, AfterValidator(_email)]


def domain_of(email: str) -> str:
    """The top-level domain of an address, lower case ("example" for joho@ina.example)."""
    return email.rsplit(".", 1)[-1].lower()


class Person(InventoryModel):
    name: NonEmptyText
    email: Email


class Party(InventoryModel):
    """An organisation told as one: its name and the people who receive its messages."""

    name: NonEmptyText
    people: list[Person] = Field(min_length=1)


class TownContacts(InventoryModel):
    it_officers: list[Person] = Field(min_length=1)  # 情報担当


class ContactsFile(InventoryModel):
    sample: bool  # true: invented addresses on the reserved domain, to be replaced before production
    secretariat: Party  # 事務局
    vendor_oncall: Party
    carrier_noc: Party
    repeat_minutes: dict[Slug, Annotated[int, Field(ge=5, le=7 * 24 * 60)]]
    towns: dict[Slug, TownContacts]

    def parties(self) -> dict[str, Party]:
        """The parties told about the cloud as a whole, by their key in the file."""
        return {"secretariat": self.secretariat, "vendor_oncall": self.vendor_oncall, "carrier_noc": self.carrier_noc}
