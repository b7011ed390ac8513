"""Who receives which alert: Alertmanager's configuration, generated from the inventory's contacts
(contacts.yaml) and checked with `amtool check-config`.

Every alerting rule (monitoring/rules.py) says its `kind`; the routes send each kind to the parties
it concerns, each party its own message:
  service      a town's business systems (burn rate): that town's officers, the vendor, the secretariat
  probe-data   a town's probes silent (its server, its exporter): that town's officers, the vendor
  wan          a town's circuits: the carrier's NOC, that town's officers
  datacenter   a data center lost: the vendor, the secretariat and every town's officers, one
               message each for the whole site (grouped by site, not by town or system)
  drill        a BCP drill's notice (`drill run` posts it; its silence keeps everything else quiet):
               each town the drill affects, the vendor and the secretariat, one message each
  backup, certificate, anything else: the vendor's on-call (the root route: nothing goes unrouted)
A still-firing alert is sent again after its tier's interval (contacts.yaml's repeat_minutes).
Inhibition: a town cut off from the WAN silences that town's service and probe-data alerts (they
are its consequence); a data center lost silences the service alerts it causes in every town.

Receivers are named after the party: `vendor`, `secretariat`, `carrier`, `town-<id>`.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.contacts import DEFAULT_REPEAT, Person

from .mail_templates import EMAIL_FIELDS, write_mail_template
from .rules import TOWN_CUT_OFF

KINDS = ("service", "probe-data", "wan", "datacenter", "backup", "certificate")
DRILL_KIND = "drill"  # not a rule's: the notice `drill run` hands Alertmanager while a drill runs
DRILL_NOTICE = "MunicloudDrillRunning"
PARTY_RECEIVERS = {"vendor_oncall": "vendor", "secretariat": "secretariat", "carrier_noc": "carrier"}
GROUP_WAIT = "30s"  # the alerts one cause raises together (a DC's towns) go out in one message
GROUP_INTERVAL = "5m"  # a group's changes (and a failed delivery's retry) at most this often


class AlertingError(ValueError):
    """The configuration cannot be made or is refused (samples in production, amtool's verdict)."""


@dataclass(frozen=True)
class MailSettings:
    """How the messages leave: the relay (`host:port`), the sender, and whether the relay must speak
    STARTTLS. In the lab, the mail server the lab starts (no TLS, no login); in production the relay
    and its login come from the environment (never from the repository)."""

    smarthost: str
    sender: str
    require_tls: bool = True
    username: str | None = None
    password: str | None = None


def mail_settings(binding: EnvironmentBinding, lab_server: str) -> MailSettings:
    """How `binding`'s environment sends its alerts: a lab to its own mail server at `lab_server`
    (host:port, monitoring/mailbox.py); any other to the relay its environment variables name."""
    mail = binding.config.alert_mail
    if mail is None:
        raise AlertingError(f"inventory/environments/{binding.name}.yaml: alert_mail: say how the alert e-mails leave")
    if binding.kind == "lab":
        return MailSettings(lab_server, mail.sender, require_tls=False)
    missing = [v for v in (mail.relay_env, mail.username_env, mail.password_env) if v and not os.environ.get(v)]
    if missing or not mail.relay_env:
        raise AlertingError(
            f"the alerts of '{binding.name}' leave through the relay its environment variables name: "
            f"set {', '.join(missing)} (inventory/environments/{binding.name}.yaml alert_mail)"
        )
    return MailSettings(
        os.environ[mail.relay_env],
        mail.sender,
        require_tls=mail.require_tls,
        username=os.environ.get(mail.username_env) if mail.username_env else None,
        password=os.environ.get(mail.password_env) if mail.password_env else None,
    )


def write_alertmanager_files(
    inventory: Inventory, binding: EnvironmentBinding, mail: MailSettings, directory: Path
) -> Path:
    """The e-mail template and Alertmanager's configuration naming it, written and checked by amtool;
    returns the configuration's path."""
    template = write_mail_template(inventory, binding.name, directory / "alert-mail.tmpl")
    config = alertmanager_config(inventory, mail, production=binding.kind == "prod", templates=[str(template)])
    return write_config(config, directory / "alertmanager.yml")


def town_receiver(town: str) -> str:
    return f"town-{town}"


def alertmanager_config(
    inventory: Inventory,
    mail: MailSettings,
    production: bool = False,
    templates: Iterable[str] = (),
    group_wait: str = GROUP_WAIT,
    group_interval: str = GROUP_INTERVAL,
) -> dict[str, Any]:
    """Alertmanager's configuration for `inventory`'s contacts. In production sample contacts are
    refused: the alerts would go to the reserved domain, that is to no one. (The group timings are
    for the tests, which cannot wait minutes for a message.)"""
    contacts = inventory.contacts
    if production and contacts.sample:
        raise AlertingError(
            "contacts.yaml holds SAMPLE addresses (`sample: true`): give the real ones and set sample: false "
            "before alerts go out in production"
        )
    towns = [t.id for t in inventory.towns]
    receivers = [_receiver(PARTY_RECEIVERS[key], party.people, mail) for key, party in contacts.parties().items()]
    receivers += [_receiver(town_receiver(t), contacts.towns[t].it_officers, mail) for t in towns]
    repeat = contacts.repeat_minutes
    tiers = [t.id for t in inventory.sla.tiers]

    def per_town(parties: list[str], group_by: list[str]) -> list[dict[str, Any]]:
        """Each town's alerts to its officers, and to `parties`, each a message of its own."""
        routes: list[dict[str, Any]] = [
            {"receiver": town_receiver(t), "matchers": [f'town="{t}"'], "group_by": list(group_by), "continue": True}
            for t in towns
        ]
        routes += [{"receiver": p, "group_by": list(group_by), "continue": True} for p in parties]
        routes[-1]["continue"] = False
        return routes

    def by_tier(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`routes` under one branch per tier, each repeating at its tier's interval."""
        # each branch its own copy: one list shared would be written once in YAML and referred to
        # (&id001), which nobody reading the generated file should have to follow
        branches = [
            {"matchers": [f'tier="{tier}"'], "repeat_interval": f"{repeat[tier]}m", "routes": copy.deepcopy(routes)}
            for tier in tiers
        ]
        return [*branches, {"repeat_interval": f"{repeat[DEFAULT_REPEAT]}m", "routes": copy.deepcopy(routes)}]

    everyone = [town_receiver(t) for t in towns]
    route = {
        "receiver": "vendor",
        "group_by": ["alertname", "kind"],
        "group_wait": group_wait,
        "group_interval": group_interval,
        "repeat_interval": f"{repeat[DEFAULT_REPEAT]}m",
        "routes": [
            {
                "matchers": ['kind="datacenter"'],
                "routes": [
                    {"receiver": r, "group_by": ["kind", "site"], "continue": True}
                    for r in ["vendor", "secretariat", *everyone]
                ],
            },
            {
                "matchers": ['kind="service"'],
                "routes": by_tier(per_town(["vendor", "secretariat"], ["kind", "town", "tier"])),
            },
            {"matchers": ['kind="probe-data"'], "routes": per_town(["vendor"], ["kind", "town"])},
            {"matchers": ['kind="wan"'], "routes": per_town(["carrier"], ["kind", "town"])},
            # a drill's notice (municloud drill run): each affected town, the vendor and the secretariat once
            {"matchers": [f'kind="{DRILL_KIND}"'], "routes": per_town(["vendor", "secretariat"], ["kind", "scenario"])},
        ],
    }
    route["routes"][0]["routes"][-1]["continue"] = False
    config: dict[str, Any] = {
        "global": {"smtp_smarthost": mail.smarthost, "smtp_from": mail.sender, "smtp_require_tls": mail.require_tls},
        "route": route,
        "inhibit_rules": [
            {
                "source_matchers": [f'alertname="{TOWN_CUT_OFF}"'],
                "target_matchers": ['kind=~"service|probe-data"'],
                "equal": ["town"],
            },
            {"source_matchers": ['kind="datacenter"'], "target_matchers": ['kind="service"']},
        ],
        "receivers": receivers,
        "templates": list(templates),
    }
    if mail.username:
        config["global"]["smtp_auth_username"] = mail.username
        config["global"]["smtp_auth_password"] = mail.password or ""
    return config


def _receiver(name: str, people: list[Person], mail: MailSettings) -> dict[str, Any]:
    if not people:  # the inventory's rules make this impossible; a route must reach someone
        raise AlertingError(f"receiver {name} has no one to send to")
    return {
        "name": name,
        # the Japanese subject and body of monitoring/mail_templates.py (its file in `templates`)
        "email_configs": [
            {"to": ", ".join(p.email for p in people), "send_resolved": True, **copy.deepcopy(EMAIL_FIELDS)}
        ],
    }


def write_config(config: dict[str, Any], path: Path) -> Path:
    """Written with owner-only permissions (a production relay's password may be in it), then checked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    header = "# Generated by municloud from the inventory's contacts (monitoring/alerting.py); do not edit.\n"
    path.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    check_config(path)
    return path


def check_config(path: Path) -> None:
    """`amtool check-config`: AlertingError with amtool's words when Alertmanager would refuse it."""
    done = subprocess.run([_amtool(), "check-config", str(path)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AlertingError(f"{path}: amtool check-config refused it: {(done.stdout + done.stderr).strip()[-1500:]}")


def receivers_for(path: Path, labels: dict[str, str]) -> list[str]:
    """The receivers an alert with `labels` reaches under the configuration at `path`, in route
    order (`amtool config routes test`): who is told, as Alertmanager itself decides it."""
    args = [f"{k}={v}" for k, v in sorted(labels.items())]
    done = subprocess.run(
        [_amtool(), "config", "routes", "test", f"--config.file={path}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AlertingError(f"amtool config routes test failed: {(done.stdout + done.stderr).strip()[-800:]}")
    return [r.strip() for r in done.stdout.strip().split(",") if r.strip()]


def _amtool() -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        raise AlertingError("amtool is not installed (Debian's prometheus-alertmanager; `make setup` installs it)")
    return amtool
