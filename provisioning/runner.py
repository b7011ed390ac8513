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
from pathlib import Path, PurePath, PurePosixPath
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
class NodeRun:
    """A playbook's job on one execution node (provisioning/dispatch.py)."""

    node: str
    towns: list[str]
    hosts: list[str]
    status: str
    seconds: float
    artifacts: Path
    lost: str = ""  # why the node was lost during the run, or ""


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
    nodes: list[NodeRun] = field(default_factory=list)  # the jobs sent to execution nodes, if any
    moved: dict[str, str] = field(default_factory=dict)  # a node not ready -> why, and who took its towns

    @property
    def lost(self) -> dict[str, list[str]]:
        """Each execution node lost during the run, with the towns it held."""
        return {n.node: n.towns for n in self.nodes if n.lost}

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


def mitogen_strategy(plugins: PurePath | None = None) -> dict[str, str]:
    """Ansible settings that run every play with Mitogen's linear strategy: one Python interpreter
    per host for the whole run, modules sent once and cached, instead of a new `ssh` + `python3`
    process (and a fresh copy of the module) per task and host. Same tasks, same results, check and
    diff modes alike; the idempotent re-run of the small lab took about half the time. `plugins`:
    the strategy plugins' folder where the run happens (an execution node's); by default where pip
    installed `mitogen` here (a dependency), found without importing it."""
    if plugins is None:
        spec = importlib.util.find_spec("ansible_mitogen")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the mitogen package is not installed (a dependency of municloud: pip install -e .)")
        plugins = Path(spec.submodule_search_locations[0]) / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def known_hosts(binding: EnvironmentBinding, workdir: Path) -> tuple[Path, bool]:
    """The known-hosts file a run checks host keys against, and whether it is strict: the binding's
    pinned keys whenever it knows them (the lab pins every key it builds; production bindings carry
    them per host); otherwise a file in `workdir`, strict or accepting new keys by the environment's
    policy."""
    if binding.known_hosts is not None and binding.known_hosts.exists():
        return binding.known_hosts, True
    known = workdir / "known_hosts"
    if binding.config.ssh.host_key_policy == "pin":
        hosts = [*binding.servers(), *binding.execution_nodes]
        lines = [f"{h.mgmt_address} {h.host_key}" for h in hosts if h.host_key]
        known.write_text("\n".join(lines) + ("\n" if lines else ""))
        return known, True
    return known, False


def ssh_options(known: Path | str, strict: bool) -> str:
    return f"-o StrictHostKeyChecking={'yes' if strict else 'accept-new'} -o UserKnownHostsFile={known}"


def ssh_args(binding: EnvironmentBinding, workdir: Path) -> str:
    """SSH options with the host keys checked as `known_hosts` says."""
    return ssh_options(*known_hosts(binding, workdir))


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


def write_inventory(data: dict[str, Any], ssh_common_args: str, workdir: Path) -> Path:
    data = {**data, "all": {**data["all"], "vars": {**data["all"].get("vars", {})}}}
    data["all"]["vars"]["ansible_ssh_common_args"] = ssh_common_args
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


@dataclass
class Job:
    """One ansible-runner job as the operations machine prepares it, wherever it then runs (here,
    or on an execution node: provisioning/node_worker.py). Paths that differ by place (the SSH
    options' known-hosts file, the environment variables) are the runner's to add."""

    playbook: str
    inventory: dict[str, Any]  # the Ansible inventory (provisioning/ansible_inventory.py)
    limit: str | None
    cmdline: str | None
    extravars: dict[str, Any]
    ident: str


def prepare_job(
    inventory: Inventory,
    binding: EnvironmentBinding,
    playbook: str = "site.yml",
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    extravars: dict[str, Any] | None = None,
) -> Job:
    if not (PLAYBOOKS / playbook).is_file():
        raise FileNotFoundError(f"no playbook {playbook} in {PLAYBOOKS}")
    cmdline = " ".join(flag for flag, on in (("--check", check), ("--diff", diff)) if on)
    return Job(
        playbook,
        ansible_inventory(inventory, binding),
        limit,
        cmdline or None,
        {**run_variables(inventory, binding), **(extravars or {})},
        time.strftime("%Y%m%dT%H%M%S") + f"-{playbook.removesuffix('.yml')}",
    )


