"""Scheduling the maintenance windows' silences: `monitor up` makes them for the next occurrence of
every window and all within the next 35 days (monitoring/silences.py HORIZON), but a monitoring
that runs for months needs them made again before the horizon passes. A daily job (05:00 Japan
time, before the office hours, after any night's maintenance) runs `municloud alerts silences
--sync`: it creates what the coming weeks need, keeps what is there, and expires what sla.yaml no
longer asks. Exit 1 (no Alertmanager, or it refused) shows as a failed unit. The files are written
and installed by toolkit/schedule.py, shared with the other scheduled jobs."""

from __future__ import annotations

from pathlib import Path

from inventory.environment import SCHEDULED_JOB_VARIABLES
from toolkit.schedule import Job, job_environment, municloud_command

UNIT = "municloud-alert-silences"


def silences_job(env: str, folder: Path) -> Job:
    """The daily sync; `folder` holds cron's log (a systemd timer's output goes to the journal)."""
    return Job(
        unit=UNIT,
        description=f"municloud: the maintenance windows' silences in Alertmanager (environment {env})",
        timer_description="municloud: the maintenance windows' silences, every day at 05:00 JST",
        on_calendar="*-*-* 05:00:00 Asia/Tokyo",
        command=municloud_command("alerts", "silences", "--sync", "--env", env),
        exit_note="exit 1: no Alertmanager runs for the environment, or it refused a silence; 2: invalid input",
        cron_comment="municloud: the maintenance windows' silences, every day at 05:00 Japan time (any host zone)",
        cron_days="0 * * * *",  # hourly; the test in Japan's time lets 05:00 through
        cron_when=("%H", "05"),
        log=folder / "cron.log",
        environment=job_environment(SCHEDULED_JOB_VARIABLES),
    )
