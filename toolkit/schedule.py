"""Scheduled jobs of the suite (the monthly SLA reports, the fiscal-year hand-over): a systemd service
and timer, or for hosts without systemd a cron line, written from one description of the job, and
installed.

The time is Japan's whatever the host's time zone: systemd takes the zone in OnCalendar (and with
Persistent=true runs a job the host was down for when it comes back); cron has no zone of its own on
Debian (no CRON_TZ), so its line fires every hour on the days that can hold the moment and runs the
command only when `TZ=<zone> date +<format>` shows it. Nothing here knows what a job does.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.settings import STATE_DIR_VARIABLE, state_dir

SYSTEMD_DIR = Path("/etc/systemd/system")
CRON_DIR = Path("/etc/cron.d")
ZONE = "Asia/Tokyo"


def job_environment(carried: Sequence[str] = ()) -> dict[str, str]:
    """What a job runs with: the state directory of where it is scheduled, always (a timer's
    service starts with systemd's empty environment: it would look in the default one), and the
    `carried` variables that are set here."""
    return {STATE_DIR_VARIABLE: str(state_dir()), **{n: os.environ[n] for n in carried if os.environ.get(n)}}


@dataclass(frozen=True)
class Job:
    """One scheduled job. `cron_days` are cron's minute-to-weekday fields, firing often enough to meet
    the moment in any host time zone; `cron_when` is (a `date` format, the value it shows in `zone`
    at the moment), e.g. ("%d%H", "0106") for the 1st at 06:00."""

    unit: str  # the systemd units' and the cron file's name
    description: str  # the service's
    timer_description: str
    on_calendar: str  # systemd's, with its zone: "*-*-01 06:00:00 Asia/Tokyo"
    command: str  # the whole command line
    exit_note: str  # one comment line in the service: what its exit codes mean
    cron_comment: str
    cron_days: str  # "0 * 1,2 * *"
    cron_when: tuple[str, str]
    log: Path  # where cron appends the command's output
    zone: str = ZONE
    environment: Mapping[str, str] = field(default_factory=dict)  # variables the command runs with


@dataclass(frozen=True)
class ScheduleFiles:
    service: str
    timer: str
    cron: str


def municloud_command(*args: str) -> str:
    """The command line of `municloud ARGS` as this installation runs it (the entry point when it is on
    PATH, this interpreter's module otherwise)."""
    exe = shutil.which("municloud") or f"{sys.executable} -m municloud.cli.main"
    return " ".join([exe, *(shlex.quote(a) for a in args)])


def schedule_files(job: Job) -> ScheduleFiles:
    env_lines = "".join(f"Environment={_unit_quoted(f'{k}={v}')}\n" for k, v in job.environment.items())
    service = f"""[Unit]
Description={job.description}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
{env_lines}ExecStart={job.command}
# {job.exit_note}
"""
    timer = f"""[Unit]
Description={job.timer_description}

[Timer]
OnCalendar={job.on_calendar}
Persistent=true
Unit={job.unit}.service

[Install]
WantedBy=timers.target
"""
    date_format, value = job.cron_when
    escaped = date_format.replace("%", "\\%")  # a bare % ends cron's command
    env_prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in job.environment.items())
    cron = (
        f"# {job.cron_comment}\n"
        f'{job.cron_days} root [ "$(TZ={job.zone} date +{escaped})" = "{value}" ] && '
        f"{env_prefix}{job.command} >> {job.log} 2>&1\n"
    )
    return ScheduleFiles(service, timer, cron)


def _unit_quoted(assignment: str) -> str:
    """An Environment= assignment as systemd reads it: in double quotes when it holds a space or a quote."""
    if not any(c.isspace() or c in "\"'\\" for c in assignment):
        return assignment
    return '"' + assignment.replace("\\", "\\\\").replace('"', '\\"') + '"'


def schedule_text(job: Job, files: ScheduleFiles) -> str:
    """What `... schedule` prints: each file under a comment naming where it goes."""
    return (
        f"# {SYSTEMD_DIR}/{job.unit}.service\n{files.service}\n"
        f"# {SYSTEMD_DIR}/{job.unit}.timer\n{files.timer}\n"
        f"# or, without systemd: {CRON_DIR}/{job.unit}\n{files.cron}"
    )


def systemctl(*args: str) -> None:
    """`systemctl ARGS`; CalledProcessError (its stderr kept) when systemd refuses."""
    subprocess.run(["systemctl", *args], check=True, capture_output=True, text=True)


def install_systemd(
    job: Job,
    files: ScheduleFiles,
    directory: Path | None = None,
    run: Callable[..., None] | None = None,
) -> list[str]:
    """Write the units (into SYSTEMD_DIR unless `directory`) and enable the timer (through `run`,
    systemctl by default); returns the paths written. OSError or CalledProcessError when refused."""
    folder = directory or SYSTEMD_DIR
    service, timer = folder / f"{job.unit}.service", folder / f"{job.unit}.timer"
    service.write_text(files.service)
    timer.write_text(files.timer)
    call = run or systemctl
    call("daemon-reload")
    call("enable", "--now", f"{job.unit}.timer")
    return [str(service), str(timer)]


def install_cron(job: Job, files: ScheduleFiles, directory: Path | None = None) -> list[str]:
    """Write the cron file (into CRON_DIR unless `directory`); returns its path."""
    path = (directory or CRON_DIR) / job.unit
    path.write_text(files.cron)
    return [str(path)]


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()
