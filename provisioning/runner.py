"""Playbooks run through ansible-runner's Python API against an environment.

The Ansible inventory is generated from the inventory and the environment binding on every run
(never edited by hand). Runner's private data directory lives outside the source tree, under the
state directory; its artifacts are scrubbed of the caller's environment (ansible-runner records
it whole in `artifacts/<ident>/command`), and secrets reach the plays only as a file path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from pki.delivery_keys import ensure_delivery_keys
from pki.environment import ensure_environment
from provisioning.ansible_inventory import ansible_inventory
from toolkit.settings import REPO_ROOT, state_dir

from .db_state import primary_site
from .residents import seed_variables
from .secrets import ensure_secrets

PLAYBOOKS = REPO_ROOT / "playbooks"
# What of the caller's environment may stay in the artifacts: nothing that can hold a secret.
ENV_KEEP = ("PATH", "LANG", "LC_ALL", "HOME", "USER", "LOGNAME", "TERM", "PWD")


@dataclass
class HostRecap:
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def good(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass(frozen=True)
class TaskFailure:
    host: str
    play: str
    task: str
    message: str
    unreachable: bool


@dataclass
class PlaybookResult:
    playbook: str
    status: str  # successful | failed | timeout | canceled
    rc: int
    seconds: float
    recap: dict[str, HostRecap]
    failures: list[TaskFailure]
    artifacts: Path
    output_tail: str = ""  # the end of ansible's output, for a run that failed before any host did

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == "successful" and all(r.good for r in self.recap.values())

    @property
    def changed(self) -> int:
        return sum(r.changed for r in self.recap.values())


@dataclass
class Events:
    """What the caller wants to hear while a playbook runs (the CLI draws progress bars with it)."""

    play_started: Callable[[str, int], None] = lambda name, hosts: None
    task_started: Callable[[str, str], None] = lambda play, task: None
    host_done: Callable[[str, str, str], None] = lambda play, host, outcome: None  # ok|changed|failed|...
    failed: Callable[[TaskFailure], None] = lambda failure: None
    seen: dict[str, Any] = field(default_factory=dict)


def private_data_dir(environment: str) -> Path:
    return state_dir() / "ansible" / environment


def mitogen_strategy() -> dict[str, str]:
    """Ansible settings that run every play with Mitogen's linear strategy: one Python interpreter
    per host for the whole run, modules sent once and cached, instead of a new `ssh` + `python3`
    process (and a fresh copy of the module) per task and host. Same tasks, same results, check and
    diff modes alike; the idempotent re-run of the small lab took about half the time. The plugin
    directory is where pip installed `mitogen` (a dependency), found without importing it."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mitogen package is not installed (a dependency of municloud: pip install -e .)")
    plugins = Path(spec.submodule_search_locations[0]) / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def ssh_args(binding: EnvironmentBinding, workdir: Path) -> str:
    """SSH options: host keys pinned whenever the binding knows them (the lab pins every key it
    builds; production bindings carry them per host); otherwise the environment's policy."""
    if binding.known_hosts is not None and binding.known_hosts.exists():
        return f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={binding.known_hosts}"
    known = workdir / "known_hosts"
    if binding.config.ssh.host_key_policy == "pin":
        lines = [f"{h.mgmt_address} {h.host_key}" for h in binding.servers() if h.host_key]
        known.write_text("\n".join(lines) + ("\n" if lines else ""))
        return f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={known}"
    return f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known}"


def run_variables(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, Any]:
    """What this run knows that no file in playbooks/ may override: given as extra variables."""
    public_key = binding.key_file.with_name(binding.key_file.name + ".pub") if binding.key_file else None
    authority, _ = ensure_environment(inventory, binding)  # the service and the probes speak mutual TLS
    return {
        "db_primary_site": primary_site(inventory, binding.name).site,
        "municloud_secrets_file": str(ensure_secrets(binding.name)),
        "municloud_pki_dir": str(authority.root),
        **seed_variables(inventory, binding),  # the lab's synthetic residents (none in production)
        # the hand-over's receiving account on each town's server accepts that town's delivery key only
        "handover_delivery_keys": ensure_delivery_keys(binding.name, list(binding.towns)),
        "admin_authorized_keys": [public_key.read_text().strip()] if public_key and public_key.exists() else [],
    }


