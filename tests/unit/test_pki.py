"""The environment's PKI: the CA once, a client certificate per town naming it, the service's, and
every file that cannot be used refused with the file and the reason before anything uses it."""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import stat
from ipaddress import IPv4Address

import pytest
from cryptography import x509
from typer.testing import CliRunner

from municloud.cli.main import app
from pki.authority import Authority, PkiError, town_of

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def authority(tmp_path) -> Authority:
    a = Authority("lab", tmp_path / "pki" / "lab")
    assert a.ensure_ca(now=NOW) is True
    return a


def test_the_ca_is_created_once_and_its_key_is_readable_by_root_only(authority: Authority) -> None:
    first = authority.ca_cert_path.read_bytes()
    assert authority.ensure_ca(now=NOW) is False and authority.ca_cert_path.read_bytes() == first
    assert stat.S_IMODE(authority.ca_key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(authority.root.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(first)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_town_certificate_names_the_town_and_is_one_private_file(authority: Authority) -> None:
    path = authority.issue_town("ina", "伊奈町", days=30, now=NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert authority.town_identity("ina", now=NOW) == path
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    assert town_of(cert) == "ina"
    assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "伊奈町"
    # Python's ssl takes the one file as key and chain: what the probes and drills load
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(authority.ca_cert_path))
    context.load_cert_chain(str(path))


def test_a_rotation_gives_a_new_key_and_the_old_certificate_stays_valid(authority: Authority) -> None:
    old = authority.issue_town("ogose", "越生町", now=NOW).read_bytes()
    new_path = authority.issue_town("ogose", "越生町", now=NOW)
    new = new_path.read_bytes()
    assert new != old
    old_cert, new_cert = x509.load_pem_x509_certificate(old), x509.load_pem_x509_certificate(new)
    assert old_cert.public_key().public_numbers() != new_cert.public_key().public_numbers()
    ca = x509.load_pem_x509_certificate(authority.ca_cert_path.read_bytes())
    old_cert.verify_directly_issued_by(ca)  # the service trusts the CA: both work while clients move over
    assert not list(new_path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("missing", "missing: `municloud pki issue` creates it"),
        ("garbage", "holds no PEM certificate"),
        ("other-town", "the certificate names town 'ogose', not 'ina'"),
        ("expired", "expired on 2027-01-03"),
        ("foreign-ca", "not signed by this environment's CA"),
        ("world-readable", "readable by others (mode 644)"),
        ("key-of-another", "its private key does not belong to its certificate"),
    ],
)
def test_an_unusable_certificate_is_refused_with_the_file_and_the_reason(
    authority: Authority, tmp_path, damage: str, reason: str
) -> None:
    path = authority.town_path("ina")
    if damage != "missing":
        authority.issue_town("ina", "伊奈町", days=30, now=NOW)
    if damage == "garbage":
        path.write_text("not a certificate\n")
    elif damage == "other-town":
        path.write_bytes(authority.issue_town("ogose", "越生町", now=NOW).read_bytes())
    elif damage == "foreign-ca":
        other = Authority("prod", tmp_path / "pki" / "prod")
        other.ensure_ca(now=NOW)
        path.write_bytes(other.issue_town("ina", "伊奈町", now=NOW).read_bytes())
    elif damage == "world-readable":
        os.chmod(path, 0o644)
    elif damage == "key-of-another":
        mine = path.read_bytes()
        theirs = authority.issue_town("ogose", "越生町", now=NOW).read_bytes()
        key_end = theirs.index(b"-----END PRIVATE KEY-----") + 26
        path.write_bytes(theirs[:key_end] + mine[mine.index(b"-----BEGIN CERTIFICATE-----") :])
    when = NOW + dt.timedelta(days=31) if damage == "expired" else NOW
    with pytest.raises(PkiError) as caught:
        authority.town_identity("ina", now=when)
    assert caught.value.path == path and reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_the_service_certificate_holds_its_addresses(authority: Authority) -> None:
    path = authority.issue_service([IPv4Address("198.18.0.1"), IPv4Address("198.18.0.34")], now=NOW)
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [IPv4Address("198.18.0.1"), IPv4Address("198.18.0.34")]
    assert authority.service_identity(now=NOW) == path


def test_status_flags_a_certificate_expiring_within_30_days(authority: Authority) -> None:
    authority.issue_town("ina", "伊奈町", days=20, now=NOW)
    state = authority.state("ina", authority.town_path("ina"), now=NOW)
    assert state.problem is None and state.expiring and 19 < state.days_left < 21
    assert authority.state("ogose", authority.town_path("ogose"), now=NOW).problem.startswith("missing")


def test_the_commands_issue_what_is_missing_keep_what_is_usable_and_status_exits_by_state(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(app, ["pki", "issue", "--town", "ina", "--town", "ogose"])
    assert first.exit_code == 0, first.output
    assert "issued 4: ina, ogose, service, operations" in first.output
    again = runner.invoke(app, ["pki", "issue", "--town", "ina"])
    assert again.exit_code == 0 and "issued 0: nothing (all usable)" in again.output
    status = runner.invoke(app, ["pki", "status", "--town", "ina", "--town", "ogose", "--json"])
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert [c["subject"] for c in data["certificates"]] == ["ca", "ina", "ogose", "service", "operations"]
    # a town without a certificate: status says so and exits 1
    missing = runner.invoke(app, ["pki", "status", "--town", "namegawa"])
    assert missing.exit_code == 1 and "namegawa" in missing.output
    rotated = runner.invoke(app, ["pki", "rotate", "--town", "ina"])
    assert rotated.exit_code == 0 and "rotated 1 town certificate(s)" in rotated.output
    unknown = runner.invoke(app, ["pki", "rotate", "--town", "atlantis"])
    assert unknown.exit_code == 2


def test_a_revoked_certificate_is_refused_and_the_crl_lists_it(authority: Authority) -> None:
    assert authority.revoked() == set() and authority.crl_path.exists()  # an empty CRL from the start
    path = authority.issue_town("ina", "伊奈町", now=NOW)
    serial = authority.serial_of(path)
    authority.revoke([serial], now=NOW)
    assert authority.revoked() == {serial}
    with pytest.raises(PkiError, match="revoked"):
        authority.town_identity("ina", now=NOW)
    authority.issue_town("ina", "伊奈町", now=NOW)  # the new one is fine
    assert authority.town_identity("ina", now=NOW) == path
    assert authority.revoked() == {serial}  # a later revocation keeps the earlier ones


def test_checking_a_certificate_never_reads_the_cas_private_key(authority: Authority) -> None:
    authority.issue_town("ina", "伊奈町", now=NOW)
    os.chmod(authority.ca_key_path, 0)
    authority.ca_key_path.rename(authority.ca_key_path.with_suffix(".away"))
    assert authority.town_identity("ina", now=NOW) == authority.town_path("ina")
    assert authority.state("ca", authority.ca_cert_path, now=NOW).problem is None


def test_what_an_environment_needs_is_issued_once_and_the_service_again_for_a_new_address(tmp_path) -> None:
    """Provisioning's call: the CA, the towns', the service's and the operations center's certificates
    where missing or unusable; nothing the second time; the service's again when it must answer on an
    address its certificate does not name."""
    a = Authority("lab", tmp_path / "pki" / "lab")
    towns = {"ina": "伊奈町", "ogose": "越生町"}
    addresses = [IPv4Address("198.18.0.1"), IPv4Address("198.18.1.10")]
    assert a.ensure_issued(towns, addresses) == ["ca", "ina", "ogose", "service", "operations"]
    serials = {p: a.serial_of(p) for p in (a.town_path("ina"), a.service_path, a.operations_path)}
    assert a.ensure_issued(towns, addresses) == []
    assert {p: a.serial_of(p) for p in serials} == serials
    assert a.ensure_issued(towns, [*addresses, IPv4Address("198.19.240.7")]) == ["service"]
    san = x509.load_pem_x509_certificates(a.service_path.read_bytes())[0].extensions
    ips = san.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)
    assert IPv4Address("198.19.240.7") in ips
    os.chmod(a.town_path("ina"), 0o644)  # a key others could read: replaced
    assert a.ensure_issued(towns, addresses) == ["ina"]
    assert stat.S_IMODE(a.town_path("ina").stat().st_mode) == 0o600


def test_each_town_gets_its_own_delivery_key_once(tmp_path) -> None:
    import paramiko

    from pki.delivery_keys import delivery_key_path, ensure_delivery_keys

    keys = ensure_delivery_keys("lab", ["ina", "ogose"], root=tmp_path)
    assert keys["ina"].startswith("ssh-ed25519 ") and keys["ina"].endswith(" municloud-handover-ina")
    assert keys["ina"] != keys["ogose"]
    assert ensure_delivery_keys("lab", ["ina"], root=tmp_path) == {"ina": keys["ina"]}  # kept, not made again
    path = delivery_key_path("lab", "ina", root=tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = paramiko.Ed25519Key.from_private_key_file(str(path))
    assert f"{loaded.get_name()} {loaded.get_base64()}" == keys["ina"].rsplit(" ", 1)[0]
