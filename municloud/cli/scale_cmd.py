"""`municloud scale ...`: running the towns past one operations machine: the execution plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from inventory.environment import EnvironmentBinding, bind_environment
from inventory.loader import Inventory
from provisioning.sharding import Load, Node, Plan, Shard

from ..checks import load_inventory
from ..scale import execution_plan
from .common import Exit, err, fail, invalid_input_exits, out, print_json
from .options import EnvOption, JsonOption

app = typer.Typer(
    help=(
        "Run the towns past one operations machine: which execution node (ansible-runner's job protocol) and "
        "which regional Prometheus serve which regions (regions.yaml), with the load each node takes."
    ),
    no_args_is_help=True,
)

# Above this many towns the region table gives counts only, not the towns' names.
NAMES_UP_TO = 100


@app.command()
def plan(
    env: EnvOption = "lab",
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", "-n", help="How many nodes; default the fewest that hold the load, at least 2."),
    ] = None,
    inventory_dir: Annotated[
        Path | None,
        typer.Option("--inventory", help="Another inventory (default $MUNICLOUD_INVENTORY, else the repo's)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The execution plan: every region of the environment's towns on one execution node and one
    regional Prometheus, whole regions packed so the nodes have about as many hosts each (a region is
    split only when it alone exceeds a node); per region and per node the towns, hosts, routers, probe
    series, SLA recorded series, the series the Prometheus holds and its scrape samples per second.

    Exit 0 when every node is within its capacity, 1 when one is not (the plan says how many nodes
    the load needs), 2 when the inventory, the environment or --nodes is wrong.
    """
    if nodes is not None and nodes < 1:
        fail(f"--nodes must be at least 1, not {nodes}")
    with invalid_input_exits():
        inventory = load_inventory(inventory_dir)
        binding = bind_environment(inventory, env)
    the_plan = execution_plan(inventory, binding, nodes)
    if as_json:
        print_json(plan_record(inventory, binding, the_plan))
    else:
        _print_plan(inventory, binding, the_plan)
    if not the_plan.fits:
        for node, over in the_plan.over_capacity().items():
            err.print(f"[bold red]over capacity:[/] {node}: {'; '.join(over)}", highlight=False)
        err.print(f"the load needs at least {the_plan.needed} node(s); give --nodes or leave it out", highlight=False)
        raise typer.Exit(int(Exit.FAILED))


def plan_record(inventory: Inventory, binding: EnvironmentBinding, the_plan: Plan) -> dict[str, Any]:
    node_of = {s.name: n for n in the_plan.nodes for s in n.shards}
    return {
        "environment": binding.name,
        "towns": len(binding.towns),
        "nodes_needed": the_plan.needed,
        "fits": the_plan.fits,
        "capacity": {"hosts": the_plan.capacity.hosts, "series": the_plan.capacity.series},
        "total": _load_record(the_plan.load),
        "nodes": [
            {
                "node": n.name,
                "prometheus": n.prometheus,
                "regions": [s.name for s in n.shards],
                "load": _load_record(n.load),
                "over_capacity": the_plan.capacity.exceeded_by(n.load),
            }
            for n in the_plan.nodes
        ],
        "regions": [
            {
                "region": s.name,
                "name": s.region.name,
                "prefecture": s.region.prefecture,
                "part": s.part,
                "towns": list(s.towns),
                "node": node_of[s.name].name,
                "prometheus": node_of[s.name].prometheus,
                "load": _load_record(s.load),
            }
            for s in the_plan.shards
        ],
        "split_regions": the_plan.split_regions,
        "empty_regions": [r.id for r in the_plan.empty_regions],
        "central": _central(binding),
    }


def _load_record(load: Load) -> dict[str, Any]:
    return {**load.__dict__, "samples_per_s": round(load.samples_per_s, 1)}


def _central(binding: EnvironmentBinding) -> dict[str, int]:
    """What no region holds: the data centers' servers and the shared routers (the operations machine's)."""
    return {
        "hosts": sum(1 for h in binding.servers() if h.town is None),
        "routers": sum(1 for h in binding.routers() if h.town is None),
    }


