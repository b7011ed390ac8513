"""What every `... schedule` command does with its job (toolkit/schedule.py): print the systemd units
and the cron line, or install them (the systemd timer, or cron where systemd does not run or
`--cron` asks)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from toolkit import schedule
from toolkit.schedule import Job, schedule_files, schedule_text

from .common import Exit, fail, out

InstallOption = Annotated[bool, typer.Option("--install", help="Install it (root): the systemd timer, or cron.")]
CronOption = Annotated[bool, typer.Option("--cron", help="Use cron even where systemd runs.")]


def print_or_install(job: Job, folder: Path, install: bool, cron: bool) -> None:
    """Print the job's files, or (`install`) make its output folder and install it; exit 1 naming
    what refused when it cannot be installed."""
    files = schedule_files(job)
    if not install:
        typer.echo(schedule_text(job, files))
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if cron or not schedule.has_systemd():
            paths = schedule.install_cron(job, files)
        else:
            paths = schedule.install_systemd(job, files)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        fail(f"could not install the schedule: {detail}", Exit.FAILED)
    out.print(f"installed: {', '.join(paths)}")
