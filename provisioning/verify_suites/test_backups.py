"""The backups (pgBackRest), off the database servers: each site's backup server holds an encrypted
repository that the WAL archive reaches now (`pgbackrest check` forces a segment through) and whose
newest backup is younger than the schedule allows; its backups are scheduled; its state is exported.
The database servers archive to it and keep no backup of their own."""

from __future__ import annotations

import json
import time

import pytest


def _info(server, verify_plan) -> dict:
    backups = verify_plan["backups"]
    repo = backups["repositories"][server.name]
    out = server.host.check_output(
        "runuser -u postgres -- pgbackrest --stanza=%s --repo=%s --output=json info", backups["stanza"], str(repo)
    )
    return json.loads(out)[0]


@pytest.mark.roles("backup")
def test_the_tls_server_runs_on_the_data_address(server) -> None:
    service = server.host.service("pgbackrest")
    assert service.is_running and service.is_enabled
    assert server.host.socket(f"tcp://{server.spec['data']}:8432").is_listening


@pytest.mark.roles("backup")
def test_archiving_reaches_this_repository_now(server, verify_plan) -> None:
    """pgBackRest's own check: the primary switches WAL and the segment must arrive here."""
    result = server.host.run("runuser -u postgres -- pgbackrest --stanza=%s check", verify_plan["backups"]["stanza"])
    assert result.rc == 0, result.stderr or result.stdout


@pytest.mark.roles("backup")
def test_the_newest_backup_is_younger_than_the_schedule_allows(server, verify_plan) -> None:
    info = _info(server, verify_plan)
    stops = [b["timestamp"]["stop"] for b in info.get("backup", [])]
    assert stops, f"repository of {server.name} holds no backup"
    age_h = (time.time() - max(stops)) / 3600
    assert age_h < verify_plan["backups"]["max_backup_age_hours"], f"newest backup {age_h:.1f} h old"
    assert any(b["type"] == "full" for b in info["backup"]), "no full backup"


@pytest.mark.roles("backup")
def test_the_repository_is_encrypted(server, verify_plan) -> None:
    info = _info(server, verify_plan)
    assert info["cipher"] == "aes-256-cbc", info.get("cipher")
    config = server.host.file("/etc/pgbackrest.conf")
    assert config.user == "postgres" and config.mode == 0o600  # the passphrase is in it


@pytest.mark.roles("backup")
def test_full_and_differential_backups_are_scheduled(server) -> None:
    for kind in ("full", "diff"):
        timer = server.host.service(f"municloud-pgbackrest-{kind}.timer")
        assert timer.is_enabled and timer.is_running, kind


@pytest.mark.roles("backup", "db")
def test_the_backups_state_is_exported(server) -> None:
    text = server.host.file("/var/lib/prometheus/node-exporter/municloud_pgbackrest.prom").content_string
    if server.spec["role"] == "backup":
        assert "municloud_pgbackrest_up{" in text and "} 1.000" in text.split("municloud_pgbackrest_up{")[1]
        assert "municloud_pgbackrest_last_archive_timestamp_seconds{" in text
    else:
        assert "municloud_wal_ready_segments{" in text


@pytest.mark.roles("db")
def test_the_database_archives_its_wal(server) -> None:
    assert server.sql("SHOW archive_mode") == "on"
    assert "pgbackrest" in server.sql("SHOW archive_command")


@pytest.mark.roles("db")
def test_no_backup_is_kept_on_the_database_server(server) -> None:
    assert not server.host.file("/etc/systemd/system/municloud-pg-backup.timer").exists  # the old nightly copy
    assert server.host.check_output("find /var/lib/pgbackrest -mindepth 1 | head -1") == ""
