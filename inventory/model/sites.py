"""The vendor's data centers: DC1 primary, DC2 backup (datacenters.yaml)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import Asn, Hostname, InventoryModel, NonEmptyText, Slug, Vlan

# The roles of a data center's servers, in the order their addresses are given: the business
# systems' application servers, the database servers, and the backup servers that hold the database
# backups and WAL archive (pgBackRest's repository, off the database hosts).
ServerRole = Literal["app", "db", "backup"]
SERVER_ROLES: tuple[ServerRole, ...] = ("app", "db", "backup")


class ServerTier(InventoryModel):
    role: ServerRole
    count: Annotated[int, Field(ge=1)]
    vcpu: Annotated[int, Field(ge=1, le=256)]
    memory_gb: Annotated[int, Field(ge=1, le=4096)]
    disk_gb: Annotated[int, Field(ge=1)]


class DcNetwork(InventoryModel):
    id: Slug
    vlan: Vlan
    purpose: Literal["app", "db", "replication", "management", "backup"]
    # Part of the resident-data layer (個人番号利用事務系) of the three-layer separation (三層分離).
    resident_data: bool
    # Reaches the internet (インターネット接続系): never the same network as resident data.
    internet_facing: bool = False

    @model_validator(mode="after")
    def _one_layer(self) -> DcNetwork:
        if self.resident_data and self.internet_facing:
            raise ValueError("a network cannot be both resident_data and internet_facing (三層分離)")
        return self


class EdgeRouter(InventoryModel):
    name: Hostname
    asn: Asn


class DataCenter(InventoryModel):
    id: Slug
    name: NonEmptyText
    role: Literal["primary", "backup"]
    carrier_edge: Slug  # the carrier edge router this site hangs off
    edge_router: EdgeRouter
    server_tiers: Annotated[list[ServerTier], Field(min_length=1)]
    networks: list[DcNetwork]

    @model_validator(mode="after")
    def _backups_off_the_database_hosts(self) -> DataCenter:
        roles = {t.role for t in self.server_tiers}
        if sum(t.count for t in self.server_tiers if t.role == "backup") > 1:
            raise ValueError(f"{self.id} has more than one backup server: a site keeps one repository (count: 1)")
        if "db" in roles and "backup" not in roles:
            raise ValueError(
                f"{self.id} has database servers but no backup server (a server tier of role backup): the "
                "database's backups and WAL archive are kept off the database hosts"
            )
        return self

    def server_names(self, role: str) -> list[str]:
        """Host names of this site's servers of one role: dc1-app1, dc1-app2, dc1-db1, ..."""
        count = sum(t.count for t in self.server_tiers if t.role == role)
        return [f"{self.id}-{role}{i}" for i in range(1, count + 1)]

    def servers(self, roles: tuple[str, ...] = SERVER_ROLES) -> list[tuple[str, str]]:
        """(host name, role) of this site's servers of `roles`, role by role."""
        return [(name, role) for role in roles for name in self.server_names(role)]


def site_servers(datacenters: list[DataCenter]) -> list[tuple[str, str]]:
    """(host name, role) of every data-center server, in the order addresses are handed out: the
    application and database servers site by site, then the backup servers site by site (they came
    later: appending them moved no address the sites already had)."""
    first = [s for dc in datacenters for s in dc.servers(("app", "db"))]
    return first + [s for dc in datacenters for s in dc.servers(("backup",))]


class Replication(InventoryModel):
    mode: Literal["synchronous", "asynchronous"]
    slot_name: Slug = "dc2-standby"


Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class DatabaseBackup(InventoryModel):
    """The database's backups (pgBackRest): each site's backup server keeps a repository of its own,
    both fed the WAL archive continuously; a full backup once a week, a differential on the other
    days, at one time of day in Japan's time."""

    retention_full: Annotated[int, Field(ge=1, le=12)]  # full backups kept (with their differentials, WAL)
    full_weekday: Weekday
    at: str  # HH:MM, Japan's time
    # The second site's backups start this much later: the two repositories do not read the primary at once.
    stagger_minutes: Annotated[int, Field(ge=0, le=360)] = 120
    # A WAL segment is archived at least this often while there are writes: the most that is lost
    # when both database servers are (the restore point's distance from the last write).
    archive_timeout_s: Annotated[int, Field(ge=10, le=3600)]
    # Alerts: the newest backup older than this (a day's schedule and the backup's own length), the
    # newest archived WAL older than this.
    max_backup_age_hours: Annotated[int, Field(ge=25, le=24 * 8)]
    max_archive_age_minutes: Annotated[int, Field(ge=2, le=24 * 60)]

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f"'{value}' is not a time of day: HH:MM, 00:00 to 23:59 (Japan's time)")
        return value

    @model_validator(mode="after")
    def _archive_alert_after_timeout(self) -> DatabaseBackup:
        if self.max_archive_age_minutes * 60 <= self.archive_timeout_s:
            raise ValueError(
                f"max_archive_age_minutes ({self.max_archive_age_minutes}) must exceed archive_timeout_s "
                f"({self.archive_timeout_s} s): the alert would fire between two scheduled archives"
            )
        return self

    def differential_weekdays(self) -> list[Weekday]:
        return [d for d in WEEKDAYS if d != self.full_weekday]


class DatacentersFile(InventoryModel):
    datacenters: list[DataCenter]
    replication: Replication
    database_backup: DatabaseBackup
