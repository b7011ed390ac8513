"""The provisioning secrets of an environment (database passwords), generated once and kept
outside the source tree, readable by root only. The playbooks load them with `include_vars` and
never log them; ansible-runner's artifacts only ever see the file's path."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml

from toolkit.settings import state_dir

# pgbackrest_cipher_pass: the backup repositories' encryption passphrase. Lose it and every backup
# is lost with it: keep a copy where the environment's other recovery secrets are kept.
SECRET_NAMES = ("postgresql_app_password", "postgresql_replication_password", "pgbackrest_cipher_pass")


def secrets_file(environment: str) -> Path:
    return state_dir() / "secrets" / f"{environment}.yml"


def ensure_secrets(environment: str) -> Path:
    """The environment's secrets file, created with fresh random values for any secret missing.
    Existing values are never changed: the databases already hold them."""
    path = secrets_file(environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    current: dict[str, str] = {}
    if path.exists():
        current = (yaml.safe_load(path.read_text()) or {}).get("secrets", {})
    missing = [name for name in SECRET_NAMES if not current.get(name)]
    if missing or not path.exists():
        current.update({name: secrets.token_urlsafe(24) for name in missing})
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("# municloud provisioning secrets: generated, never edit by hand, never commit\n")
            yaml.safe_dump({"secrets": current}, handle, sort_keys=True)
        tmp.replace(path)
    os.chmod(path, 0o600)
    return path
