"""The residents' records on the small lab: seeded by provisioning (a tenth of each town's
population), replicated to the standby, and exported in every layout from one snapshot per town,
record for record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import paramiko
import pytest

from handover.layouts import load_layouts
from handover.package import packages_dir
from pki.delivery_keys import delivery_key_path
from provisioning.residents import synthetic_dataset
from toolkit.settings import state_dir

from .conftest import SmallLab, municloud_cli

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def _sql(lab: SmallLab, server: str, query: str) -> str:
    result = lab.ssh(server, f'cd / && runuser -u postgres -- psql -XtA -d business -c "{query}"')
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_residents_are_seeded_on_the_primary_and_replicated(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    data = synthetic_dataset(lab.inventory, lab.environment())
    assert data is not None and data.scale == 0.1
    for town in data.towns:
        schema = "town_" + town.id.replace("-", "_")
        query = f"SELECT count(*) FROM {schema}.residents WHERE status = '住民'"
        assert _sql(lab, "dc1-db1", query) == str(town.residents), town.id
        assert _sql(lab, "dc2-db1", query) == str(town.residents), town.id  # the standby, by replication
        assert _sql(lab, "dc1-db1", f"SELECT dataset FROM {schema}.seed") == data.fingerprint
    # the hard cases are in the database as they were generated
    assert _sql(lab, "dc1-db1", "SELECT count(*) FROM town_ogose.residents WHERE family_name = '𠮷田'") != "0"


def test_the_export_writes_every_layout_record_for_record_and_the_package_verifies(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    exports = state_dir() / "handover" / "lab"
    result = municloud_cli("handover", "export", "--fiscal-year", "2026", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    layouts = load_layouts()
    expected_files = {f"{lay.id}-{rec.id}" for lay in layouts.values() for rec in lay.records}
    for town in report["towns"]:
        assert town["ok"], town
        folder = exports / "2026" / town["town"]
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["fiscal_year"] == 2026 and manifest["snapshot"]["lsn"]
        assert {f["file"].rsplit(".", 1)[0] for f in manifest["files"]} == expected_files
        schema = "town_" + town["town"].replace("-", "_")
        for f in manifest["files"]:
            path = folder / f["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
            table = next(r.source for lay in layouts.values() for r in lay.records if f"{lay.id}-{r.id}" == path.stem)
            where = " WHERE fiscal_year = 2026" if table == "resident_tax" else ""
            assert str(f["records"]) == _sql(lab, "dc1-db1", f"SELECT count(*) FROM {schema}.{table}{where}"), f
    # 越生町's 𠮷田 is written as such in the UTF-8 registry; the old records' half-width kana full-width
    registry = (exports / "2026" / "ogose" / "resident-registry-resident.csv").read_text(encoding="utf-8")
    assert "𠮷田" in registry and "ﾖｼﾀﾞ" not in registry
    # packaged for each town, encrypted to its key; the town's key opens and verifies its own
    packaged = municloud_cli("handover", "package", "--fiscal-year", "2026", "--json")
    assert packaged.returncode == 0, packaged.stdout[-2000:] + packaged.stderr[-2000:]
    packages = {p["town"]: Path(p["path"]) for p in json.loads(packaged.stdout)["packages"]}
    assert set(packages) == {t["town"] for t in report["towns"]}
    keys = state_dir() / "handover" / "keys" / "lab"
    verified = municloud_cli("handover", "verify", str(packages["ogose"]), "--key", str(keys / "ogose.key"), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["records"] == sum(
        f["records"] for f in json.loads((exports / "2026" / "ogose" / "manifest.json").read_text())["files"]
    )
    wrong = municloud_cli("handover", "verify", str(packages["ogose"]), "--key", str(keys / "ina.key"))
    assert wrong.returncode == 1 and "cannot be opened" in wrong.stderr
    # the round trip: the package loaded into a new schema equals the town's own tables, record for record
    args = ("handover", "import", str(packages["ogose"]), "--key", str(keys / "ogose.key"), "--into", "import_ogose")
    imported = municloud_cli(*args, "--json")
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]
    tables = {t["table"]: t for t in json.loads(imported.stdout)["tables"]}
    assert set(tables) == {"households", "residents", "movements", "resident_tax", "nhi_eligibility"}
    assert all(t["equal"] and t["source"] == t["imported"] > 0 for t in tables.values()), tables
    again = municloud_cli(*args)
    assert again.returncode == 2 and "exists already" in again.stderr
    _sql(lab, "dc1-db1", "DROP SCHEMA import_ogose CASCADE")


def test_delivery_over_sftp_resumes_checks_the_far_side_and_keeps_towns_apart(provisioned_lab: SmallLab) -> None:
    """Each town's package to its own server's chrooted SFTP account: delivered and verified; a cut
    transfer resumes from what is there; a file damaged on the far side is sent again; a package is
    never put on another town's server, and a town's key opens no other town's account."""
    lab = provisioned_lab
    assert municloud_cli("handover", "export", "--fiscal-year", "2026").returncode == 0
    assert municloud_cli("handover", "package", "--fiscal-year", "2026").returncode == 0
    first = _deliver()
    assert all(t["ok"] for t in first["towns"]), first
    incoming = "/srv/handover/incoming"
    listing = lab.ssh("ogose-sv01", f"ls {incoming}").stdout.split()
    assert "ogose-FY2026.tar.gz.age" in listing and not [n for n in listing if n.endswith(".part")]
    assert {f["action"] for t in _deliver()["towns"] for f in t["files"]} == {"already there"}
    # cut in the middle: half of ina's package as a .part, the whole one gone
    package = "ina-FY2026.tar.gz.age"
    size = int(lab.ssh("ina-sv01", f"stat -c %s {incoming}/{package}").stdout)
    cut = (
        f"head -c {size // 2} {incoming}/{package} > {incoming}/{package}.part && rm {incoming}/{package}"
        f" && chown handover: {incoming}/{package}.part"
    )
    assert lab.ssh("ina-sv01", cut).returncode == 0
    # and ogose's damaged on the far side
    damage = f"printf X | dd of={incoming}/ogose-FY2026.tar.gz.age bs=1 seek=100 conv=notrunc status=none"
    assert lab.ssh("ogose-sv01", damage).returncode == 0
    again = {t["town"]: {f["name"]: f["action"] for f in t["files"]} for t in _deliver()["towns"]}
    assert again["ina"][package] == f"resumed at {size // 2:,} bytes"
    assert again["ogose"]["ogose-FY2026.tar.gz.age"] == "sent again (differed)"
    whole = lab.ssh("ina-sv01", f"sha256sum {incoming}/{package}").stdout.split()[0]
    assert whole == (packages_dir("lab", 2026) / f"{package}.sha256").read_text().split()[0]
    # never on another town's server: a manifest that is not ina's stops ina's delivery before anything moves
    manifest = packages_dir("lab", 2026) / "ina-FY2026.manifest.json"
    saved = manifest.read_bytes()
    manifest.write_bytes((packages_dir("lab", 2026) / "ogose-FY2026.manifest.json").read_bytes())
    try:
        refused = municloud_cli("handover", "deliver", "--fiscal-year", "2026", "--town", "ina")
    finally:
        manifest.write_bytes(saved)
    assert refused.returncode == 2 and "not ina's" in refused.stderr
    # and ogose's key does not open ina's account
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # the test checks the key, not the host
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            str(lab.topo.container("ina-sv01").mgmt_address.ip),
            username="handover",
            key_filename=str(delivery_key_path("lab", "ogose")),
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )
    client.close()


def _deliver() -> dict:
    result = municloud_cli("handover", "deliver", "--fiscal-year", "2026", "--json")
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout)
