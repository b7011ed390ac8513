"""Where each server of a playbook run is provisioned: the data centers' servers on the operations
machine, each town's servers on the execution node that serves its region (the execution plan:
`municloud scale plan`), all nodes at once.

The hosts a run covers are found by Ansible itself (its inventory manager, the run's --limit), then
split by place: each job gets exactly its own hosts as its limit, so a node never runs another
node's town. The data centers go first (the towns' probe agents measure the service they run),
then every node's job in parallel.

Before a node is sent a job it is asked whether it is ready (`ansible-runner worker --worker-info`,
the same version as here). A node that is not, is skipped and its towns go to the first ready node,
and the result says so. A node lost in the middle of a run ends its job with the reason; the
result names the towns it held, and a re-run of those towns finishes the job on another node.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from inventory.environment import EnvironmentBinding

from .node_worker import NodeUnavailable, node_info, run_job_on_node
from .runner import (
    Events,
    EventSink,
    Job,
    JobOutcome,
    NodeRun,
    PlaybookResult,
    playbook_result,
    private_data_dir,
    run_job_locally,
    write_inventory,
)


@dataclass
class Placement:
    """Which of a run's hosts go where."""

    local: list[str] = field(default_factory=list)  # the data centers' servers: this machine
    hosts: dict[str, list[str]] = field(default_factory=dict)  # node -> its towns' servers in the run
    towns: dict[str, list[str]] = field(default_factory=dict)  # node -> those towns
    moved: dict[str, str] = field(default_factory=dict)  # node not ready -> why, and who took its towns


def matched_hosts(job: Job, workdir: Path) -> list[str]:
    """The hosts `job` covers, as Ansible evaluates its limit against its inventory."""
    from ansible.inventory.manager import InventoryManager  # Ansible's own pattern rules, loaded on use
    from ansible.parsing.dataloader import DataLoader

    path = write_inventory(job.inventory, "", workdir / "dispatch")
    manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
    if job.limit:
        manager.subset(job.limit)
    return [host.name for host in manager.get_hosts("all")]


def place(
    binding: EnvironmentBinding, hosts: list[str], town_nodes: Mapping[str, str], ready: Mapping[str, str | None]
) -> Placement:
    """Split `hosts` by place. `ready`: each node's readiness (None when ready, else why not)."""
    placement = Placement()
    town_of = {h.name: h.town for h in binding.hosts}
    order = [n.name for n in binding.execution_nodes]
    standby = next((n for n in order if ready.get(n) is None), None)
    for host in hosts:
        town = town_of.get(host)
        if town is None:
            placement.local.append(host)
            continue
        node = town_nodes[town]
        if ready.get(node) is not None:
            if standby is None:
                raise NodeUnavailable(
                    "no execution node is ready: " + "; ".join(f"{n}: {why}" for n, why in ready.items() if why)
                )
            placement.moved[node] = f"{ready[node]}; its towns ran on {standby}"
            node = standby
        placement.hosts.setdefault(node, []).append(host)
        if town not in placement.towns.setdefault(node, []):
            placement.towns[node].append(town)
    return placement


def run_job(
    binding: EnvironmentBinding, job: Job, town_nodes: Mapping[str, str], events: Events | None = None
) -> PlaybookResult:
    """`job` (runner.prepare_job) with each town's servers on its execution node (`town_nodes`: town
    -> node, from the execution plan) and the rest here. Raises NodeUnavailable when no node is ready."""
    events = events or Events()
    started = time.monotonic()
    workdir = private_data_dir(binding.name)
    workdir.mkdir(parents=True, exist_ok=True)
    hosts = matched_hosts(job, workdir)
    wanted = sorted({town_nodes[h.town] for h in binding.hosts if h.town and h.name in hosts})
    ready = _readiness(binding, wanted)
    if any(ready.values()):  # a node is not ready: its towns go to another, which must be ready itself
        ready |= _readiness(binding, [n.name for n in binding.execution_nodes if n.name not in ready])
    placement = place(binding, hosts, town_nodes, ready)

    outcomes: list[JobOutcome] = []
    if placement.local or not placement.hosts:
        local = replace(job, limit=":".join(placement.local) or (job.limit or "all"))
        outcomes.append(run_job_locally(local, binding, EventSink(events)))

    def on_node(node: str) -> tuple[JobOutcome, float]:
        began = time.monotonic()
        bound = binding.execution_node(node)
        sink = EventSink(events, label=node)
        outcome = run_job_on_node(job, binding, bound, placement.towns[node], ":".join(placement.hosts[node]), sink)
        return outcome, time.monotonic() - began

    runs: list[NodeRun] = []
    with ThreadPoolExecutor(max_workers=max(len(placement.hosts), 1)) as pool:
        for node, (outcome, seconds) in zip(placement.hosts, pool.map(on_node, placement.hosts), strict=True):
            outcomes.append(outcome)
            lost = outcome.explanation if outcome.status == "error" else ""
            runs.append(
                NodeRun(
                    node,
                    placement.towns[node],
                    placement.hosts[node],
                    outcome.status,
                    seconds,
                    outcome.artifacts,
                    lost,
                )
            )
    result = playbook_result(job.playbook, outcomes, time.monotonic() - started)
    result.nodes = runs
    result.moved = placement.moved
    return result


def _readiness(binding: EnvironmentBinding, nodes: list[str]) -> dict[str, str | None]:
    """Each node's readiness, asked of all at once: None when ready, else why not."""

    def ask(node: str) -> str | None:
        try:
            node_info(binding, binding.execution_node(node))
        except NodeUnavailable as error:
            return str(error)
        return None

    with ThreadPoolExecutor(max_workers=max(len(nodes), 1)) as pool:
        return dict(zip(nodes, pool.map(ask, nodes), strict=True))


def lost_lines(result: PlaybookResult) -> list[str]:
    """What an operator must do about the nodes lost during a run: which towns, and the re-run."""
    return [
        f"execution node {node} was lost during the run, holding {', '.join(towns)}: re-run those towns "
        f"(`municloud provision --town T` or `municloud deploy --town T`); the re-run finds {node} not ready "
        "and gives its towns to another node"
        for node, towns in result.lost.items()
    ]


def placement_lines(result: PlaybookResult) -> list[str]:
    """Where the run went: each node's towns, servers, outcome and time; the nodes that were not
    ready and who took their towns (the nodes lost: `lost_lines`)."""
    lines = [
        f"{r.node}: {', '.join(r.towns)} ({len(r.hosts)} server(s)) {r.status} in {r.seconds:.1f} s"
        for r in result.nodes
    ]
    return lines + [f"{node} not ready: {why}" for node, why in result.moved.items()]
