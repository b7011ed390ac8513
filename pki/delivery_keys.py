"""The operations center's SSH keys for delivering the fiscal-year hand-over: one Ed25519 key per town,
so that a town's receiving account accepts that town's deliveries only (a key that could reach every
town would let one town's package land on another's server). Kept beside the environment's CA under
the state directory: <state>/pki/<env>/handover/<town>_ed25519 (mode 0600) and its .pub."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from toolkit.settings import state_dir

from .authority import write_secret


def delivery_key_path(environment: str, town: str, root: Path | None = None) -> Path:
    return (root or state_dir() / "pki" / environment) / "handover" / f"{town}_ed25519"


def ensure_delivery_keys(environment: str, towns: list[str], root: Path | None = None) -> dict[str, str]:
    """Each town's delivery key, made where missing; town -> its public key line (authorized_keys)."""
    found = {}
    for town in towns:
        path = delivery_key_path(environment, town, root)
        public = path.with_name(path.name + ".pub")
        if not path.exists() or not public.exists():
            key = Ed25519PrivateKey.generate()
            private = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
            )
            write_secret(path, private)
            line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            public.write_text(f"{line.decode()} municloud-handover-{town}\n")
        found[town] = public.read_text().strip()
    return found
