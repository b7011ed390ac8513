"""A job on an execution node, through ansible-runner's streaming job protocol: the one AWX's
execution nodes speak, so that moving to AWX later is configuration, not code.

    ansible-runner transmit (here)  ->  ssh node ansible-runner worker  ->  ansible-runner process (here)

`transmit` packs the job (its private data directory: the playbooks as its project, the Ansible
inventory, the files the plays copy; the variables and the SSH key travel in the stream's header,
never as files) and writes it to the SSH session's standard input; the node's worker unpacks it into
its own job folder, runs ansible-playbook there with the node's Ansible, ansible-runner and Mitogen
(provisioning/node_layout.py; the same versions as here, installed from the wheelhouse), streams
every event and finally the artifacts back, and deletes the job folder (`--delete`); `process`
hands the events to the same handler a local run has, so progress, recap and exit code are the
same. The key reaches the node's ssh-agent through a pipe, as AWX's credentials do.

What a node receives is what its towns' servers need and nothing more: the environment's CA
certificate and its own towns' identities, never another town's key, the services' secrets, the
database servers' certificates or the residents' data (those plays run on the data centers'
servers, which the operations machine provisions itself: provisioning/dispatch.py).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import ansible_runner
import yaml

from inventory.environment import BoundHost, EnvironmentBinding

from .node_layout import NODE_BIN, NODE_JOBS, NODE_MITOGEN_STRATEGY, NODE_RUNNER
from .remote import Remote, RemoteError
from .runner import (
    PLAYBOOKS,
    EventSink,
    Job,
    JobOutcome,
    ansible_envvars,
    known_hosts,
    private_data_dir,
    scrub_artifacts,
    ssh_options,
    write_inventory,
)

# How soon a node that stopped answering is known lost: SSH's own keepalive (5 s x 3), the worker's
# synthetic keepalive event when ansible-playbook is quiet (a long task), so a silent stream means a
# lost node, not a slow task.
SSH_KEEPALIVE = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
WORKER_KEEPALIVE_SECONDS = 5
NODE_SEARCH_PATH = f"{NODE_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The only variables of a run that point at files on the operations machine, and what a node gets
# instead: the PKI folder becomes the job's own `files/pki` with the CA and the node's towns only;
# the secrets and the residents' seed are the data centers' plays' and are left out.
DATA_CENTER_ONLY_VARIABLES = ("municloud_secrets_file", "residents_seed")


class NodeUnavailable(RuntimeError):
    """An execution node that cannot take a job: unreachable, not set up, or another runner version."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    address: str
    runner_version: str
    cpu_count: int
    mem_bytes: int


def node_info(binding: EnvironmentBinding, node: BoundHost) -> NodeInfo:
    """The node's `ansible-runner worker --worker-info` (what AWX asks its nodes); NodeUnavailable
    with the reason when it does not answer or runs another ansible-runner than this machine."""
    remote = Remote(binding, node, private_data_dir(binding.name), SSH_KEEPALIVE)
    try:
        text = remote.run(f"{NODE_RUNNER} worker --worker-info", "ansible-runner worker --worker-info", timeout=30)
    except (RemoteError, OSError) as error:
        raise NodeUnavailable(f"{node.name} ({node.mgmt_address}): {error}") from error
    except subprocess.TimeoutExpired as error:
        raise NodeUnavailable(f"{node.name} ({node.mgmt_address}): no answer in 30 s") from error
    info = yaml.safe_load(text) or {}
    if info.get("errors"):
        raise NodeUnavailable(f"{node.name}: the worker reports {info['errors']}")
    version = str(info.get("runner_version", ""))
    wanted = importlib.metadata.version("ansible-runner")
    if version != wanted:
        raise NodeUnavailable(
            f"{node.name} runs ansible-runner {version or '(none)'}, this machine {wanted}: "
            "run `municloud nodes setup` to install the controller's versions"
        )
    return NodeInfo(
        node.name, str(node.mgmt_address), version, int(info.get("cpu_count", 0)), int(info.get("mem_in_bytes", 0))
    )


def node_job_dir(job: Job, node: str) -> PurePosixPath:
    return NODE_JOBS / f"{job.ident}-{node}"


def node_variables(job: Job, towns: list[str], node_pki: PurePosixPath) -> dict[str, Any]:
    """The job's extra variables as the node's plays see them (module docstring)."""
    variables = {k: v for k, v in job.extravars.items() if k not in DATA_CENTER_ONLY_VARIABLES}
    variables["municloud_pki_dir"] = str(node_pki)
    keys = variables.get("handover_delivery_keys")
    if isinstance(keys, dict):
        variables["handover_delivery_keys"] = {t: k for t, k in keys.items() if t in towns}
    return variables


