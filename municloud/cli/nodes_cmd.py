"""`municloud nodes ...`: the execution nodes that run the playbooks (exec-1 ...: the environment's
execution_nodes): made ready (`setup`) and asked whether they are (`status`)."""

from __future__ import annotations

import importlib.metadata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.table import Table

from inventory.environment import BoundHost, EnvironmentBinding
from lab.containers import ssh_banner
from provisioning.node_layout import layout_variables
from provisioning.node_worker import NodeUnavailable, node_info
from provisioning.runner import run_playbook
from provisioning.wheelhouse import build_wheelhouse, node_requirements, python_version

from .common import Exit, binding_or_exit, err, fail, out, print_json
from .options import EnvOption, JsonOption
from .provision_cmd import progress_events, report

app = typer.Typer(
    help=(
        "The execution nodes that run the environment's playbooks (exec-1 ...: execution_nodes in "
        "inventory/environments/), each an `ansible-runner worker` in a venv of this machine's versions: "
        "`setup` makes them ready, `status` asks them."
    ),
    no_args_is_help=True,
)

PLAYBOOK = "execution_nodes.yml"
NodeOption = Annotated[
    list[str] | None, typer.Option("--node", "-n", help="Only this node (exec-1 ...; repeatable). Default: every one.")
]


def chosen_nodes(binding: EnvironmentBinding, names: list[str] | None) -> list[BoundHost]:
    """The environment's nodes, or the ones named; exit 2 when it has none or a name is unknown."""
    if not binding.execution_nodes:
        fail(
            f"environment '{binding.name}' has no execution nodes (execution_nodes: 0 in "
            f"inventory/environments/{binding.name}.yaml): its playbooks run on this machine"
        )
    try:
        return [binding.execution_node(n) for n in names] if names else list(binding.execution_nodes)
    except KeyError as error:
        fail(str(error.args[0]))


@app.command()
def setup(env: EnvOption = "lab", node: NodeOption = None, as_json: JsonOption = False) -> None:
    """Make the execution nodes ready: build this machine's wheelhouse (its own ansible-core, ansible-runner,
    mitogen and ansible, pinned), then run execution_nodes.yml from here: the wheelhouse copied, the node's
    venv installed from it (no package index), Mitogen's strategy linked, the jobs' folder made, the node's
    ansible-runner checked to be this machine's.

    A progress bar per play, a recap per node. Exit 0 when every node is ready, 1 when one failed or was
    unreachable (or the wheelhouse could not be built), 2 for invalid input (an environment without
    execution nodes, an unknown node).
    """
    inventory, binding = binding_or_exit(env)
    nodes = chosen_nodes(binding, node)
    try:
        with err.status("building the wheelhouse (pip wheel of this machine's versions)"):
            wheelhouse = build_wheelhouse()
    except RuntimeError as error:
        fail(str(error), Exit.FAILED)
    err.print(f"wheelhouse: {wheelhouse}", highlight=False)
    extravars = {
        **layout_variables(),
        "execution_node_wheelhouse": str(wheelhouse),
        "execution_node_requirements": node_requirements(),
        "execution_node_runner_version": importlib.metadata.version("ansible-runner"),
        "execution_node_python": python_version(),
    }
    limit = ",".join(n.name for n in nodes) if node else None
    with progress_events("nodes setup") as events:
        result = run_playbook(inventory, binding, PLAYBOOK, limit=limit, extravars=extravars, events=events)
    report(result, as_json)


@dataclass(frozen=True)
class NodeState:
    name: str
    address: str
    ssh: bool  # its SSH server answers (port 22)
    ready: bool  # its worker answers, with this machine's ansible-runner
    runner_version: str | None = None
    cpu_count: int | None = None
    mem_bytes: int | None = None
    problem: str = ""


def node_state(binding: EnvironmentBinding, node: BoundHost) -> NodeState:
    address = str(node.mgmt_address)
    if not ssh_banner(address, timeout=3.0):
        return NodeState(node.name, address, False, False, problem=f"no SSH server answers on {address}:22")
    try:
        info = node_info(binding, node)
    except NodeUnavailable as error:
        return NodeState(node.name, address, True, False, problem=str(error))
    return NodeState(node.name, address, True, True, info.runner_version, info.cpu_count, info.mem_bytes)


@app.command()
def status(env: EnvOption = "lab", node: NodeOption = None, as_json: JsonOption = False) -> None:
    """Each execution node: its address, whether its SSH server answers, and what its worker says
    (`ansible-runner worker --worker-info` over SSH with the binding's key and known hosts: the runner's
    version, CPUs, memory).

    Exit 0 when every node is ready (its worker answers with this machine's ansible-runner), 1 when one is
    not, 2 for invalid input (an environment without execution nodes, an unknown node).
    """
    _inventory, binding = binding_or_exit(env)
    nodes = chosen_nodes(binding, node)
    with ThreadPoolExecutor(max_workers=min(8, len(nodes))) as pool:
        states = list(pool.map(lambda n: node_state(binding, n), nodes))
    if as_json:
        print_json(
            {"environment": binding.name, "ready": all(s.ready for s in states), "nodes": [asdict(s) for s in states]}
        )
    else:
        out.print(status_table(binding.name, states))
    if not all(s.ready for s in states):
        raise typer.Exit(int(Exit.FAILED))


def status_table(environment: str, states: list[NodeState]) -> Table:
    table = Table(title=f"execution nodes of {environment}")
    for column in ("node", "address", "SSH", "ready", "ansible-runner", "CPUs", "memory", "problem"):
        table.add_column(column, justify="right" if column in ("CPUs", "memory") else "left")
    for s in states:
        table.add_row(
            s.name,
            s.address,
            "yes" if s.ssh else "[red]no[/]",
            "yes" if s.ready else "[red]no[/]",
            s.runner_version or "",
            "" if s.cpu_count is None else str(s.cpu_count),
            "" if s.mem_bytes is None else f"{s.mem_bytes / 2**30:.1f} GiB",
            s.problem,
        )
    return table
