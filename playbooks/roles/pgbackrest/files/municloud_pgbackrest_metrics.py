#!/usr/bin/python3
"""The backups' state for Prometheus, as a node exporter textfile (written whole, then renamed).

On a backup server (--repo N): its repository's newest full, differential and any backup (their
stop times) and its newest archived WAL segment (when it arrived), from `pgbackrest info` and the
archive folder. On a database server (no --repo): the WAL segments PostgreSQL has finished and not
yet seen archived (pg_wal/archive_status/*.ready) and the age of the oldest one: what archiving is
behind by when a repository is out of reach.

Run by a systemd timer every minute; exit 0 with `municloud_pgbackrest_up 0` when pgBackRest
cannot be read (the alert says so), exit 2 on bad arguments."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _line(name: str, labels: dict[str, str], value: float) -> str:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{text}}} {value:.3f}"


def repository_lines(stanza: str, repo: int, repo_path: Path, site: str) -> list[str]:
    labels = {"stanza": stanza, "repo": str(repo), "site": site}
    lines = [
        "# HELP municloud_pgbackrest_up 1 when pgBackRest's info on this repository could be read",
        "# TYPE municloud_pgbackrest_up gauge",
    ]
    try:
        out = subprocess.run(
            ["pgbackrest", f"--stanza={stanza}", f"--repo={repo}", "--log-level-file=off", "--output=json", "info"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        info = json.loads(out)[0]
        backups = info.get("backup", [])
        ok = info.get("status", {}).get("code") in (0, 2)  # 2: no backup yet (the alert on age says it)
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        backups, ok = [], False
    lines.append(_line("municloud_pgbackrest_up", labels, 1 if ok else 0))
    lines += [
        "# HELP municloud_pgbackrest_last_backup_timestamp_seconds When the newest backup of a type stopped",
        "# TYPE municloud_pgbackrest_last_backup_timestamp_seconds gauge",
    ]
    newest: dict[str, float] = {}
    for backup in backups:
        stop = float(backup.get("timestamp", {}).get("stop", 0))
        for kind in (backup.get("type", "full"), "any"):
            newest[kind] = max(newest.get(kind, 0.0), stop)
    for kind, stop in sorted(newest.items()):
        lines.append(_line("municloud_pgbackrest_last_backup_timestamp_seconds", {**labels, "type": kind}, stop))
    lines += [
        "# HELP municloud_pgbackrest_backups Backups this repository holds",
        "# TYPE municloud_pgbackrest_backups gauge",
        _line("municloud_pgbackrest_backups", labels, len(backups)),
        "# HELP municloud_pgbackrest_last_archive_timestamp_seconds When the newest WAL segment arrived here",
        "# TYPE municloud_pgbackrest_last_archive_timestamp_seconds gauge",
    ]
    archive = repo_path / "archive" / stanza
    latest = 0.0
    if archive.is_dir():
        for root, _dirs, files in os.walk(archive):
            for name in files:
                if len(name) >= 24 and name[:24].isalnum() and "." not in name[:24]:  # a segment, not history
                    latest = max(latest, os.stat(os.path.join(root, name)).st_mtime)
    lines.append(_line("municloud_pgbackrest_last_archive_timestamp_seconds", labels, latest))
    return lines


def wal_lines(pg_path: Path, site: str) -> list[str]:
    status = pg_path / "pg_wal" / "archive_status"
    now = time.time()
    ready = [p.stat().st_mtime for p in status.glob("*.ready")] if status.is_dir() else []
    labels = {"site": site}
    return [
        "# HELP municloud_wal_ready_segments WAL segments finished and not yet archived",
        "# TYPE municloud_wal_ready_segments gauge",
        _line("municloud_wal_ready_segments", labels, len(ready)),
        "# HELP municloud_wal_oldest_ready_age_seconds How long the oldest unarchived segment has waited (0: none)",
        "# TYPE municloud_wal_oldest_ready_age_seconds gauge",
        _line("municloud_wal_oldest_ready_age_seconds", labels, now - min(ready) if ready else 0.0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stanza", required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--repo", type=int, help="this backup server's repository index")
    parser.add_argument("--repo-path", type=Path, default=Path("/var/lib/pgbackrest"))
    parser.add_argument("--pg-path", type=Path, help="the database server's data directory")
    parser.add_argument("--out", type=Path, required=True, help="the .prom file to write")
    args = parser.parse_args(argv)
    if (args.repo is None) == (args.pg_path is None):
        parser.error("give --repo (a backup server) or --pg-path (a database server)")
    lines = (
        repository_lines(args.stanza, args.repo, args.repo_path, args.site)
        if args.repo is not None
        else wal_lines(args.pg_path, args.site)
    )
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.chmod(tmp, 0o644)
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
