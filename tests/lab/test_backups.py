"""The database's backups on the small lab, for real (pgBackRest, two backup servers, TLS): healthy
after provisioning, a restore refused outside what the repository holds, the archive held back and
then caught up when a backup server is cut off, and the data-destruction drill restoring one town
from the WAL archive while the others keep their service."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

from .conftest import SmallLab, municloud_cli

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

PSQL = "cd / && runuser -u postgres -- psql -XqAt -v ON_ERROR_STOP=1 -d business -c"


def _sql(lab: SmallLab, host: str, query: str) -> str:
    result = lab.ssh(host, f"{PSQL} {shlex.quote(query)}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_backups_and_the_wal_archive_are_healthy_after_provisioning(provisioned_lab: SmallLab) -> None:
    verified = municloud_cli("verify", "--json")
    checks = json.loads(verified.stdout)["checks"]
    expected = {
        "archiving reaches this repository now": {"dc1-backup1", "dc2-backup1"},
        "the newest backup is younger than the schedule allows": {"dc1-backup1", "dc2-backup1"},
        "the repository is encrypted": {"dc1-backup1", "dc2-backup1"},
        "the database archives its wal": {"dc1-db1", "dc2-db1"},
        "the backups state is exported": {"dc1-backup1", "dc2-backup1", "dc1-db1", "dc2-db1"},
    }
    for check, hosts in expected.items():
        found = {c["host"]: c for c in checks if c["check"] == check}
        assert set(found) == hosts, (check, sorted(found))
        assert all(c["passed"] for c in found.values()), [c for c in found.values() if not c["passed"]]


def test_a_restore_to_a_time_the_repository_does_not_hold_is_refused_with_its_range(
    provisioned_lab: SmallLab,
) -> None:
    before = _sql(provisioned_lab, "dc1-db1", "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace")
    result = municloud_cli("db", "restore", "--to", "2020-01-01T00:00:00", "--town", "ogose", "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "outside what repository 1 (dc1) holds" in result.stderr and " JST to " in result.stderr
    after = _sql(provisioned_lab, "dc1-db1", "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace")
    assert after == before  # nothing was changed


def test_a_backup_server_cut_off_holds_the_archive_back_and_it_catches_up(provisioned_lab: SmallLab) -> None:
    """While DC2's backup server is down, the primary keeps every WAL segment (archive_command fails
    until every repository has it) and the exporter counts them; back up, the repository gets each."""
    lab = provisioned_lab.lab
    lab.fault_stop_container("dc2-backup1")
    try:
        segments = []
        for _ in range(3):
            _sql(provisioned_lab, "dc1-db1", "INSERT INTO town_ogose.writes (site) VALUES ('archive-test')")
            segments.append(_sql(provisioned_lab, "dc1-db1", "SELECT pg_walfile_name(pg_switch_wal())"))
        time.sleep(5)
        exported = provisioned_lab.ssh(
            "dc1-db1",
            "systemctl start municloud-pgbackrest-metrics.service && "
            "cat /var/lib/prometheus/node-exporter/municloud_pgbackrest.prom",
        )
        waiting = float(exported.stdout.split('municloud_wal_ready_segments{site="dc1"} ')[1].split()[0])
        assert waiting >= 1, exported.stdout
    finally:
        lab.fault_start_container("dc2-backup1")
    deadline = time.time() + 180
    while True:
        listed = provisioned_lab.ssh("dc2-backup1", "find /var/lib/pgbackrest/archive/main -type f -printf '%f\\n'")
        missing = [s for s in segments if s not in listed.stdout]
        if not missing:
            break
        assert time.time() < deadline, f"repository 2 never got {missing}"
        time.sleep(2)
    ready = provisioned_lab.ssh(
        "dc1-db1", "ls /var/lib/postgresql/15/main/pg_wal/archive_status/ | grep -c ready || true"
    )
    assert ready.stdout.strip() in ("0", "1"), ready.stdout  # at most the segment being pushed now


def test_data_destruction_is_undone_for_one_town_and_no_other_town_is_out(
    provisioned_lab: SmallLab, tmp_path: Path
) -> None:
    town = "namegawa"
    residents = _sql(provisioned_lab, "dc1-db1", f"SELECT count(*) FROM town_{town}.residents")
    out = tmp_path / "drill"
    result = municloud_cli("drill", "run", "data-destruction", "--town", town, "--json", "--out", str(out))
    record = json.loads(result.stdout)
    assert record["verdict"] == "passed", record["observations"]
    rpo = record["rpo"]
    assert rpo["lost_span_ms"] < 60_000, rpo  # the damage back to the newest write kept
    assert rpo["restore"]["damaged_schema_kept_as"].startswith(f"town_{town}__damaged_")
    damage = next(s for s in record["steps"] if s["name"].startswith("the damage reached the standby"))
    assert damage["status"] == "succeeded", damage
    for other, ms in record["outage_ms_by_town"].items():
        if other != town:
            assert ms is None, (other, ms)
    assert record["outage_ms_by_town"][town] is not None
    for host in ("dc1-db1", "dc2-db1"):  # restored on the primary, replicated to the standby
        assert _sql(provisioned_lab, host, f"SELECT count(*) FROM town_{town}.residents") == residents
    status = municloud_cli("verify", "--json")
    assert status.returncode == 0, [c for c in json.loads(status.stdout)["checks"] if not c["passed"]]
    report = municloud_cli("drill", "report", str(out / "journal.json"), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    html = next((tmp_path / "report").glob("*.html")).read_text()
    assert "ポイントインタイム復旧" in html and f"town_{town}__damaged_" in html


def test_the_whole_cluster_is_restored_to_a_moment_and_the_standby_rebuilt(provisioned_lab: SmallLab) -> None:
    """Refused while the primary has no second copy of the present (its standby stopped); then
    restored in place, the writes after the moment counted as lost, the standby streaming again."""
    provisioned_lab.ssh("dc2-db1", "systemctl stop postgresql@15-main")
    try:
        refused = municloud_cli("db", "restore", "--to", "2030-01-01T00:00:00", "--yes")
        assert refused.returncode == 2 and "no streaming standby" in refused.stderr, refused.stderr
    finally:
        provisioned_lab.ssh("dc2-db1", "systemctl start postgresql@15-main")
    time.sleep(3)  # the standby reconnects
    _sql(provisioned_lab, "dc1-db1", "INSERT INTO town_ina.writes (site) VALUES ('kept')")
    time.sleep(1.5)
    moment = _sql(
        provisioned_lab, "dc1-db1", "SELECT to_char(now() AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    )
    time.sleep(1.5)
    _sql(provisioned_lab, "dc1-db1", "INSERT INTO town_ina.writes (site) VALUES ('lost'), ('lost')")
    result = municloud_cli("db", "restore", "--to", moment, "--yes", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["scope"] == "cluster" and summary["lost_writes"]["ina"] == 2, summary
    for host in ("dc1-db1", "dc2-db1"):
        sites = _sql(
            provisioned_lab, host, "SELECT string_agg(site, ',') FROM town_ina.writes WHERE site IN ('kept', 'lost')"
        )
        assert sites == "kept", (host, sites)
    assert _sql(provisioned_lab, "dc1-db1", "SELECT state FROM pg_stat_replication") == "streaming"
    # The rebuilt standby stays one: no restore target came with its copy (it would promote itself).
    assert (
        "recovery_target"
        not in provisioned_lab.ssh("dc1-db1", "cat /var/lib/postgresql/15/main/postgresql.auto.conf").stdout
    )
    _sql(provisioned_lab, "dc1-db1", "INSERT INTO town_ina.writes (site) VALUES ('after the restore')")
    time.sleep(3)
    assert _sql(provisioned_lab, "dc2-db1", "SELECT pg_is_in_recovery()") == "t"
    assert (
        _sql(provisioned_lab, "dc2-db1", "SELECT count(*) FROM town_ina.writes WHERE site = 'after the restore'") == "1"
    )
