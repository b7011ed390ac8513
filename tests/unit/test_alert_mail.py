"""The alert e-mails as people receive them: a real Alertmanager (Debian's) with the generated
configuration and Japanese template, sending to the lab's real mail server (aiosmtpd's Maildir
handler) on loopback. An alert handed over the way Prometheus does arrives with the town's and the
system's Japanese names, the tier, Japan time, the value and what to do, at exactly its receivers;
and a message the mail server could not take while it was down arrives once it is back."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory.check import load_inventory
from monitoring.alerting import MailSettings, alertmanager_config, write_config
from monitoring.alertmanager import AlertmanagerAPI, api_time
from monitoring.mail_templates import TIMEZONE, alert_texts, write_mail_template
from monitoring.mailbox import Mail, mail_server_argv, read_inbox
from monitoring.notices import drill_notice
from monitoring.rules import alerting_rules
from toolkit.processes import wait_until

pytestmark = pytest.mark.skipif(
    not shutil.which("prometheus-alertmanager"), reason="needs Debian's prometheus-alertmanager"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class MailServer:
    maildir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(mail_server_argv(self.maildir, self.port), stdin=subprocess.DEVNULL)
        assert wait_until(lambda: _listening(self.port), 15, 0.1), "the mail server did not listen"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None


@dataclass
class Alerting:
    api: AlertmanagerAPI
    mail: MailServer

    def inbox(self) -> list[Mail]:
        return read_inbox(self.mail.maildir)

    def wait_for(self, count: int, timeout: float = 30) -> list[Mail]:
        wait_until(lambda: len(self.inbox()) >= count, timeout, 0.2)
        time.sleep(1)  # anything more the group would send
        return self.inbox()


@pytest.fixture
def alerting(tmp_path: Path) -> Iterator[Alerting]:
    inventory = load_inventory()
    mail = MailServer(tmp_path / "mail", _free_port())
    mail.start()
    template = write_mail_template(inventory, "lab", tmp_path / "alert-mail.tmpl")
    settings = MailSettings(f"127.0.0.1:{mail.port}", "municloud-alerts@lab.municloud.example", require_tls=False)
    # a second to group and to retry: the test cannot wait the production timings' minutes
    config = alertmanager_config(inventory, settings, templates=[str(template)], group_wait="1s", group_interval="2s")
    path = write_config(config, tmp_path / "alertmanager.yml")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        "prometheus-alertmanager",
        f"--config.file={path}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}",
        "--cluster.listen-address=",
    ]
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TZ": TIMEZONE})
    try:
        api = AlertmanagerAPI(url)
        assert wait_until(api.ready, 30, 0.2), (tmp_path / "alertmanager.log").read_text()
        yield Alerting(api, mail)
    finally:
        process.terminate()
        process.wait(10)
        mail.stop()
        print((tmp_path / "alertmanager.log").read_text()[-3000:], file=sys.stderr)


def _alert(labels: dict[str, str], annotations: dict[str, str], since: datetime) -> dict[str, object]:
    return {
        "labels": labels,
        "annotations": annotations,
        "startsAt": api_time(since),
        "endsAt": api_time(datetime.now(UTC) + timedelta(minutes=5)),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }


def _officers(town: str) -> set[str]:
    return {p.email for p in load_inventory().contacts.towns[town].it_officers}


def test_every_alert_the_rules_raise_has_its_japanese_words() -> None:
    names = {r["alert"] for r in alerting_rules(load_inventory())["groups"][0]["rules"]}
    texts = alert_texts()
    assert names <= set(texts), f"alert-texts.yaml lacks {sorted(names - set(texts))}"
    assert all(t["title"] and t["action"] and t["report"] for t in texts.values())


def test_a_service_alert_reaches_the_town_the_vendor_and_the_secretariat_in_japanese(alerting: Alerting) -> None:
    since = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)  # 10:02:03 in Japan
    labels = {
        "alertname": "MunicloudErrorBudgetBurnPage",
        "kind": "service",
        "severity": "page",
        "tier": "critical",
        "town": "ina",
        "system": "resident-registry",
    }
    alerting.api.post_alerts([_alert(labels, {"summary": "ina/resident-registry burns", "value": "12.5%"}, since)])
    mails = alerting.wait_for(3)
    contacts = load_inventory().contacts
    expected = {
        frozenset(_officers("ina")),
        frozenset(p.email for p in contacts.vendor_oncall.people),
        frozenset(p.email for p in contacts.secretariat.people),
    }
    assert {frozenset(m.recipients) for m in mails} == expected, [m.recipients for m in mails]
    for mail in mails:
        assert mail.subject.startswith("[municloud 緊急] 業務システムの可用性が急速に低下しています"), mail.subject
        assert "伊奈町" in mail.subject and "住民基本台帳" in mail.subject, mail.subject
        assert "団体: 伊奈町 (ina)" in mail.text
        assert "業務システム: 住民基本台帳" in mail.text
        assert "重要度: 重要度A" in mail.text
        assert "発生: 2026-12-07 10:02:03 JST" in mail.text, mail.text
        assert "現在値: 12.5%" in mail.text
        assert "対応: 該当団体の窓口業務への影響を確認し" in mail.text
        assert "詳細: municloud sla report --env lab" in mail.text
        assert "伊奈町" in mail.html


def test_a_lost_data_center_is_one_message_per_receiver(alerting: Alerting) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    labels = {"alertname": "MunicloudDataCenterNotServing", "kind": "datacenter", "severity": "page", "site": "dc1"}
    # with the towns' own service alerts it causes at the same time: inhibited, never sent
    caused = [
        {**labels, "alertname": "MunicloudErrorBudgetBurnPage", "kind": "service", "town": t, "system": "juki-net"}
        for t in ("ina", "ogose")
    ]
    # the site's alert first, as its rule (for: 1m) fires before theirs (for: 2m): Alertmanager's
    # inhibitor learns of an alert asynchronously, so ones posted together may slip past it
    alerting.api.post_alerts([_alert(labels, {"summary": "..."}, since)])
    assert wait_until(lambda: len(alerting.api.alerts()) == 1, 10, 0.1)
    time.sleep(0.5)
    alerting.api.post_alerts([_alert(x, {"summary": "..."}, since) for x in caused])
    towns = [t.id for t in load_inventory().towns]
    mails = alerting.wait_for(2 + len(towns))
    assert len(mails) == 2 + len(towns), [m.subject for m in mails]
    assert all("主系データセンターがサービスを提供していません" in m.subject for m in mails)
    assert all("第1データセンター" in m.subject for m in mails), mails[0].subject
    for town in towns:
        assert sum(1 for m in mails if set(m.recipients) == _officers(town)) == 1, town


def test_a_message_the_mail_server_missed_arrives_when_it_is_back(alerting: Alerting) -> None:
    alerting.mail.stop()
    labels = {"alertname": "MunicloudWanCircuitDown", "kind": "wan", "severity": "ticket", "town": "ogose"}
    alerting.api.post_alerts(
        [_alert({**labels, "circuit": "primary"}, {"summary": "ogose primary down"}, datetime.now(UTC))]
    )
    time.sleep(5)  # Alertmanager tries, fails, and keeps the notification for its next flush
    assert alerting.inbox() == []
    alerting.mail.start()
    mails = alerting.wait_for(2, timeout=60)
    assert len(mails) == 2 and all("越生町" in m.subject for m in mails), [m.subject for m in mails]


def test_a_drill_tells_its_towns_the_vendor_and_the_secretariat_that_it_runs_and_that_it_ended(
    alerting: Alerting,
) -> None:
    until = datetime.now(UTC) + timedelta(minutes=30)
    with drill_notice(
        alerting.api, "circuit-failover", "回線切替訓練", ["ina", "ogose"], "drill:x@1", until, print
    ) as record:
        started = alerting.wait_for(4)
    assert record["status"] == "sent" and record["ended"], record
    contacts = load_inventory().contacts
    told = {
        frozenset(_officers("ina")),
        frozenset(_officers("ogose")),
        frozenset(p.email for p in contacts.vendor_oncall.people),
        frozenset(p.email for p in contacts.secretariat.people),
    }
    assert {frozenset(m.recipients) for m in started} == told, [m.recipients for m in started]
    assert all(m.subject.startswith("[municloud お知らせ] BCP訓練を実施しています") for m in started), started
    ended = [m for m in alerting.wait_for(8) if m.subject.startswith("[municloud 終了]")]
    assert {frozenset(m.recipients) for m in ended} == told, [m.subject for m in alerting.inbox()]