class EventSink:
    """Ansible's events of one job, as they arrive: told to the caller's `Events` (the progress
    bars; play names followed by `label` when several jobs run at once), the failed tasks kept, and
    the recap taken from the `playbook_on_stats` event, which a local run and a streamed one
    (ansible-runner process) both deliver."""

    def __init__(self, events: Events, label: str = "") -> None:
        self.events = events
        self.label = label
        self.failures: list[TaskFailure] = []
        self.recap: dict[str, HostRecap] = {}
        self.current = {"play": "", "task": ""}

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        events = self.events
        if kind == "playbook_on_play_start":
            self.current["play"] = data.get("play", "") + (f" @{self.label}" if self.label else "")
            events.play_started(self.current["play"], len(data.get("play_pattern", "").split(",")))
        elif kind == "playbook_on_task_start":
            self.current["task"] = data.get("task", "")
            events.task_started(self.current["play"], self.current["task"])
        elif kind == "playbook_on_stats":
            self._take_stats(data)
        elif kind in ("runner_on_ok", "runner_on_skipped", "runner_on_failed", "runner_on_unreachable"):
            host = data.get("host", "")
            result = data.get("res", {}) or {}
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                outcome = "ignored"
            elif kind in ("runner_on_failed", "runner_on_unreachable"):
                outcome = "failed" if kind == "runner_on_failed" else "unreachable"
                failure = TaskFailure(
                    host,
                    self.current["play"],
                    data.get("task", self.current["task"]),
                    _message(result),
                    kind == "runner_on_unreachable",
                )
                self.failures.append(failure)
                events.failed(failure)
            elif kind == "runner_on_skipped":
                outcome = "skipped"
            else:
                outcome = "changed" if result.get("changed") else "ok"
            events.host_done(self.current["play"], host, outcome)
        return True  # keep every event in the artifacts (they hold no secret: no_log tasks are censored)

    def _take_stats(self, stats: dict[str, Any]) -> None:
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
                setattr(self.recap.setdefault(host, HostRecap(host)), attr, count)


@dataclass
class JobOutcome:
    """How one job ended, wherever it ran."""

    status: str  # successful | failed | timeout | canceled | error (a stream that broke)
    rc: int
    artifacts: Path
    sink: EventSink
    explanation: str = ""  # why a job ended without a result (a lost node), in the runner's words

    def output_tail(self) -> str:
        stdout = self.artifacts / "stdout"
        return "\n".join(stdout.read_text(errors="replace").splitlines()[-15:]) if stdout.exists() else ""


def control_path_dir(environment: str) -> PurePosixPath:
    """Where SSH's control sockets go, on this machine or a node (a ControlPath must stay under 108 bytes)."""
    return PurePosixPath("/tmp") / f"mc-ansible-cp-{environment}"


def ansible_envvars(
    environment: str, home: PurePath, project: PurePath, strategy_plugins: PurePath | None, search_path: str
) -> dict[str, str]:
    """The environment ansible-playbook runs in, wherever that is: `home` its own folder, `project`
    the playbooks' (their ansible.cfg), `strategy_plugins` Mitogen's (None: this machine's)."""
    return {
        "PATH": search_path,
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_path_dir(environment)),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        **mitogen_strategy(strategy_plugins),
    }


def run_job_locally(job: Job, binding: EnvironmentBinding, sink: EventSink) -> JobOutcome:
    """The job on this machine, through ansible-runner's Python API."""
    workdir = private_data_dir(binding.name)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    hosts_file = write_inventory(job.inventory, ssh_args(binding, workdir), workdir)
    home = workdir / "home"
    for d in (home, home / "tmp", Path(control_path_dir(binding.name))):
        d.mkdir(parents=True, exist_ok=True)
    # ansible-playbook lives next to this interpreter (the venv), which need not be on PATH
    search_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    envvars = ansible_envvars(binding.name, home, PLAYBOOKS, None, search_path)
    if binding.key_file is not None:
        envvars["ANSIBLE_PRIVATE_KEY_FILE"] = str(binding.key_file)
    runner = ansible_runner.run(
        private_data_dir=str(workdir),
        project_dir=str(PLAYBOOKS),
        playbook=job.playbook,
        inventory=str(hosts_file),
        limit=job.limit,
        cmdline=job.cmdline,
        extravars=job.extravars,
        envvars=envvars,
        event_handler=sink,
        quiet=True,
        rotate_artifacts=20,
        suppress_env_files=True,
        ident=job.ident,
    )
    artifacts = Path(runner.config.artifact_dir)
    scrub_artifacts(artifacts)
    return JobOutcome(runner.status, runner.rc, artifacts, sink)


def playbook_result(playbook: str, outcomes: list[JobOutcome], seconds: float) -> PlaybookResult:
    """One result of the jobs a playbook ran as (one locally, or one per place): every host's
    recap, every failure, the worst status and exit code, the first job's artifacts."""
    recap: dict[str, HostRecap] = {}
    failures: list[TaskFailure] = []
    for outcome in outcomes:
        recap.update(outcome.sink.recap)
        failures += outcome.sink.failures
    bad = [o for o in outcomes if o.status != "successful" or o.rc != 0]
    status = bad[0].status if bad else "successful"
    rc = max((o.rc for o in outcomes), default=0)
    tail = ""
    if bad and not any(o.sink.recap for o in bad):
        tail = "\n".join(o.explanation or o.output_tail() for o in bad)
    artifacts = outcomes[0].artifacts if outcomes else private_data_dir("none")
    return PlaybookResult(playbook, status, rc, seconds, recap, failures, artifacts, tail)


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
    """The playbook on this machine (the operations machine), whatever the environment's execution
    nodes: what runs on the data centers' servers alone (a failover, a restore) runs here.
    provisioning/dispatch.py sends the towns' servers to their execution nodes."""
    job = prepare_job(inventory, binding, playbook, limit, check, diff, extravars)
    started = time.monotonic()
    outcome = run_job_locally(job, binding, EventSink(events or Events()))
    return playbook_result(playbook, [outcome], time.monotonic() - started)


def _message(result: dict[str, Any]) -> str:
    for key in ("msg", "stderr", "reason"):
        value = result.get(key)
        if value:
            return " ".join(str(value).split())[:400]
    return "failed (no message)"
