"""Delivering a town's hand-over package over SFTP (paramiko) to its receiving account on the town's
in-office server: SFTP only, chrooted, accepting that town's delivery key only (the handover_receiver
role; pki/delivery_keys.py). The server's host key is pinned (the environment's known_hosts), never
accepted on first sight.

Each file goes to `<name>.part`, is read back from the far side and its SHA-256 compared, and only
then renamed to its name: a file under its final name is whole. A transfer cut in the middle
resumes from the size of its `.part` (the prefix already there is checked with the rest); a re-run
checks what is already delivered and sends again only what is missing or differs. A package is
delivered only to the town its manifest names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from inventory.environment import BoundHost, EnvironmentBinding
from inventory.model.sla import CONTRACT_TZ
from pki.delivery_keys import delivery_key_path

USER = "handover"  # the receiving account (playbooks/roles/handover_receiver)
CHUNK = 256 * 1024


class DeliveryRefused(ValueError):
    """The package is not this town's, or the key or the server's host key is missing."""


@dataclass
class FileDelivery:
    name: str
    size: int
    sha256: str
    action: str = ""  # sent | resumed at N | already there | sent again (differed)
    verified: bool = False


@dataclass
class TownDelivery:
    town: str
    host: str
    files: list[FileDelivery] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    finished_at: dt.datetime | None = None  # Japan time: when its last file was checked, or it failed

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.verified for f in self.files)


def package_files(packages: Path, town: str, year: int) -> list[Path]:
    stem = f"{town}-FY{year}"
    names = [f"{stem}.tar.gz.age", f"{stem}.tar.gz.age.sha256", f"{stem}.manifest.json", f"{stem}.nouhinsho.pdf"]
    return [packages / n for n in names]


def receiving_server(binding: EnvironmentBinding, town: str) -> BoundHost:
    return next(h for h in binding.servers() if h.town == town and h.role == "probe")


def _sha256_remote(sftp: paramiko.SFTPClient, name: str) -> str:
    digest = hashlib.sha256()
    with sftp.open(name, "rb") as handle:
        handle.prefetch()
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _size(sftp: paramiko.SFTPClient, name: str) -> int | None:
    try:
        return sftp.stat(name).st_size
    except FileNotFoundError:
        return None


def _send(sftp: paramiko.SFTPClient, path: Path, start: int, progress: Callable[[int], None]) -> None:
    part = path.name + ".part"
    with path.open("rb") as local, sftp.open(part, "ab" if start else "wb") as remote:
        remote.set_pipelined(True)
        local.seek(start)
        for chunk in iter(lambda: local.read(CHUNK), b""):
            remote.write(chunk)
            progress(len(chunk))


def deliver_file(sftp: paramiko.SFTPClient, path: Path, progress: Callable[[int], None]) -> FileDelivery:
    result = FileDelivery(path.name, path.stat().st_size, _sha256(path))
    if _size(sftp, path.name) == result.size and _sha256_remote(sftp, path.name) == result.sha256:
        result.action, result.verified = "already there", True
        return result
    previous = "sent again (differed)" if _size(sftp, path.name) is not None else "sent"
    part = path.name + ".part"
    have = _size(sftp, part) or 0
    start = have if 0 < have <= result.size else 0
    for attempt in (1, 2):
        _send(sftp, path, start, progress)
        if _sha256_remote(sftp, part) == result.sha256:
            break
        sftp.remove(part)  # a prefix that was not this file's, or damaged on the way: whole again
        start = 0
        if attempt == 2:
            raise OSError(f"{path.name}: the far side's copy differs after sending it twice")
    sftp.posix_rename(part, path.name)
    result.action = f"resumed at {have:,} bytes" if start and have else previous
    result.verified = True
    return result


def check_access(binding: EnvironmentBinding, town: str) -> None:
    """DeliveryRefused unless the town's delivery key and the pinned host keys are there."""
    key = delivery_key_path(binding.name, town)
    if not key.exists():
        raise DeliveryRefused(f"{key}: {town}'s delivery key is missing (`municloud provision` makes it)")
    if binding.known_hosts is None or not binding.known_hosts.exists():
        raise DeliveryRefused(f"no known_hosts for {binding.name}: the receiving server's host key must be pinned")


def check_package(town: str, files: list[Path]) -> None:
    """DeliveryRefused unless the files' manifest names `town`: never on another town's server."""
    manifest = next((f for f in files if f.name.endswith(".manifest.json")), None)
    if manifest is None or json.loads(manifest.read_text(encoding="utf-8"))["town"] != town:
        raise DeliveryRefused(f"{manifest}: this package is not {town}'s: it is never put on {town}'s server")


def deliver_town(
    binding: EnvironmentBinding,
    town: str,
    files: list[Path],
    progress: Callable[[int], None] = lambda n: None,
    timeout: float = 15,
) -> TownDelivery:
    started = time.monotonic()
    host = receiving_server(binding, town)
    result = TownDelivery(town, host.name)
    check_package(town, files)
    check_access(binding, town)
    key = delivery_key_path(binding.name, town)
    assert binding.known_hosts is not None
    client = paramiko.SSHClient()
    client.load_host_keys(str(binding.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            str(host.mgmt_address),
            username=USER,
            key_filename=str(key),
            allow_agent=False,
            look_for_keys=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
        )
        with client.open_sftp() as sftp:
            for path in files:
                result.files.append(deliver_file(sftp, path, progress))
    except (OSError, paramiko.SSHException) as error:
        result.error = f"{host.name} ({host.mgmt_address}): {error}"
    finally:
        client.close()
    result.seconds = time.monotonic() - started
    result.finished_at = dt.datetime.now(CONTRACT_TZ)
    return result


def deliver(
    binding: EnvironmentBinding,
    files: dict[str, list[Path]],
    progress: Callable[[str, int, int], None] = lambda what, done, total: None,
) -> list[TownDelivery]:
    """Every town of `files` in turn (check_package and check_access first, for all of them: a refusal
    raises DeliveryRefused before anything moves); a town that fails is reported and the others go
    on. `progress` counts bytes."""
    for town, paths in files.items():
        check_package(town, paths)
        check_access(binding, town)
    total = sum(p.stat().st_size for paths in files.values() for p in paths)
    sent, current = 0, ""

    def moved(n: int) -> None:
        nonlocal sent
        sent += n
        progress(f"sending {current}", sent, max(total, sent))

    results = []
    for town, paths in files.items():
        current = town
        results.append(deliver_town(binding, town, paths, moved))
    progress("done", total, total)
    return results
