"""The scheduled jobs (toolkit/schedule.py): the SLA report's monthly timer and the hand-over's yearly
one, their units and cron lines as printed, and `--install` writing them (into a temporary folder,
systemctl recorded instead of run)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from handover.schedule import handover_job
from monitoring.sla.schedule import sla_job
from municloud.cli.main import app
from toolkit import schedule
from toolkit.schedule import Job, schedule_files


def _line(text: str, prefix: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(prefix))


def test_the_sla_job_runs_last_months_report_on_the_1st_at_6_in_japan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", "/var/lib/municloud-test")
    monkeypatch.delenv("MUNICLOUD_INVENTORY", raising=False)
    monkeypatch.setenv("MUNICLOUD_BINDING", "/etc/municloud/prod-binding.yaml")
    files = schedule_files(sla_job("prod", Path("/srv/sla")))
    assert _line(files.timer, "OnCalendar=") == "OnCalendar=*-*-01 06:00:00 Asia/Tokyo"
    assert "Persistent=true" in files.timer and "Unit=municloud-sla-report.service" in files.timer
    command = _line(files.service, "ExecStart=").removeprefix("ExecStart=")
    assert command.endswith(" sla report --month previous --env prod --out /srv/sla")
    # A timer's service starts with systemd's empty environment: the state directory and the binding
    # of where it was scheduled go with it (it read the default state directory before).
    assert [line for line in files.service.splitlines() if line.startswith("Environment=")] == [
        "Environment=MUNICLOUD_STATE_DIR=/var/lib/municloud-test",
        "Environment=MUNICLOUD_BINDING=/etc/municloud/prod-binding.yaml",
    ]
    variables = "MUNICLOUD_STATE_DIR=/var/lib/municloud-test MUNICLOUD_BINDING=/etc/municloud/prod-binding.yaml"
    assert files.cron == (
        "# municloud: last month's SLA reports, the 1st at 06:00 Japan time (any host time zone)\n"
        f'0 * 1,28-31 * * root [ "$(TZ=Asia/Tokyo date +\\%d\\%H)" = "0106" ] && {variables} {command} '
        ">> /srv/sla/cron.log 2>&1\n"
    )


def test_the_handover_job_delivers_the_previous_fiscal_year_on_april_1st(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUNICLOUD_STATE_DIR", "/var/lib/municloud-test")
    monkeypatch.delenv("MUNICLOUD_INVENTORY", raising=False)
    files = schedule_files(handover_job("prod", Path("/srv/handover")))
    assert _line(files.timer, "OnCalendar=") == "OnCalendar=*-04-01 06:00:00 Asia/Tokyo"
    assert "Persistent=true" in files.timer and "Unit=municloud-handover.service" in files.timer
    assert "WantedBy=timers.target" in files.timer and "Type=oneshot" in files.service
    command = _line(files.service, "ExecStart=").removeprefix("ExecStart=")
    assert command.endswith(" handover run --fiscal-year previous --env prod --out /srv/handover")
    # the job finds the towns' keys and packages where this installation keeps them
    assert _line(files.service, "Environment=") == "Environment=MUNICLOUD_STATE_DIR=/var/lib/municloud-test"
    comment, line = files.cron.splitlines()
    assert comment.startswith("# municloud: the fiscal-year hand-over, April 1st at 06:00 Japan time")
    assert line == (
        '0 * 1,31 3,4 * root [ "$(TZ=Asia/Tokyo date +\\%m\\%d\\%H)" = "040106" ] && '
        f"MUNICLOUD_STATE_DIR=/var/lib/municloud-test {command} >> /srv/handover/cron.log 2>&1"
    )


def test_a_value_with_a_space_is_quoted_for_systemd_and_the_shell() -> None:
    job = Job(
        unit="municloud-x",
        description="x",
        timer_description="x",
        on_calendar="daily",
        command="/bin/true",
        exit_note="none",
        cron_comment="x",
        cron_days="0 * * * *",
        cron_when=("%H", "06"),
        log=Path("/tmp/x.log"),
        environment={"MUNICLOUD_STATE_DIR": "/srv/my state"},
    )
    files = schedule_files(job)
    assert 'Environment="MUNICLOUD_STATE_DIR=/srv/my state"\n' in files.service
    assert "&& MUNICLOUD_STATE_DIR='/srv/my state' /bin/true >>" in files.cron


@pytest.mark.parametrize(
    ("command", "unit", "needle"),
    [
        (["sla", "schedule"], "municloud-sla-report", "sla report --month previous --env lab --out "),
        (["handover", "schedule"], "municloud-handover", "handover run --fiscal-year previous --env lab --out "),
    ],
)
def test_schedule_prints_the_units_and_the_cron_line(command: list[str], unit: str, needle: str) -> None:
    result = CliRunner().invoke(app, [*command, "--out", "/srv/reports"])
    assert result.exit_code == 0, result.output
    assert f"# /etc/systemd/system/{unit}.service\n[Unit]\n" in result.output
    assert f"# /etc/systemd/system/{unit}.timer\n[Unit]\n" in result.output
    assert f"# or, without systemd: /etc/cron.d/{unit}\n# municloud: " in result.output
    assert f"{needle}/srv/reports\n" in result.output  # ExecStart
    assert f"{needle}/srv/reports >> /srv/reports/cron.log 2>&1\n" in result.output  # cron


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """/etc/systemd/system and /etc/cron.d in a temporary folder; systemctl recorded, not run."""
    calls: list[tuple[str, ...]] = []
    dirs = {"systemd": tmp_path / "systemd", "cron": tmp_path / "cron.d"}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setattr(schedule, "SYSTEMD_DIR", dirs["systemd"])
    monkeypatch.setattr(schedule, "CRON_DIR", dirs["cron"])
    monkeypatch.setattr(schedule, "systemctl", lambda *args: calls.append(args))
    monkeypatch.setattr(schedule, "has_systemd", lambda: True)
    return {**dirs, "calls": calls}


@pytest.mark.parametrize(
    ("command", "unit", "on_calendar"),
    [
        (["sla", "schedule"], "municloud-sla-report", "*-*-01 06:00:00 Asia/Tokyo"),
        (["handover", "schedule"], "municloud-handover", "*-04-01 06:00:00 Asia/Tokyo"),
    ],
)
def test_install_writes_the_units_and_enables_the_timer(
    system: dict, tmp_path: Path, command: list[str], unit: str, on_calendar: str
) -> None:
    reports = tmp_path / "reports"
    result = CliRunner().invoke(app, [*command, "--install", "--env", "prod", "--out", str(reports)])
    assert result.exit_code == 0, result.output
    service, timer = system["systemd"] / f"{unit}.service", system["systemd"] / f"{unit}.timer"
    assert f"OnCalendar={on_calendar}\n" in timer.read_text()
    assert f"--env prod --out {reports}\n" in service.read_text()
    assert system["calls"] == [("daemon-reload",), ("enable", "--now", f"{unit}.timer")]
    assert reports.is_dir() and not list(system["cron"].iterdir())
    assert f"installed: {service}, {timer}" in result.output.replace("\n", "")


def test_install_uses_cron_without_systemd_or_when_asked(system: dict, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reports = tmp_path / "reports"
    asked = CliRunner().invoke(app, ["handover", "schedule", "--install", "--cron", "--out", str(reports)])
    assert asked.exit_code == 0, asked.output
    cron = (system["cron"] / "municloud-handover").read_text()
    assert '"040106" ]' in cron and f"--out {reports} >> {reports}/cron.log 2>&1\n" in cron
    monkeypatch.setattr(schedule, "has_systemd", lambda: False)
    assert CliRunner().invoke(app, ["sla", "schedule", "--install", "--out", str(reports)]).exit_code == 0
    assert '"0106" ]' in (system["cron"] / "municloud-sla-report").read_text()
    assert not list(system["systemd"].iterdir()) and system["calls"] == []


def test_install_refused_by_systemd_exits_1_naming_why(system: dict, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*args: str) -> None:
        raise subprocess.CalledProcessError(1, ["systemctl", *args], stderr="Access denied")

    monkeypatch.setattr(schedule, "systemctl", refuse)
    result = CliRunner().invoke(app, ["handover", "schedule", "--install", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "could not install the schedule: Access denied" in result.output


def _cron_matches(field: str, value: int) -> bool:
    if field == "*":
        return True
    values: set[int] = set()
    for part in field.split(","):
        first, _, last = part.partition("-")
        values.update(range(int(first), int(last or first) + 1))
    return value in values


def _runs(job, host: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When the job's cron line lets its command run, on a host in `host`'s zone (every half hour
    tried: a host at a half-hour offset fires at :30 in Japan)."""
    minute, hour, day, month, weekday = job.cron_days.split()
    japan = ZoneInfo(job.zone)
    moment, ran = start.replace(tzinfo=host), []
    while moment < end.replace(tzinfo=host):
        fires = all(
            _cron_matches(f, v)
            for f, v in ((minute, moment.minute), (hour, moment.hour), (day, moment.day), (month, moment.month))
        )
        if fires and weekday == "*" and moment.astimezone(japan).strftime(job.cron_when[0]) == job.cron_when[1]:
            ran.append(moment.astimezone(japan))
        moment += dt.timedelta(minutes=30)
    return ran


