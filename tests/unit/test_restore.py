"""Point-in-time recovery's logic without machines: the range a repository can restore to and the
refusal outside it, the restore point's form for PostgreSQL, and the command's input errors."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from monitoring.incidents import NoIncident, latest_incident
from monitoring.promapi import Series
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


class _Probes:
    """Prometheus' answer to the range-vector query: each system's raw samples."""

    def __init__(self, rounds: list[tuple[float, dict[str, int]]]) -> None:
        self.rounds = rounds
        self.asked: list[str] = []

    def query(self, expr: str, at: float) -> list[Series]:
        self.asked.append(expr)
        systems = sorted({s for _, values in self.rounds for s in values})
        return [Series({"town": "ina", "system": s}, [(t, v[s]) for t, v in self.rounds if s in v]) for s in systems]


def test_the_last_good_round_before_the_latest_incident() -> None:
    ok, bad = {"juki": 1, "zei": 1}, {"juki": 1, "zei": 0}
    probes = _Probes([(100, ok), (115, bad), (130, ok), (145, ok), (160, bad), (175, bad), (190, ok)])
    incident = latest_incident(probes, "ina", now=200)  # type: ignore[arg-type]
    assert (incident.last_good, incident.first_bad, incident.ongoing) == (145, 160, False)
    assert probes.asked == ['municloud_probe_success{town="ina"}[21600s]']
    ongoing = latest_incident(_Probes([(100, ok), (115, bad), (130, bad)]), "ina", now=140)  # type: ignore[arg-type]
    assert (ongoing.last_good, ongoing.first_bad, ongoing.ongoing) == (100, 115, True)


@pytest.mark.parametrize(
    ("rounds", "reason"),
    [
        ([], "no probe data of ina"),
        ([(100, {"juki": 1}), (115, {"juki": 1})], "no incident to restore before"),
        ([(100, {"juki": 0}), (115, {"juki": 0})], "the good state is older"),
    ],
)
def test_no_moment_before_an_incident_says_why(rounds, reason) -> None:
    with pytest.raises(NoIncident, match=reason):
        latest_incident(_Probes(rounds), "ina", now=200)  # type: ignore[arg-type]


def test_before_incident_needs_a_town_and_excludes_to() -> None:
    result = runner.invoke(app, ["db", "restore", "--before-incident", "--yes"])
    assert result.exit_code == 2 and "--town" in result.output
    result = runner.invoke(app, ["db", "restore", "--yes", "--town", "ina"])
    assert result.exit_code == 2 and "give the moment" in result.output
