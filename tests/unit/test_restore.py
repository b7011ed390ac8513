"""Point-in-time recovery's logic without machines: the range a repository can restore to and the
refusal outside it, the restore point's form for PostgreSQL, and the command's input errors."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from municloud.cli.main import app
from municloud.cli.provision_cmd import _restore_point
from provisioning.restore import JST, RestoreRefused, RestoreWindow, _pg_time, jst_text

runner = CliRunner()
UTC = dt.UTC


def test_a_time_outside_the_repository_is_refused_with_what_it_holds() -> None:
    window = RestoreWindow(
        1, "dc1", dt.datetime(2026, 12, 6, 16, 0, tzinfo=UTC), dt.datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    )
    window.refuse_outside(dt.datetime(2026, 12, 7, 5, 59, tzinfo=UTC))  # inside: nothing said
    with pytest.raises(RestoreRefused) as refused:
        window.refuse_outside(dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert str(refused.value) == (
        "2026-12-01 09:00:00 JST is outside what repository 1 (dc1) holds: "
        "2026-12-07 01:00:00 JST to 2026-12-07 15:00:00 JST"
    )
    with pytest.raises(RestoreRefused, match="outside"):
        window.refuse_outside(dt.datetime(2026, 12, 7, 6, 0, 1, tzinfo=UTC))  # after the newest WAL


def test_the_restore_point_goes_to_postgresql_in_utc_with_its_zone() -> None:
    moment = dt.datetime(2026, 12, 7, 15, 51, 12, 250000, tzinfo=JST)
    assert _pg_time(moment) == "2026-12-07 06:51:12.250000+00"
    assert jst_text(moment) == "2026-12-07 15:51:12 JST"
    with pytest.raises(ValueError, match="time zone"):
        _pg_time(dt.datetime(2026, 12, 7, 15, 51))


def test_a_time_without_a_zone_is_japans() -> None:
    assert _restore_point("2026-12-07T15:51:12") == dt.datetime(2026, 12, 7, 15, 51, 12, tzinfo=JST)
    assert _restore_point("2026-12-07T06:51:12+00:00").utcoffset() == dt.timedelta(0)


def test_restore_asks_for_yes_and_a_time() -> None:
    result = runner.invoke(app, ["db", "restore", "--to", "2026-12-07T15:51:12", "--town", "ina"])
    assert result.exit_code == 2 and "--yes" in result.output
    result = runner.invoke(app, ["db", "restore", "--to", "yesterday", "--town", "ina", "--yes"])
    assert result.exit_code == 2 and "is not a time" in result.output


def test_restore_explains_itself() -> None:
    result = runner.invoke(app, ["db", "restore", "--help"])
    assert result.exit_code == 0
    for words in ("--town", "--overwrite-only-copy", "--repository", "Exit 0"):
        assert words in result.output