def write_inventory(inventory: Inventory, binding: EnvironmentBinding, workdir: Path) -> Path:
    data = ansible_inventory(inventory, binding)
    data["all"]["vars"]["ansible_ssh_common_args"] = ssh_args(binding, workdir)
    path = workdir / "inventory" / "hosts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def scrub_artifacts(artifact_dir: Path) -> None:
    command = artifact_dir / "command"
    if command.exists():
        data = json.loads(command.read_text())
        env = data.get("env") or {}
        data["env"] = {k: v for k, v in env.items() if k in ENV_KEEP or k.startswith("ANSIBLE_")}
        command.write_text(json.dumps(data))


def run_playbook(
    inventory: Inventory,
    binding: EnvironmentBinding,
    playbook: str = "site.yml",
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    extravars: dict[str, Any] | None = None,
    events: Events | None = None,
) -> PlaybookResult:
    if not (PLAYBOOKS / playbook).is_file():
        raise FileNotFoundError(f"no playbook {playbook} in {PLAYBOOKS}")
    events = events or Events()
    workdir = private_data_dir(binding.name)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    hosts_file = write_inventory(inventory, binding, workdir)
    home = workdir / "home"
    cp_dir = Path("/tmp") / f"mc-ansible-cp-{binding.name}"  # ControlPath must stay short (108 bytes)
    for d in (home, home / "tmp", cp_dir):
        d.mkdir(parents=True, exist_ok=True)
    envvars = {
        # ansible-playbook lives next to this interpreter (the venv), which need not be on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp_dir),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        **mitogen_strategy(),
    }
    if binding.key_file is not None:
        envvars["ANSIBLE_PRIVATE_KEY_FILE"] = str(binding.key_file)
    cmdline = " ".join(flag for flag, on in (("--check", check), ("--diff", diff)) if on)

    failures: list[TaskFailure] = []
    current = {"play": "", "task": ""}

    def on_event(event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            current["play"] = data.get("play", "")
            events.play_started(current["play"], len(data.get("play_pattern", "").split(",")))
        elif kind == "playbook_on_task_start":
            current["task"] = data.get("task", "")
            events.task_started(current["play"], current["task"])
        elif kind in ("runner_on_ok", "runner_on_skipped", "runner_on_failed", "runner_on_unreachable"):
            host = data.get("host", "")
            result = data.get("res", {}) or {}
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                outcome = "ignored"
            elif kind in ("runner_on_failed", "runner_on_unreachable"):
                outcome = "failed" if kind == "runner_on_failed" else "unreachable"
                failure = TaskFailure(
                    host,
                    current["play"],
                    data.get("task", current["task"]),
                    _message(result),
                    kind == "runner_on_unreachable",
                )
                failures.append(failure)
                events.failed(failure)
            elif kind == "runner_on_skipped":
                outcome = "skipped"
            else:
                outcome = "changed" if result.get("changed") else "ok"
            events.host_done(current["play"], host, outcome)
        return True  # keep every event in the artifacts (they hold no secret: no_log tasks are censored)

    started = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=str(workdir),
        project_dir=str(PLAYBOOKS),
        playbook=playbook,
        inventory=str(hosts_file),
        limit=limit,
        cmdline=cmdline or None,
        extravars={**run_variables(inventory, binding), **(extravars or {})},
        envvars=envvars,
        event_handler=on_event,
        quiet=True,
        rotate_artifacts=20,
        suppress_env_files=True,
        ident=time.strftime("%Y%m%dT%H%M%S") + f"-{playbook.removesuffix('.yml')}",
    )
    seconds = time.monotonic() - started
    artifacts = Path(runner.config.artifact_dir)
    scrub_artifacts(artifacts)
    recap: dict[str, HostRecap] = {}
    stats = runner.stats or {}
    for key, attr in (
        ("ok", "ok"),
        ("changed", "changed"),
        ("failures", "failed"),
        ("dark", "unreachable"),
        ("skipped", "skipped"),
        ("rescued", "rescued"),
        ("ignored", "ignored"),
    ):
        for host, count in (stats.get(key) or {}).items():
            setattr(recap.setdefault(host, HostRecap(host)), attr, count)
    tail = ""
    if not recap and runner.status != "successful":
        stdout = artifacts / "stdout"
        tail = "\n".join(stdout.read_text(errors="replace").splitlines()[-15:]) if stdout.exists() else ""
    return PlaybookResult(playbook, runner.status, runner.rc, seconds, recap, failures, artifacts, tail)


def _message(result: dict[str, Any]) -> str:
    for key in ("msg", "stderr", "reason"):
        value = result.get(key)
        if value:
            return " ".join(str(value).split())[:400]
    return "failed (no message)"
