"""Scheduling the monthly report: a systemd timer (the 1st at 06:00 Japan time, whatever the host's
time zone: systemd takes the zone in OnCalendar) and, for hosts without systemd, a cron line that
fires hourly on the 1st and the 28th to 31st (the 1st in Japan is one of them in any host zone) and
runs only when it is 06:00 on the 1st in Japan (Debian's cron has no CRON_TZ). Each run writes last
month's reports into a dated folder `<root>/<YYYY-MM>/`; a run that finds gaps in the data says so
in the report and exits 1, which the timer's unit shows as failed (and `systemctl status` / the
journal say why). The files are written and installed by toolkit/schedule.py, shared with the
other scheduled jobs."""

from __future__ import annotations

from pathlib import Path

from inventory.environment import SCHEDULED_JOB_VARIABLES
from toolkit.schedule import Job, ScheduleFiles, job_environment, municloud_command
from toolkit.schedule import schedule_files as job_files

UNIT = "municloud-sla-report"


def command_line(env: str, root: Path) -> str:
    return municloud_command("sla", "report", "--month", "previous", "--env", env, "--out", str(root))


def sla_job(env: str, root: Path) -> Job:
    return Job(
        unit=UNIT,
        description=f"municloud: last month's SLA reports (environment {env}) into {root}/<YYYY-MM>/",
        timer_description="municloud: SLA reports on the 1st of every month at 06:00 JST",
        on_calendar="*-*-01 06:00:00 Asia/Tokyo",
        command=command_line(env, root),
        exit_note="exit 1: the report was written but found gaps in the data (said in the report); 2: invalid input",
        cron_comment="municloud: last month's SLA reports, the 1st at 06:00 Japan time (any host time zone)",
        # 06:00 JST on the 1st is still the previous month's last day on hosts west of UTC+6 (UTC:
        # 21:00 on the 28th to 31st), and the 1st east of it: hourly on those days, the test in Japan's
        # time lets one through.
        cron_days="0 * 1,28-31 * *",
        cron_when=("%d%H", "0106"),
        log=root / "cron.log",
        environment=job_environment(SCHEDULED_JOB_VARIABLES),
    )


def schedule_files(env: str, root: Path) -> ScheduleFiles:
    return job_files(sla_job(env, root))
