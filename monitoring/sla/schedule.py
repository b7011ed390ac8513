"""Scheduling the monthly report: a systemd timer (the 1st at 06:00 Japan time, whatever the host's
time zone: systemd takes the zone in OnCalendar) and, for hosts without systemd, a cron line that
fires hourly on the 1st and 2nd and runs only when it is 06:00 on the 1st in Japan (Debian's cron
has no CRON_TZ). Each run writes last month's reports into a dated folder `<root>/<YYYY-MM>/`; a
run that finds gaps in the data says so in the report and exits 1, which the timer's unit shows as
failed (and `systemctl status` / the journal say why)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

UNIT = "municloud-sla-report"
SYSTEMD_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class ScheduleFiles:
    service: str
    timer: str
    cron: str


def command_line(env: str, root: Path) -> str:
    exe = shutil.which("municloud") or f"{sys.executable} -m municloud.cli.main"
    return f"{exe} sla report --month previous --env {env} --out {root}"


def schedule_files(env: str, root: Path) -> ScheduleFiles:
    cmd = command_line(env, root)
    service = f"""[Unit]
Description=municloud: last month's SLA reports (environment {env}) into {root}/<YYYY-MM>/
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={cmd}
# exit 1: the report was written but found gaps in the data (said in the report); 2: invalid input
"""
    timer = f"""[Unit]
Description=municloud: SLA reports on the 1st of every month at 06:00 JST

[Timer]
OnCalendar=*-*-01 06:00:00 Asia/Tokyo
Persistent=true
Unit={UNIT}.service

[Install]
WantedBy=timers.target
"""
    cron = (
        "# municloud: last month's SLA reports, the 1st at 06:00 Japan time (any host time zone)\n"
        f'0 * 1,2 * * root [ "$(TZ=Asia/Tokyo date +\\%d\\%H)" = "0106" ] && {cmd} >> {root}/cron.log 2>&1\n'
    )
    return ScheduleFiles(service, timer, cron)


def install_systemd(files: ScheduleFiles, directory: Path = SYSTEMD_DIR) -> list[str]:
    """Write the units and enable the timer; returns the paths written. Raises OSError or
    CalledProcessError when systemd refuses."""
    (directory / f"{UNIT}.service").write_text(files.service)
    (directory / f"{UNIT}.timer").write_text(files.timer)
    subprocess.run(["systemctl", "daemon-reload"], check=True, capture_output=True, text=True)
    subprocess.run(["systemctl", "enable", "--now", f"{UNIT}.timer"], check=True, capture_output=True, text=True)
    return [str(directory / f"{UNIT}.service"), str(directory / f"{UNIT}.timer")]


def install_cron(files: ScheduleFiles, path: Path = Path("/etc/cron.d/municloud-sla-report")) -> list[str]:
    path.write_text(files.cron)
    return [str(path)]


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()
