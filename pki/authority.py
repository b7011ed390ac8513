"""The environment's certificate authority and the towns' client certificates (tenant identity).

Every request to the shared service carries the asking town's identity as a TLS client
certificate (mutual TLS): the service serves a town's tenant only to the certificate that names
that town. This module keeps the environment's CA and the certificates it issues, with the
`cryptography` library, outside the source tree like the other secrets (mode 0600, in a 0700
folder under the state directory):

    <state>/pki/<environment>/ca.pem              the CA's certificate (what clients pin)
    <state>/pki/<environment>/ca.key              its private key
    <state>/pki/<environment>/ca.crl              the certificates it revoked (the service checks it)
    <state>/pki/<environment>/towns/<town>.pem    a town's key and certificate in one file
    <state>/pki/<environment>/operations.pem      the operations center's (reads heartbeat ids only)
    <state>/pki/<environment>/service.pem         the service's key and certificate (its addresses)
    <state>/pki/<environment>/hosts/<host>.pem    a data-center server's (server and client: pgBackRest's
                                                  TLS between the database and the backup servers)

A town's key and certificate share one file so that a rotation replaces both at once (one rename):
a client that reads the file mid-rotation gets the old pair or the new, never one of each. The CA
signs both, so the service accepts the old and the new certificate alike while the probes and
clients move over: a rotation has no outage.

Anything read back is checked before it is used: a file missing, not PEM, not signed by this CA,
expired, or naming another town is a `PkiError` naming the file and the reason.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from toolkit.settings import state_dir

CA_DAYS = 3650  # the CA outlives many rotations of the towns' certificates
DEFAULT_DAYS = 397  # a town's or the service's certificate: about a year (the CA/B Forum's ceiling)
EXPIRY_WARNING_DAYS = 30  # `pki status` and the alert flag a certificate expiring sooner
TOWN_URI = "urn:municloud:town:{town}"  # the SAN the service reads a town's identity from
OPERATIONS_URI = "urn:municloud:operations"  # the operations center's: no tenant's data, heartbeat ids only
ORGANIZATION = "municloud"


class PkiError(ValueError):
    """A CA, certificate or key that cannot be used; `path` is the file, the message the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class CertificateState:
    """What `pki status` shows of one certificate."""

    subject: str  # a town id, or "service"
    path: Path
    serial: int | None
    not_after: dt.datetime | None
    days_left: float | None
    fingerprint: str | None  # SHA-256, hex
    problem: str | None  # None when usable

    @property
    def expiring(self) -> bool:
        return self.days_left is not None and self.days_left < EXPIRY_WARNING_DAYS

    def as_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "path": str(self.path),
            "serial": f"{self.serial:x}" if self.serial is not None else None,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "days_left": round(self.days_left, 1) if self.days_left is not None else None,
            "fingerprint_sha256": self.fingerprint,
            "expiring": self.expiring,
            "problem": self.problem,
        }


