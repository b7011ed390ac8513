"""`municloud verify`: testinfra suites run over SSH against an environment's servers.

The suites (provisioning/verify_suites/) are parametrised from a verification plan written here
from the inventory and the binding: which host plays which role, and what must be true of it
(the tenants and parameters the app serves, the systems a town probes, the other towns' LANs it
must not reach). They run in their own pytest process, and the result is read back from the JUnit
XML file that CI systems also take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.address_plan import operations_servers
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from pki.authority import Authority
from toolkit.settings import state_dir

from .ansible_inventory import BACKUP_STANZA, repository_number
from .db_state import primary_site
from .residents import synthetic_dataset
from .runner import ssh_args

SUITES = Path(__file__).parent / "verify_suites"
PLAN_ENV_VAR = "MUNICLOUD_VERIFY_PLAN"
BUSINESS_APP_PORT = 8080  # the playbooks' group_vars: business_app_port
BUSINESS_DATABASE = "business"  # postgresql_database
PROBE_EXPORTER_PORT = 9469
TOWN_TLS_FILES = ("/etc/municloud/tls/ca.pem", "/etc/municloud/tls/town.pem")  # tls_ca_file, tls_town_identity
NODE_EXPORTER_PORT = 9100


@dataclass
class CheckResult:
    host: str
    check: str
    passed: bool
    message: str = ""


@dataclass
class VerifyResult:
    seconds: float
    results: list[CheckResult]
    junit: Path
    sites: dict[str, str] = field(default_factory=dict)  # host -> town or DC id
    error: str = ""  # the suites could not run at all

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.results) and all(r.passed for r in self.results)


def verification_plan(
    inventory: Inventory, binding: EnvironmentBinding, town: str | None = None, towns: list[str] | None = None
) -> dict[str, Any]:
    """What to check. `town`: only that town's servers; `towns`: those towns' servers and both
    data centers' (a deploy); neither: every server of the environment."""
    plan = binding.plan
    authority = Authority(binding.name)
    data = synthetic_dataset(inventory, binding)
    if town is not None:
        chosen, with_dcs = [town], False
    else:
        chosen, with_dcs = (list(towns) if towns is not None else list(binding.towns)), True
    hosts = []
    for h in binding.servers():
        if (h.town is None and not with_dcs) or (h.town is not None and h.town not in chosen):
            continue
        spec: dict[str, Any] = {
            "name": h.name,
            "role": h.role,
            "site": h.site,
            "town": h.town,
            "mgmt": str(h.mgmt_address),
            "data": str(h.data_address.ip) if h.data_address else None,
        }
        if h.role == "probe" and h.town:
            t = inventory.town(h.town)
            spec["systems"] = [s.id for s in inventory.subscribed_systems(t)]
            spec["other_town_lans"] = {
                other: str(plan.towns[other].lan_gateway.ip) for other in binding.towns if other != h.town
            }
        hosts.append(spec)
    return {
        "environment": binding.name,
        "service_address": str(plan.service_address),
        "business_app_port": BUSINESS_APP_PORT,
        "probe_exporter_port": PROBE_EXPORTER_PORT,
        "node_exporter_port": NODE_EXPORTER_PORT,
        "time_servers": [str(a) for a in operations_servers(plan, inventory.datacenters)],
        "db_primary_site": primary_site(inventory, binding.name).site,
        "replication_slot": inventory.datacenters_file.replication.slot_name.replace("-", "_"),
        "backups": {
            "stanza": BACKUP_STANZA,
            "max_backup_age_hours": inventory.datacenters_file.database_backup.max_backup_age_hours,
            "repositories": {
                h.name: repository_number(inventory, h.site) for h in binding.servers() if h.role == "backup"
            },
        },
        "database": BUSINESS_DATABASE,
        "tenants": {
            t: {
                "systems": list(inventory.town(t).subscriptions),
                "parameters": inventory.tenant_parameters(inventory.town(t)),
            }
            for t in binding.towns
        },
        "towns": chosen,
        "hosts": hosts,
        # the lab's synthetic residents, when the environment holds them: current residents per town
        "residents": (
            {"dataset": data.fingerprint, "towns": {t.id: t.residents for t in data.towns}} if data else None
        ),
        # Mutual TLS: what a town server holds (its own certificate) and what the operations center
        # asks the app servers with (its certificate reads /healthz and heartbeat ids only).
        "tls": {
            "town": list(TOWN_TLS_FILES),
            "operations": [str(authority.ca_cert_path), str(authority.operations_path)],
        },
    }


def ssh_config(binding: EnvironmentBinding, workdir: Path) -> Path:
    lines = []
    options = ssh_args(binding, workdir).replace("-o ", "").split()
    for h in binding.servers():
        lines += [f"Host {h.name}", f"  HostName {h.mgmt_address}", f"  User {h.ssh_user}"]
        if binding.key_file is not None:
            lines.append(f"  IdentityFile {binding.key_file}")
        lines += [f"  {opt.replace('=', ' ', 1)}" for opt in options]
        lines += ["  BatchMode yes", "  ConnectTimeout 5", "  LogLevel ERROR", "  ControlMaster auto"]
        lines += [f"  ControlPath /tmp/mc-verify-{binding.name}-%C", "  ControlPersist 60"]
    path = workdir / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_verify(
    inventory: Inventory,
    binding: EnvironmentBinding,
    town: str | None = None,
    junit: Path | None = None,
    workers: int = 8,
    towns: list[str] | None = None,
) -> VerifyResult:
    workdir = state_dir() / "verify" / binding.name
    workdir.mkdir(parents=True, exist_ok=True)
    plan = verification_plan(inventory, binding, town, towns)
    plan["ssh_config"] = str(ssh_config(binding, workdir))
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(plan, ensure_ascii=False, indent=1))
    junit = junit or workdir / "junit.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SUITES),
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            str(workers),
            "--dist",
            "loadgroup",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit2",
            "--rootdir",
            str(SUITES),
        ],
        env={**os.environ, PLAN_ENV_VAR: str(plan_file)},
        capture_output=True,
        text=True,
        cwd=SUITES,
        timeout=1800,
    )
    seconds = time.monotonic() - started
    sites = {h["name"]: h["town"] or h["site"] for h in plan["hosts"]}
    if not junit.exists():
        return VerifyResult(seconds, [], junit, sites, error=(proc.stdout + proc.stderr)[-3000:])
    return VerifyResult(seconds, read_junit(junit), junit, sites)


def read_junit(path: Path) -> list[CheckResult]:
    """Each test case is `<check>[<host>]` (the suites' parametrisation ids), to which xdist's
    loadgroup adds `@<group>`."""
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "").partition("@")[0]
        check, _, rest = name.partition("[")
        host = rest.rstrip("]")
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped") is not None
        if skipped:
            continue
        message = ""
        if failure is not None:
            message = " ".join((failure.get("message") or failure.text or "").split())[:300]
        results.append(CheckResult(host, check.removeprefix("test_").replace("_", " "), failure is None, message))
    return results