LOAD_COLUMNS = ("towns", "hosts", "routers", "probe series", "SLA series", "series", "samples/s")


def _load_cells(load: Load) -> list[str]:
    return [
        f"{load.towns:,}",
        f"{load.hosts:,}",
        f"{load.routers:,}",
        f"{load.probe_series:,}",
        f"{load.sla_series:,}",
        f"{load.active_series:,}",
        f"{load.samples_per_s:,.0f}",
    ]


def _print_plan(inventory: Inventory, binding: EnvironmentBinding, the_plan: Plan) -> None:
    names = len(binding.towns) <= NAMES_UP_TO
    node_of = {s.name: n for n in the_plan.nodes for s in n.shards}
    regions = Table(title=f"execution plan of {binding.name} (実行計画): regions (地域)")
    for column in ("region", "地域", *(["町村"] if names else []), "node", "Prometheus", *LOAD_COLUMNS):
        regions.add_column(column, justify="right" if column in LOAD_COLUMNS else "left")
    for shard in the_plan.shards:
        node = node_of[shard.name]
        regions.add_row(
            shard.name,
            _region_name(shard),
            *([" ".join(inventory.town(t).name for t in shard.towns)] if names else []),
            node.name,
            node.prometheus,
            *_load_cells(shard.load),
        )
    out.print(regions)
    nodes = Table(title="execution nodes and regional Prometheus (実行ノード・地域Prometheus)")
    for column in ("node", "Prometheus", "regions", *LOAD_COLUMNS, "of capacity"):
        nodes.add_column(column, justify="right" if column in (*LOAD_COLUMNS, "regions") else "left")
    for node in the_plan.nodes:
        nodes.add_row(
            node.name, node.prometheus, f"{len(node.shards):,}", *_load_cells(node.load), _use(the_plan, node)
        )
    nodes.add_row("total", "", f"{len(the_plan.shards):,}", *_load_cells(the_plan.load), "", style="bold")
    out.print(nodes)
    out.print(_summary(binding, the_plan), highlight=False)


def _region_name(shard: Shard) -> str:
    return f"{shard.region.name} ({shard.region.prefecture})"


def _use(the_plan: Plan, node: Node) -> str:
    load, capacity = node.load, the_plan.capacity
    text = f"hosts {load.hosts / capacity.hosts:.0%}, series {load.active_series / capacity.series:.0%}"
    return f"[red]{text}[/]" if capacity.exceeded_by(load) else text


def _summary(binding: EnvironmentBinding, the_plan: Plan) -> str:
    used = [n for n in the_plan.nodes if n.shards]
    hosts = [n.load.hosts for n in used] or [0]
    mean = sum(hosts) / len(hosts)
    how = "as given" if the_plan.chosen else f"the load needs {the_plan.needed}, at least 2"
    lines = [
        f"{len(binding.towns):,} towns in {len({s.region.id for s in the_plan.shards}):,} regions on "
        f"{len(the_plan.nodes)} node(s) ({how}); hosts per node {min(hosts):,}-{max(hosts):,} (mean {mean:,.1f}); "
        f"capacity per node: {the_plan.capacity.hosts:,} hosts, {the_plan.capacity.series:,} series "
        "(provisioning/sharding.py)."
    ]
    if the_plan.split_regions:
        lines.append(f"split (too big for one node): {', '.join(the_plan.split_regions)}.")
    else:
        lines.append("no region is split: each is served whole by one node and one Prometheus.")
    if len(used) < len(the_plan.nodes):
        lines.append(f"{len(the_plan.nodes) - len(used)} node(s) idle: fewer regions than nodes.")
    if the_plan.empty_regions:
        lines.append(f"no town of {binding.name} in: {', '.join(r.id for r in the_plan.empty_regions)}.")
    central = _central(binding)
    lines.append(
        f"not in any region: {central['hosts']} data-center servers and {central['routers']} shared routers "
        "(carrier and DC edges), run from the operations machine."
    )
    return "\n".join(lines)
