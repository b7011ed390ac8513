"""`municloud lab ...`: the whole shared cloud emulated on this machine (FRR, OpenSSH, LXC)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated

import typer
from rich.table import Table

from inventory.environment import binding_path, environment_plan
from inventory.problems import InventoryError
from lab.binding import write_lab_binding
from lab.derive import PROFILES, derive_topology, profile_towns
from lab.engine import Lab
from lab.util import LabError, NotRootError
from provisioning.db_state import forget_primary_site

from ..checks import load_inventory
from .common import Exit, err, fail, inventory_or_exit, out, print_json, progress_bar
from .options import JsonOption

app = typer.Typer(
    help=(
        "The lab: the shared cloud on this machine. Routers are FRR in network namespaces (SSH as "
        "netops lands in vtysh), servers are LXC containers, the carrier WAN is veth links. "
        "Needs root. Everything it starts, `lab down` stops."
    ),
    no_args_is_help=True,
)


@contextmanager
def _lab_errors() -> Iterator[None]:
    try:
        yield
    except NotRootError as error:
        fail(str(error), Exit.INVALID)
    except LabError as error:
        fail(f"{error}\n`municloud lab status` shows what is up; `municloud lab down` removes it all.", Exit.FAILED)


@app.command()
def up(
    profile: Annotated[
        str, typer.Option(help=f"Which towns to build: {' or '.join(PROFILES)} (3 towns or all 18).")
    ] = ("small"),
) -> None:
    """Build the lab from the inventory, or repair a running one (idempotent).

    Routers get only their day-0 configuration (hostname, interfaces, management); routing comes
    later from `municloud net apply`. Writes the `lab` environment binding every other command uses.
    """
    inv = inventory_or_exit()
    try:
        towns = profile_towns(inv, profile)
    except KeyError as error:
        fail(str(error.args[0]))
    plan = environment_plan(inv, "lab")
    topology = derive_topology(inv, plan, towns)
    lab = Lab()
    with _lab_errors(), progress_bar("lab up") as progress:
        report = lab.up(topology, progress=progress)
    binding_file = binding_path(inv.environment("lab"))
    if binding_file is not None:
        write_lab_binding(lab, [t.id for t in towns], binding_file, profile)
    table = Table(
        title=f"lab up: {len(towns)} towns, {len(topology.routers)} routers, {len(topology.containers)} containers"
    )
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in report.steps:
        table.add_row(step, f"{seconds:.1f}")
    table.add_row("[bold]total[/]", f"[bold]{report.seconds:.1f}[/]")
    out.print(table)
    out.print(f"SSH key: {lab.private_key}; binding: {binding_file}; stop it all with `municloud lab down`.")


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Every node of the lab: up or not, its addresses, the faults in force. Exit 1 if a node is down."""
    with _lab_errors():
        state = Lab().status()
    if as_json:
        print_json(state.to_dict())
    else:
        table = Table(title=f"lab: {state.phase} ({state.topology or 'no topology'})")
        for col in ("node", "kind", "state", "management", "addresses", "faults"):
            table.add_column(col)
        for n in state.nodes:
            table.add_row(
                n.name,
                n.kind,
                "[green]up[/]" if n.up else f"[red]down[/] {n.detail}",
                n.mgmt_address or "",
                ", ".join(n.addresses),
                ", ".join(n.faults),
            )
        out.print(table)
        if state.faults:
            out.print(f"{len(state.faults)} fault(s) in force; `municloud lab heal` removes them.")
    raise typer.Exit(int(Exit.OK if not state.nodes or state.all_up else Exit.FAILED))


@app.command()
def heal() -> None:
    """Remove every fault in force (cut circuits, stopped routers or containers, isolated sites)."""
    with _lab_errors():
        healed = Lab().heal()
    out.print(
        f"healed {len(healed)} fault(s)" + "".join(f"\n  {f.get('kind', '')} {f.get('target', '')}" for f in healed)
    )


@app.command()
def down() -> None:
    """Stop and remove everything the lab started, from any state (also after a crash or Ctrl-C)."""
    with _lab_errors(), progress_bar("lab down") as progress:
        report = Lab().down(progress=progress)
    # The binding describes a lab that no longer exists: commands must not try to reach it. (A broken
    # inventory must not make `down` fail: the lab is down either way, the binding then stays.)
    with suppress(InventoryError):
        binding_file = binding_path(load_inventory().environment("lab"))
        if binding_file is not None:
            binding_file.unlink(missing_ok=True)
    forget_primary_site("lab")  # a new lab's databases start as the inventory designs them
    out.print(f"lab down in {report.seconds:.1f} s: removed {len(report.removed)} item(s)")
    if report.leftovers:
        for item in report.leftovers:
            err.print(f"[red]left over:[/] {item}")
        raise typer.Exit(int(Exit.FAILED))
