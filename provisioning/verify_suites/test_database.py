"""The database pair: the primary where the record says, the other a streaming standby over the
DC interconnect through the agreed slot, every tenant's schema present (on the standby too, by
replication), the lab's synthetic residents in every tenant (on the standby too). Their backups:
test_backups.py."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.roles("db")


def test_postgresql_runs(server) -> None:
    service = server.host.service("postgresql@15-main")
    assert service.is_running and service.is_enabled
    assert server.host.socket(f"tcp://{server.spec['data']}:5432").is_listening


def test_role_is_as_recorded(server, verify_plan) -> None:
    in_recovery = server.sql("SELECT pg_is_in_recovery()") == "t"
    expected_standby = server.spec["site"] != verify_plan["db_primary_site"]
    assert in_recovery == expected_standby, (
        f"in recovery: {in_recovery}, primary site: {verify_plan['db_primary_site']}"
    )


def test_replication_is_streaming(server, verify_plan) -> None:
    if server.spec["site"] == verify_plan["db_primary_site"]:
        rows = server.sql("SELECT application_name || ':' || state FROM pg_stat_replication")
        assert f"{verify_plan['replication_slot']}:streaming" in rows.split(), f"pg_stat_replication: {rows!r}"
        slot = server.sql(
            f"SELECT active FROM pg_replication_slots WHERE slot_name = '{verify_plan['replication_slot']}'"
        )
        assert slot == "t", "the standby's slot is not in use"
    else:
        assert server.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming"


def test_every_tenant_has_its_schema(server, verify_plan) -> None:
    schemas = set(server.sql("SELECT nspname FROM pg_namespace", verify_plan["database"]).split())
    missing = [t for t in verify_plan["tenants"] if "town_" + t.replace("-", "_") not in schemas]
    assert not missing, f"no schema for {missing}"


def test_every_tenant_holds_its_residents(server, verify_plan) -> None:
    """The lab's synthetic population: each town's current residents and the dataset, on the primary
    and (by replication) on the standby."""
    residents = verify_plan["residents"]
    if not residents:
        pytest.skip("this environment holds no synthetic residents")
    query = " UNION ALL ".join(
        f"SELECT '{town}', (SELECT count(*) FROM {schema}.residents WHERE status = '住民'), "
        f"(SELECT string_agg(dataset, ',') FROM {schema}.seed)"
        for town, schema in ((t, "town_" + t.replace("-", "_")) for t in residents["towns"])
    )
    found = {
        line.split("|")[0]: line.split("|")[1:] for line in server.sql(query, verify_plan["database"]).splitlines()
    }
    wrong = {
        town: found.get(town)
        for town, count in residents["towns"].items()
        if found.get(town) != [str(count), residents["dataset"]]
    }
    assert not wrong, f"not the dataset {residents['dataset']} (town: [residents, dataset]): {wrong}"
