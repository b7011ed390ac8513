"""Where municloud keeps things outside the source tree."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


STATE_DIR_VARIABLE = "MUNICLOUD_STATE_DIR"


def state_dir() -> Path:
    """Run-time state (lab state, bindings, plans): $MUNICLOUD_STATE_DIR or /var/lib/municloud."""
    return Path(os.environ.get(STATE_DIR_VARIABLE, "/var/lib/municloud"))


def cache_dir() -> Path:
    """Caches that survive a `lab down` (the base image): $MUNICLOUD_CACHE_DIR or /var/cache/municloud."""
    return Path(os.environ.get("MUNICLOUD_CACHE_DIR", "/var/cache/municloud"))
