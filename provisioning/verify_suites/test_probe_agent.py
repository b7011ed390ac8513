"""Each town's in-office server: the probe exporter runs with exactly the town's systems, every
subscribed (town, system) answers from the town across the WAN, and the other towns' LANs do not
(the shared WAN is hub and spoke: towns reach the data centers, never each other)."""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.roles("probe")


def test_probe_exporter_runs_with_the_towns_systems(server, verify_plan) -> None:
    service = server.host.service("municloud-probe-exporter")
    assert service.is_running and service.is_enabled
    assert server.host.socket(f"tcp://{server.spec['mgmt']}:{verify_plan['probe_exporter_port']}").is_listening
    config = yaml.safe_load(server.host.file("/etc/municloud/probe.yaml").content_string)
    assert config["town"] == server.spec["town"]
    assert sorted(s["id"] for s in config["systems"]) == sorted(server.spec["systems"])


def test_every_subscribed_system_answers_from_the_town(server, verify_plan) -> None:
    base = f"https://{verify_plan['service_address']}:{verify_plan['business_app_port']}"
    systems = server.spec["systems"]
    urls = [f"{base}/health/{server.spec['town']}/{system}" for system in systems]
    answers = server.http_get_many(urls, tls=verify_plan["tls"]["town"])  # as the town, its certificate
    failed = {}
    for system, (status, body) in zip(systems, answers, strict=True):
        if status != 200 or json.loads(body).get("system") != system:
            failed[system] = f"{status} {body.strip()[:80]}"
    assert not failed, f"{len(failed)} of {len(systems)} systems do not answer: {failed}"


def test_other_towns_are_unreachable(server) -> None:
    lans = server.spec["other_town_lans"]
    reached = server.reachable(list(lans.values()))
    assert not reached, f"reaches the LAN of {sorted(town for town, address in lans.items() if address in reached)}"


def test_the_handover_account_is_sftp_only_in_its_chroot(server) -> None:
    """The fiscal-year hand-over's receiving account: no shell, SFTP only, chrooted, key only."""
    effective = server.host.check_output("sshd -T -C user=handover,host=check,addr=198.18.0.1").lower()
    settings = dict(line.split(" ", 1) for line in effective.splitlines() if " " in line)
    assert settings.get("chrootdirectory") == "/srv/handover", settings.get("chrootdirectory")
    assert settings.get("forcecommand", "").startswith("internal-sftp"), settings.get("forcecommand")
    assert settings.get("passwordauthentication") == "no" and settings.get("permittty") == "no"
    assert server.host.file("/srv/handover").user == "root" and server.host.file("/srv/handover").mode == 0o755
