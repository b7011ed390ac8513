"""Scheduling the hand-over: after the fiscal year's end (March 31st), on April 1st at 06:00 Japan time,
the fiscal year that just ended is exported, packaged and delivered to every town, and its report
(年度末データ納品報告書) written into `<root>/FY<year>/`: `municloud handover run --fiscal-year previous`.

A systemd timer (Persistent=true: a host that was down at the time runs it when it is back) or, for
hosts without systemd, a cron line that fires hourly on March 31st and April 1st (the days that hold
April 1st 06:00 in Japan in any host time zone) and runs only when it is that hour in Japan. A run
where a town failed exits 1 (the report names it and why), which the timer's unit shows as failed.
The files are written and installed by toolkit/schedule.py, shared with the other scheduled jobs.
"""

from __future__ import annotations

from pathlib import Path

from inventory.environment import SCHEDULED_JOB_VARIABLES
from toolkit.schedule import Job, job_environment, municloud_command

UNIT = "municloud-handover"


def command_line(env: str, root: Path) -> str:
    return municloud_command("handover", "run", "--fiscal-year", "previous", "--env", env, "--out", str(root))


def handover_job(env: str, root: Path) -> Job:
    return Job(
        unit=UNIT,
        description=(
            f"municloud: the fiscal-year hand-over of the year just ended (environment {env}): export, package, "
            f"deliver; its report into {root}/FY<year>/"
        ),
        timer_description="municloud: fiscal-year hand-over on April 1st at 06:00 JST",
        on_calendar="*-04-01 06:00:00 Asia/Tokyo",
        command=command_line(env, root),
        exit_note="exit 1: a town was not delivered (the report names it and why; the others were); 2: invalid input",
        cron_comment="municloud: the fiscal-year hand-over, April 1st at 06:00 Japan time (any host time zone)",
        cron_days="0 * 1,31 3,4 *",
        cron_when=("%m%d%H", "040106"),
        log=root / "cron.log",
        environment=job_environment(SCHEDULED_JOB_VARIABLES),
    )
