"""Alerts that reach people, on the small lab: `monitor up` runs Prometheus, Alertmanager and the
lab's mail server, and silences the contract's maintenance windows ahead of them; a town's
in-office server stopped and DC1 cut off at the same time must reach,
within 6 minutes, exactly the people contacts.yaml names: the town's server to its IT officers and
the vendor's on-call (nobody else), the lost data center to the vendor, the secretariat and every
town, one grouped message each (not one per town and system), even though Alertmanager crashed as
they began and was started again two minutes later."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitoring.mail_templates import alert_texts
from monitoring.mailbox import Mail, read_inbox
from monitoring.server import MonitorPaths, read_record

from .conftest import SMALL_SLOT, SmallLab, municloud_cli

pytestmark = pytest.mark.lab
PORT = 19290 + 10 * SMALL_SLOT  # beside test_sla_lab's 19190 + 10 * slot
DEADLINE_S = 360  # the 6 minutes from the fault to the message
ALERTMANAGER_DOWN_S = 120  # past the first alert's firing: Prometheus' sends to it fail meanwhile


def _firing(mails: list[Mail], alertname: str) -> list[Mail]:
    title = alert_texts()[alertname]["title"]
    return [m for m in mails if title in m.subject and not m.subject.startswith("[municloud 復旧]")]


def test_a_stopped_town_server_and_a_lost_dc_reach_exactly_their_people(provisioned_lab: SmallLab) -> None:
    lab = provisioned_lab
    inventory = lab.inventory
    contacts = inventory.contacts
    town = lab.towns[-1]
    server = next(h.name for h in lab.environment().servers() if h.role == "probe" and h.town == town)
    maildir: Path = MonitorPaths.for_env("lab").maildir
    up_args = (
        "monitor", "up", "--port", str(PORT), "--wan-port", str(PORT + 1),
        "--alertmanager-port", str(PORT + 2), "--mail-port", str(PORT + 3),
    )  # fmt: skip
    up = municloud_cli(*up_args)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        deadline = time.monotonic() + 180  # every target scraped once
        status = municloud_cli("monitor", "status", "--json")
        while status.returncode != 0 and time.monotonic() < deadline:
            time.sleep(5)
            status = municloud_cli("monitor", "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        assert {"prometheus", "alertmanager", "mail", "wan-exporter"} <= set(json.loads(status.stdout)["processes"])
        # the contract's maintenance windows are silenced ahead of them (their next occurrences)
        listed = municloud_cli("alerts", "silences", "--json")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        sources = {s["source"].split("@")[0] for s in json.loads(listed.stdout)["silences"]}
        assert {f"maintenance:{w.id}" for w in inventory.sla.maintenance_windows} <= sources, sources
        before = {m.key for m in read_inbox(maildir)}

        faulted = datetime.now(UTC)
        lab.lab.fault_stop_container(server)
        lab.lab.fault_isolate_site("dc1")
        # Alertmanager crashes as the alerts begin: `monitor status` says so, and once `monitor up`
        # has started it again the alerts Prometheus keeps re-sending still reach everyone in time
        os.kill(read_record(MonitorPaths.for_env("lab"))["alertmanager"].ref.pid, signal.SIGKILL)
        time.sleep(1)
        status = municloud_cli("monitor", "status")
        assert status.returncode == 1 and "alertmanager is not running" in status.stdout, status.stdout
        time.sleep(ALERTMANAGER_DOWN_S)
        again = municloud_cli(*up_args)
        assert again.returncode == 0, again.stdout + again.stderr
        officers = frozenset(p.email for p in contacts.towns[town].it_officers)
        vendor = frozenset(p.email for p in contacts.vendor_oncall.people)
        secretariat = frozenset(p.email for p in contacts.secretariat.people)
        everyone = {vendor, secretariat} | {
            frozenset(p.email for p in contacts.towns[t.id].it_officers) for t in inventory.towns
        }

        def new() -> list[Mail]:
            return [m for m in read_inbox(maildir) if m.key not in before]

        def arrived() -> bool:
            probe = _firing(new(), "MunicloudProbeExporterDown")
            dc = _firing(new(), "MunicloudDataCenterNotServing")
            return len(probe) >= 2 and {frozenset(m.recipients) for m in dc} >= everyone

        while not arrived() and (datetime.now(UTC) - faulted).total_seconds() < DEADLINE_S:
            time.sleep(5)
        took = (datetime.now(UTC) - faulted).total_seconds()
        time.sleep(40)  # longer than the group wait: a second message per receiver would have come by now
        mails = new()
        subjects = [f"{m.recipients} {m.subject}" for m in mails]
        assert arrived(), f"after {took:.0f} s: {subjects}"

        probe = _firing(mails, "MunicloudProbeExporterDown")
        town_name = inventory.town(town).name
        assert all(town_name in m.subject for m in probe), subjects
        assert Counter(frozenset(m.recipients) for m in probe) == Counter({officers: 1, vendor: 1}), subjects

        dc = _firing(mails, "MunicloudDataCenterNotServing")
        per_receiver = Counter(frozenset(m.recipients) for m in dc)
        assert set(per_receiver) == everyone and set(per_receiver.values()) == {1}, per_receiver
        assert all("第1データセンター" in m.subject for m in dc), subjects
        print(f"messages {took:.0f} s after the faults: {len(probe)} for {town}'s server, {len(dc)} for DC1")
    finally:
        lab.lab.heal()
        down = municloud_cli("monitor", "down")
        assert down.returncode == 0, down.stdout + down.stderr
