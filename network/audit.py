"""The audit log of network changes: JSON lines, one per event (who, when, which plan and device,
what was pushed, the outcome). Appended under a lock; secrets masked."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path
from typing import Any

from .config import mask_secrets
from .store import audit_path, who


def audit(event: str, *, path: Path | None = None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "who": who(),
        "event": event,
        **fields,
    }
    for key in ("pushed", "rollback"):
        if isinstance(record.get(key), list):
            record[key] = [mask_secrets(line) for line in record[key]]
    target = path or audit_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with open(target, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line)
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)
    return record


def read_audit(path: Path | None = None) -> list[dict[str, Any]]:
    target = path or audit_path()
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