def write_bundle(
    job: Job, binding: EnvironmentBinding, towns: list[str], bundle: Path, node_dir: PurePosixPath
) -> dict[str, Any]:
    """The job's private data directory as the node will unpack it at `node_dir`; returns the
    job's extra variables for the node."""
    shutil.copytree(PLAYBOOKS, bundle / "project", ignore=shutil.ignore_patterns("__pycache__", "*.retry"))
    files = bundle / "files"
    pki_source = Path(job.extravars["municloud_pki_dir"])
    (files / "pki" / "towns").mkdir(parents=True)
    shutil.copy2(pki_source / "ca.pem", files / "pki" / "ca.pem")
    for town in towns:
        identity = pki_source / "towns" / f"{town}.pem"
        if identity.exists():
            shutil.copy2(identity, files / "pki" / "towns" / identity.name)
    known, strict = known_hosts(binding, private_data_dir(binding.name))
    if known.exists():
        shutil.copy2(known, files / "known_hosts")
    (bundle / "home" / "tmp").mkdir(parents=True)
    (bundle / "home" / "tmp" / ".keep").touch()  # the folder must exist on the node once unpacked
    # the key is the node's ssh-agent's (it came in the stream), not a file at this machine's path
    common = {k: v for k, v in job.inventory["all"].get("vars", {}).items() if k != "ansible_ssh_private_key_file"}
    inventory = {**job.inventory, "all": {**job.inventory["all"], "vars": common}}
    write_inventory(inventory, ssh_options(node_dir / "files" / "known_hosts", strict), bundle)
    return node_variables(job, towns, node_dir / "files" / "pki")


def run_job_on_node(
    job: Job, binding: EnvironmentBinding, node: BoundHost, towns: list[str], limit: str, sink: EventSink
) -> JobOutcome:
    """`job`, limited to `limit` (the node's hosts), on `node`. A node lost in the middle ends the
    job with status `error` and the reason; it never raises for that."""
    workdir = private_data_dir(binding.name)
    node_dir = node_job_dir(job, node.name)
    ident = f"{job.ident}-{node.name}"
    envvars = ansible_envvars(
        binding.name, node_dir / "home", node_dir / "project", NODE_MITOGEN_STRATEGY, NODE_SEARCH_PATH
    )
    key = binding.key_file.read_text() if binding.key_file is not None else None
    explanation: dict[str, str] = {}

    def on_status(data: dict[str, Any], runner_config: Any = None) -> None:
        if data.get("job_explanation"):
            explanation["text"] = str(data["job_explanation"])

    with tempfile.TemporaryDirectory(prefix=f"node-{node.name}-", dir=workdir) as tmp:
        bundle = Path(tmp)
        extravars = write_bundle(job, binding, towns, bundle, node_dir)
        remote = Remote(binding, node, workdir, SSH_KEEPALIVE)
        worker = remote.popen(
            f"{NODE_RUNNER} worker --private-data-dir {node_dir} --delete "
            f"--keepalive-seconds {WORKER_KEEPALIVE_SECONDS}"
        )
        assert worker.stdin is not None and worker.stdout is not None and worker.stderr is not None
        stderr: list[bytes] = []
        drain = threading.Thread(target=lambda: stderr.extend(worker.stderr), daemon=True)  # type: ignore[arg-type]
        drain.start()
        sent: dict[str, BaseException] = {}

        def transmit() -> None:
            try:
                ansible_runner.run(
                    streamer="transmit",
                    _output=worker.stdin,
                    private_data_dir=str(bundle),
                    playbook=job.playbook,
                    inventory=str(bundle / "inventory" / "hosts.yml"),
                    limit=limit,
                    cmdline=job.cmdline,
                    extravars=extravars,
                    envvars=envvars,
                    ssh_key=key,
                    suppress_env_files=True,
                    ident=ident,
                    quiet=True,
                )
            except (OSError, ValueError) as error:  # the node went away while the job was sent
                sent["error"] = error
            finally:
                with contextlib.suppress(OSError):
                    worker.stdin.close()  # type: ignore[union-attr]

        sender = threading.Thread(target=transmit, daemon=True)
        sender.start()
        processor = ansible_runner.run(
            streamer="process",
            _input=worker.stdout,
            private_data_dir=str(workdir),
            ident=ident,
            event_handler=sink,
            status_handler=on_status,
            quiet=True,
        )
        sender.join(timeout=30)
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            code = worker.wait()
        drain.join(timeout=5)
    artifacts = Path(processor.artifact_dir)
    scrub_artifacts(artifacts)
    status = processor.status
    rc_text = (artifacts / "rc").read_text().strip() if (artifacts / "rc").exists() else ""
    rc = int(rc_text) if rc_text else None
    if status not in ("successful", "failed", "timeout", "canceled") or (code != 0 and rc is None):
        # the stream ended without the worker's end: the node, its SSH session or the worker died
        reason = b"".join(stderr).decode(errors="replace").strip()[-400:]
        why = explanation.get("text") or (f"transmit: {sent['error']}" if "error" in sent else "")
        detail = "; ".join(x for x in (f"ssh exit {code}", reason, why) if x)
        return JobOutcome("error", rc if rc is not None else 255, artifacts, sink, f"node {node.name} lost: {detail}")
    return JobOutcome(status, rc if rc is not None else (0 if status == "successful" else 2), artifacts, sink)