@pytest.mark.parametrize("offset_hours", [-12, -8, -5, 0, 1, 3, 5.5, 9, 10, 14])
def test_the_handover_cron_line_runs_once_at_april_1st_6_in_japan_in_any_host_zone(offset_hours: float) -> None:
    """cron fires in the host's zone; the line's test in Japan's lets exactly one firing through, in the
    hour of April 1st 06:00 JST (a host at a half-hour offset: the firing at 06:30 JST)."""
    job = handover_job("prod", Path("/srv/handover"))
    host = dt.timezone(dt.timedelta(hours=offset_hours))
    ran = _runs(job, host, dt.datetime(2027, 2, 27), dt.datetime(2027, 5, 3))
    assert len(ran) == 1 and (ran[0].month, ran[0].day, ran[0].hour) == (4, 1, 6), ran


@pytest.mark.parametrize("offset_hours", [-12, -8, -5, 0, 1, 3, 5.5, 9, 10, 14])
def test_the_sla_cron_line_runs_once_a_month_on_the_1st_at_6_in_japan_in_any_host_zone(offset_hours: float) -> None:
    """Every month of a year, in each zone: one run, the 1st at 06:00 JST (a UTC host reaches it on
    the previous month's last day, 21:00: a line firing on the 1st and 2nd only never ran there)."""
    host = dt.timezone(dt.timedelta(hours=offset_hours))
    ran = _runs(sla_job("prod", Path("/srv/sla")), host, dt.datetime(2027, 1, 2), dt.datetime(2028, 1, 3))
    assert [(r.month, r.day, r.hour) for r in ran] == [(m, 1, 6) for m in [*range(2, 13), 1]], ran


def test_the_maintenance_silences_are_synced_every_day_at_five_in_japan(system: dict, tmp_path: Path) -> None:
    logs = tmp_path / "monitoring"
    printed = CliRunner().invoke(app, ["alerts", "schedule", "--env", "prod", "--out", str(logs)])
    assert printed.exit_code == 0, printed.output
    assert "alerts silences --sync --env prod\n" in printed.output  # ExecStart
    assert (
        '"05" ] && ' in printed.output
        and f"alerts silences --sync --env prod >> {logs}/cron.log 2>&1\n" in printed.output
    )
    installed = CliRunner().invoke(app, ["alerts", "schedule", "--install", "--env", "prod", "--out", str(logs)])
    assert installed.exit_code == 0, installed.output
    timer = system["systemd"] / "municloud-alert-silences.timer"
    assert "OnCalendar=*-*-* 05:00:00 Asia/Tokyo\n" in timer.read_text()
    assert system["calls"] == [("daemon-reload",), ("enable", "--now", "municloud-alert-silences.timer")]
