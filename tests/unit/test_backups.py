"""The database's backups without machines: the inventory's rules for them, what the playbooks are
given (repositories, schedules in Japan's time), the hosts' certificates for pgBackRest's TLS, the
alerts, and the state exporter the backup and database servers run."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from inventory.check import load_inventory
from inventory.environment import BindingFile, bind_environment, write_binding
from monitoring.rules import backup_alerts
from pki.authority import Authority
from pki.environment import backup_tls_hosts
from provisioning.ansible_inventory import ansible_inventory, repository_vars

from .conftest import assert_refused

METRICS_SCRIPT = Path(__file__).parents[2] / "playbooks/roles/pgbackrest/files/municloud_pgbackrest_metrics.py"


@pytest.fixture
def lab_binding(tmp_path: Path):
    path = tmp_path / "binding.yaml"
    write_binding(path, BindingFile(environment="lab", towns=["ina", "ogose"]))
    return bind_environment(load_inventory(), "lab", path)


def _backup(data: dict) -> dict:
    return data["database_backup"]


def test_every_site_with_a_database_has_one_backup_server(edit, inv_dir) -> None:
    edit("datacenters.yaml", lambda d: d["datacenters"][1]["server_tiers"].pop())
    assert_refused(inv_dir, "datacenters.yaml", "data center 'dc2'", "", "no backup server")


def test_a_site_keeps_one_repository(edit, inv_dir) -> None:
    edit("datacenters.yaml", lambda d: d["datacenters"][0]["server_tiers"][2].update(count=2))
    assert_refused(inv_dir, "datacenters.yaml", "data center 'dc1'", "", "more than one backup server")


def test_the_archive_alert_comes_after_the_archive_timeout(edit, inv_dir) -> None:
    edit("datacenters.yaml", lambda d: _backup(d).update(archive_timeout_s=900, max_archive_age_minutes=10))
    assert_refused(inv_dir, "datacenters.yaml", "", "database_backup", "must exceed archive_timeout_s")


def test_a_backup_time_is_a_time_of_day(edit, inv_dir) -> None:
    edit("datacenters.yaml", lambda d: _backup(d).update(at="25:00"))
    assert_refused(inv_dir, "datacenters.yaml", "", "database_backup.at", "is not a time of day: HH:MM")


def test_each_site_backs_up_into_its_own_repository_staggered_in_japans_time() -> None:
    inventory = load_inventory()
    assert repository_vars(inventory, "dc1") == {
        "pgbackrest_repo": 1,
        "pgbackrest_full_calendar": "Sun *-*-* 01:00:00 Asia/Tokyo",
        "pgbackrest_diff_calendar": "Mon,Tue,Wed,Thu,Fri,Sat *-*-* 01:00:00 Asia/Tokyo",
    }
    assert repository_vars(inventory, "dc2")["pgbackrest_full_calendar"] == "Sun *-*-* 03:00:00 Asia/Tokyo"


def test_a_start_staggered_past_midnight_moves_to_the_next_weekday() -> None:
    inventory = load_inventory()
    policy = inventory.datacenters_file.database_backup
    late = policy.model_copy(update={"at": "23:30"})
    object.__setattr__(inventory.datacenters_file, "database_backup", late)
    dc2 = repository_vars(inventory, "dc2")
    assert dc2["pgbackrest_full_calendar"] == "Mon *-*-* 01:30:00 Asia/Tokyo"
    assert dc2["pgbackrest_diff_calendar"] == "Tue,Wed,Thu,Fri,Sat,Sun *-*-* 01:30:00 Asia/Tokyo"


def test_the_playbooks_know_the_repositories_and_the_databases_they_back_up(lab_binding) -> None:
    data = ansible_inventory(load_inventory(), lab_binding)
    variables = data["all"]["vars"]
    plan = lab_binding.plan
    assert variables["pgbackrest_repos"] == [
        {"host": "dc1-backup1", "site": "dc1", "address": str(plan.dc_hosts["dc1-backup1"].ip), "index": 1},
        {"host": "dc2-backup1", "site": "dc2", "address": str(plan.dc_hosts["dc2-backup1"].ip), "index": 2},
    ]
    assert [h["host"] for h in variables["pgbackrest_db_hosts"]] == ["dc1-db1", "dc2-db1"]
    assert variables["pgbackrest_retention_full"] == 2 and variables["pgbackrest_archive_timeout_s"] == 60
    groups = data["all"]["children"]
    assert set(groups["role_backup"]["hosts"]) == {"dc1-backup1", "dc2-backup1"}
    hostvars = next(g["hosts"]["dc2-backup1"] for g in groups.values() if g["hosts"].get("dc2-backup1"))
    assert hostvars["pgbackrest_repo"] == 2


def test_backup_servers_take_addresses_after_every_existing_one(lab_binding) -> None:
    """Added after the app and database servers: no address those already had moved."""
    plan = lab_binding.plan
    order = sorted(plan.mgmt, key=lambda n: int(plan.mgmt[n].ip))
    servers = [n for n in order if n.startswith("dc")]
    assert servers[-2:] == ["dc1-backup1", "dc2-backup1"]
    assert int(plan.dc_hosts["dc1-backup1"].ip) > int(plan.dc_hosts["dc1-db1"].ip)


def test_database_and_backup_servers_get_a_certificate_for_their_name_and_addresses(tmp_path, lab_binding) -> None:
    authority = Authority("lab", tmp_path / "pki")
    authority.ensure_ca()
    hosts = backup_tls_hosts(lab_binding)
    assert set(hosts) == {"dc1-db1", "dc2-db1", "dc1-backup1", "dc2-backup1"}
    assert authority.ensure_hosts(hosts) == list(hosts)
    assert authority.ensure_hosts(hosts) == []  # usable ones are kept
    cert = x509.load_pem_x509_certificates(authority.host_path("dc1-backup1").read_bytes())[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["dc1-backup1"]  # pgBackRest 2.45 checks names only
    assert set(san.get_values_for_type(x509.IPAddress)) == set(hosts["dc1-backup1"])
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert os.stat(authority.host_path("dc1-backup1")).st_mode & 0o077 == 0
    moved = {**hosts, "dc1-backup1": [IPv4Address("198.18.99.9")]}
    assert authority.ensure_hosts(moved) == ["dc1-backup1"]  # a new address: a new certificate
    authority.issue_host("dc2-db1", hosts["dc2-db1"], days=10)  # usable, but within the expiry warning
    assert authority.ensure_hosts(hosts) == ["dc1-backup1", "dc2-db1"]  # renewed by the next provisioning
    assert authority.ensure_hosts(hosts) == []


def test_the_backup_alerts_take_their_limits_from_the_inventory() -> None:
    alerts = {a["alert"]: a for a in backup_alerts(load_inventory())}
    assert set(alerts) == {"MunicloudBackupRepositoryUnreadable", "MunicloudBackupTooOld", "MunicloudWalArchiveBehind"}
    assert f"> {26 * 3600}" in alerts["MunicloudBackupTooOld"]["expr"]
    assert alerts["MunicloudWalArchiveBehind"]["expr"] == "municloud_wal_oldest_ready_age_seconds > 600"


def _metrics_module():
    spec = importlib.util.spec_from_file_location("municloud_pgbackrest_metrics", METRICS_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_exporter_reads_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pgBackRest's info (a stand-in printing its JSON) and the archive folder's newest segment."""
    info = [
        {
            "status": {"code": 0},
            "backup": [
                {"type": "full", "timestamp": {"start": 100, "stop": 200}},
                {"type": "diff", "timestamp": {"start": 300, "stop": 400}},
            ],
        }
    ]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pgbackrest"
    fake.write_text(f"#!/bin/sh\ncat <<'X'\n{json.dumps(info)}\nX\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    archive = tmp_path / "repo" / "archive" / "main" / "15-1" / "0000000100000000"
    archive.mkdir(parents=True)
    segment = archive / "000000010000000000000005-5151c64464cd5a3025fa0877558b531bfac0ce46.zst"
    segment.write_bytes(b"x")
    os.utime(segment, (1000.0, 1000.0))
    (archive.parent / "00000002.history").write_bytes(b"h")  # not a segment
    out = tmp_path / "m.prom"
    assert (
        _metrics_module().main(
            ["--stanza=main", "--site=dc1", "--repo=1", f"--repo-path={tmp_path / 'repo'}", f"--out={out}"]
        )
        == 0
    )
    text = out.read_text()
    labels = 'repo="1",site="dc1",stanza="main"'
    assert f"municloud_pgbackrest_up{{{labels}}} 1.000" in text
    assert f'municloud_pgbackrest_last_backup_timestamp_seconds{{{labels},type="full"}} 200.000' in text
    assert f'municloud_pgbackrest_last_backup_timestamp_seconds{{{labels},type="any"}} 400.000' in text
    assert f"municloud_pgbackrest_backups{{{labels}}} 2.000" in text
    assert f"municloud_pgbackrest_last_archive_timestamp_seconds{{{labels}}} 1000.000" in text


def test_the_exporter_says_when_pgbackrest_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pgbackrest").write_text(
        "#!/bin/sh\necho 'ERROR: [103]: unable to find a valid repository' >&2\nexit 103\n"
    )
    (bin_dir / "pgbackrest").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    out = tmp_path / "m.prom"
    _metrics_module().main(["--stanza=main", "--site=dc2", "--repo=2", f"--repo-path={tmp_path}", f"--out={out}"])
    assert 'municloud_pgbackrest_up{repo="2",site="dc2",stanza="main"} 0.000' in out.read_text()


def test_the_exporter_counts_the_wal_waiting_on_a_database_server(tmp_path: Path) -> None:
    status = tmp_path / "pg_wal" / "archive_status"
    status.mkdir(parents=True)
    for name, age in (("000000010000000000000007.ready", 300), ("000000010000000000000008.ready", 10)):
        (status / name).write_bytes(b"")
        os.utime(status / name, (time.time() - age, time.time() - age))
    (status / "000000010000000000000006.done").write_bytes(b"")
    out = tmp_path / "m.prom"
    _metrics_module().main(["--stanza=main", "--site=dc1", f"--pg-path={tmp_path}", f"--out={out}"])
    text = out.read_text()
    assert 'municloud_wal_ready_segments{site="dc1"} 2.000' in text
    age = float(text.split('municloud_wal_oldest_ready_age_seconds{site="dc1"} ')[1].split()[0])
    assert 299 <= age <= 310


def test_the_exporter_wants_a_repository_or_a_data_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        _metrics_module().main(["--stanza=main", "--site=dc1", f"--out={tmp_path / 'm'}"])
    assert exit_.value.code == 2