class Authority:
    """One environment's CA folder: issue, rotate, check."""

    def __init__(self, environment: str, root: Path | None = None) -> None:
        self.environment = environment
        self.root = root or state_dir() / "pki" / environment

    # ---- where things are -----------------------------------------------------------------------
    @property
    def ca_cert_path(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.root / "ca.key"

    def town_path(self, town: str) -> Path:
        return self.root / "towns" / f"{town}.pem"

    def host_path(self, host: str) -> Path:
        return self.root / "hosts" / f"{host}.pem"

    @property
    def service_path(self) -> Path:
        return self.root / "service.pem"

    @property
    def operations_path(self) -> Path:
        return self.root / "operations.pem"

    @property
    def crl_path(self) -> Path:
        return self.root / "ca.crl"

    # ---- revocation -----------------------------------------------------------------------------
    def revoked(self) -> set[int]:
        """The serials the CA has revoked (its CRL; none before the first revocation)."""
        if not self.crl_path.exists():
            return set()
        try:
            crl = x509.load_pem_x509_crl(self.crl_path.read_bytes())
        except ValueError:
            raise PkiError(self.crl_path, "holds no PEM certificate revocation list") from None
        return {entry.serial_number for entry in crl}

    def revoke(self, serials: Iterable[int], now: dt.datetime | None = None) -> Path:
        """Add `serials` to the CA's CRL (a leaked key's certificate is refused from the service's
        next reload on, not only when it expires). The CRL is re-signed whole, valid for a year."""
        ca_cert, ca_key = self.ca()
        now = now or _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=365))
        )
        for serial in sorted(self.revoked() | set(serials)):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        _write_public(self.crl_path, builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        return self.crl_path

    def serial_of(self, path: Path) -> int | None:
        try:
            return _load_certificates(path)[0].serial_number
        except PkiError:
            return None

    # ---- the CA ---------------------------------------------------------------------------------
    def ensure_ca(self, now: dt.datetime | None = None) -> bool:
        """Create the CA if there is none (True when created). An existing CA is checked, never
        replaced: every certificate the service trusts hangs off it."""
        if self.ca_cert_path.exists() or self.ca_key_path.exists():
            self.ca()
            if not self.crl_path.exists():
                self.revoke([])
            return False
        now = now or _now()
        key = ec.generate_private_key(ec.SECP256R1())
        name = _subject(f"municloud {self.environment} CA")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_secret(self.ca_key_path, _key_pem(key))
        _write_public(self.ca_cert_path, cert.public_bytes(serialization.Encoding.PEM))
        self.revoke([], now)  # an empty CRL from the start: the service always has one to check
        return True

    def ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        cert = _load_certificates(self.ca_cert_path)[0]
        key = _load_key(self.ca_key_path)
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise PkiError(self.ca_key_path, f"this key does not belong to the CA certificate {self.ca_cert_path}")
        _check_mode(self.ca_key_path)
        return cert, key  # type: ignore[return-value]

    # ---- issuing --------------------------------------------------------------------------------
    def issue_town(self, town: str, town_name: str, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> Path:
        """A new key and client certificate for `town` (CN and a URI SAN name it; O is the town's
        name as the inventory writes it), replacing the town's file in one rename."""
        subject = _subject(town, organization=town_name, unit=ORGANIZATION)
        san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(TOWN_URI.format(town=town))])
        return self._issue(self.town_path(town), subject, san, ExtendedKeyUsageOID.CLIENT_AUTH, days, now)

    def issue_operations(self, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> Path:
        """The operations center's client certificate: the drills count heartbeat ids with it; the
        service gives it no tenant's data."""
        san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(OPERATIONS_URI)])
        return self._issue(
            self.operations_path, _subject("operations"), san, ExtendedKeyUsageOID.CLIENT_AUTH, days, now
        )

    def issue_service(
        self, addresses: Iterable[IPv4Address], names: Sequence[str] = (), days: int = DEFAULT_DAYS, now=None
    ) -> Path:
        """The business-systems service's server certificate, for every address it answers on."""
        subject = _subject(f"municloud {self.environment} business systems")
        entries: list[x509.GeneralName] = [x509.IPAddress(a) for a in addresses]
        entries += [x509.DNSName(n) for n in names]
        if not entries:
            raise ValueError("a service certificate needs at least one address or name")
        return self._issue(
            self.service_path, subject, x509.SubjectAlternativeName(entries), ExtendedKeyUsageOID.SERVER_AUTH, days, now
        )

    def issue_host(
        self, host: str, addresses: Iterable[IPv4Address], days: int = DEFAULT_DAYS, now: dt.datetime | None = None
    ) -> Path:
        """A data-center server's key and certificate, for the TLS services it runs and as their
        client (pgBackRest between the database and the backup servers, which checks the peer's
        name or address against the SAN and the client's CN against its `tls-server-auth`)."""
        san = x509.SubjectAlternativeName([x509.DNSName(host), *(x509.IPAddress(a) for a in addresses)])
        usages = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
        return self._issue(self.host_path(host), _subject(host), san, usages, days, now)

    def _issue(
        self,
        path: Path,
        subject: x509.Name,
        san: x509.SubjectAlternativeName,
        usage: x509.ObjectIdentifier | tuple[x509.ObjectIdentifier, ...],
        days: int,
        now: dt.datetime | None,
    ) -> Path:
        if days < 1:
            raise ValueError(f"a certificate must be valid for at least one day, not {days}")
        ca_cert, ca_key = self.ca()
        now = now or _now()
        not_after = min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(usage) if isinstance(usage, tuple) else [usage]), critical=False)
            .add_extension(san, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        write_secret(path, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM))
        return path

    def ensure_issued(
        self, towns: dict[str, str], service_addresses: Sequence[IPv4Address], days: int = DEFAULT_DAYS
    ) -> list[str]:
        """What an environment needs before its service speaks TLS: the CA, a certificate for each
        of `towns` (id -> name as the inventory writes it), the service's for every address in
        `service_addresses`, and the operations center's. Only what is missing or unusable is
        issued (a usable certificate is kept: provisioning calls this on every run and changes
        nothing the second time); a service certificate lacking one of the addresses is re-issued.
        The subjects issued, in order. Raises PkiError when the CA exists but cannot be used."""
        issued = ["ca"] if self.ensure_ca() else []
        for town, name in towns.items():
            try:
                self.town_identity(town)
            except PkiError:
                self.issue_town(town, name, days)
                issued.append(town)
        try:
            self._naming(self.service_identity(), service_addresses)
        except PkiError:
            self.issue_service(sorted(set(service_addresses)), days=days)
            issued.append("service")
        try:
            self.operations_identity()
        except PkiError:
            self.issue_operations(days)
            issued.append("operations")
        return issued

    def ensure_hosts(self, hosts: Mapping[str, Sequence[IPv4Address]], days: int = DEFAULT_DAYS) -> list[str]:
        """A usable certificate for each of `hosts` (name -> the addresses it answers on), issued
        where missing, unusable, lacking one of the addresses or expiring within the warning's
        days (provisioning renews them: the expiry alert tells the operator to provision); the
        hosts issued, in order."""
        issued = []
        for host, addresses in hosts.items():
            state = self.state(host, self.host_path(host), kind="host")
            try:
                self._naming(self.host_path(host), addresses)
                if state.expiring:
                    raise PkiError(self.host_path(host), "expires soon")
            except PkiError:
                self.issue_host(host, sorted(set(addresses)), days)
                issued.append(host)
        return issued

    def _naming(self, path: Path, addresses: Iterable[IPv4Address]) -> None:
        """Raises PkiError unless the certificate at `path` is usable and names every address."""
        cert = self._checked(path, None)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise PkiError(path, "names no address (no subject alternative name)") from None
        if not set(addresses) <= set(san.get_values_for_type(x509.IPAddress)):
            raise PkiError(path, "does not name every address it answers on")

    # ---- checking -------------------------------------------------------------------------------
    def town_identity(self, town: str, now: dt.datetime | None = None) -> Path:
        """The town's key-and-certificate file, checked: present, PEM, signed by this CA, in its
        validity period, naming this town, its key matching. Raises PkiError otherwise."""
        path = self.town_path(town)
        self._checked(path, now, town)
        return path

    def service_identity(self, now: dt.datetime | None = None) -> Path:
        self._checked(self.service_path, now)
        return self.service_path

    def operations_identity(self, now: dt.datetime | None = None) -> Path:
        self._checked(self.operations_path, now)
        return self.operations_path

    def states(
        self, towns: Sequence[str], now: dt.datetime | None = None, hosts: Sequence[str] = ()
    ) -> list[CertificateState]:
        """Every certificate of the environment for `towns`: the CA's, the towns', the service's,
        the operations center's and those of `hosts` (what `pki status` shows and the exporter serves)."""
        return [
            self.state("ca", self.ca_cert_path, now),
            *(self.state(t, self.town_path(t), now) for t in towns),
            self.state("service", self.service_path, now),
            self.state("operations", self.operations_path, now),
            *(self.state(h, self.host_path(h), now, kind="host") for h in hosts),
        ]

    def state(self, subject: str, path: Path, now: dt.datetime | None = None, kind: str = "") -> CertificateState:
        """One certificate's state; `subject` is "ca", "service", "operations", a host's name (`kind`
        "host") or a town's id (whose certificate must name it). The CA's is read as a certificate
        only: a watcher never reads its key."""
        now = now or _now()
        try:
            cert = _load_certificates(path)[0]
        except PkiError as error:
            return CertificateState(subject, path, None, None, None, None, error.reason)
        problem = None
        if subject == "ca":
            if now >= cert.not_valid_after_utc:
                problem = f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        else:
            try:
                named = subject in ("service", "operations") or kind == "host"
                self._checked(path, now, None if named else subject)
            except PkiError as error:
                problem = error.reason
        left = (cert.not_valid_after_utc - now).total_seconds() / 86400
        fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        return CertificateState(subject, path, cert.serial_number, cert.not_valid_after_utc, left, fingerprint, problem)

    def _checked(self, path: Path, now: dt.datetime | None, town: str | None = None) -> x509.Certificate:
        """The certificate at `path`, checked (and naming `town` when given); PkiError otherwise."""
        now = now or _now()
        ca_cert = _load_certificates(self.ca_cert_path)[0]  # checking needs the CA's certificate, not its key
        certs = _load_certificates(path)
        cert = certs[0]
        key = _load_key(path)
        _check_mode(path)
        if cert.serial_number in self.revoked():
            raise PkiError(path, f"revoked (serial {cert.serial_number:x}): `municloud pki rotate --revoke`")
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise PkiError(path, "its private key does not belong to its certificate")
        try:
            cert.verify_directly_issued_by(ca_cert)
        except (ValueError, TypeError, InvalidSignature):
            raise PkiError(path, f"not signed by this environment's CA ({self.ca_cert_path})") from None
        if now < cert.not_valid_before_utc:
            raise PkiError(path, f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
        if now >= cert.not_valid_after_utc:
            raise PkiError(path, f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: `municloud pki rotate`")
        if town is not None and town_of(cert) != town:
            raise PkiError(path, f"the certificate names town '{town_of(cert)}', not '{town}'")
        return cert


def town_of(cert: x509.Certificate) -> str | None:
    """The town a client certificate names (its URI SAN; the service reads the same)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    prefix = TOWN_URI.format(town="")
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return None


def _subject(common_name: str, organization: str = ORGANIZATION, unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise PkiError(path, "holds no PEM certificate (malformed or not a certificate)") from None
    return certs


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read(path)
    start = data.find(b"-----BEGIN PRIVATE KEY-----")
    if start < 0:
        raise PkiError(path, "holds no private key (PEM 'PRIVATE KEY')")
    end = data.find(b"-----END PRIVATE KEY-----", start)
    try:
        key = serialization.load_pem_private_key(data[start : end + 25], password=None)
    except (ValueError, TypeError):
        raise PkiError(path, "its private key is malformed") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(path, "its private key is not an EC key")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PkiError(path, "missing: `municloud pki issue` creates it") from None
    except OSError as error:
        raise PkiError(path, f"unreadable ({error.strerror})") from None


def _check_mode(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PkiError(path, f"holds a private key but is readable by others (mode {mode:o}): chmod 600 it")


def write_secret(path: Path, data: bytes) -> None:
    """Write a file holding a private key: 0600 from its creation, in a 0700 folder, then one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in {path.parent, path.parent.parent} if path.parent.name == "towns" else {path.parent}:
        os.chmod(folder, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover (or a planted link) is never written through
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)
