"""`municloud stack preview|up|destroy|outputs`: the production stacks through the Automation API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from inventory.environment import write_binding
from stacks.automation.runner import NoPulumiCli, NotConfigured, StackResult, run_stacks
from stacks.binding import binding_from_outputs
from stacks.naming import DC_SCOPE, WAN_SCOPE

from .common import Exit, fail, inventory_or_exit, out
from .options import EnvOption

app = typer.Typer(
    help=(
        "Run the Pulumi stacks of production (prod-dc, prod-wan, prod-<town>) through the Automation API: "
        "dc, then wan, then the towns in parallel. Needs the `pulumi` CLI on PATH, a state backend "
        "(PULUMI_BACKEND_URL or --backend) and the secrets passphrase (PULUMI_CONFIG_PASSPHRASE[_FILE])."
    ),
    no_args_is_help=True,
)

ScopeOption = Annotated[
    list[str] | None,
    typer.Option("--scope", "-s", help="dc, wan, a town id, or all (repeatable). Default: all."),
]
BackendOption = Annotated[
    str | None, typer.Option("--backend", help="State backend URL (file://... or s3://...); else $PULUMI_BACKEND_URL.")
]
ParallelOption = Annotated[int, typer.Option("--parallel", min=1, help="Town stacks run at once.")]


def _scopes(requested: list[str] | None) -> list[str]:
    inv = inventory_or_exit()
    everything = [DC_SCOPE, WAN_SCOPE, *(t.id for t in inv.towns)]
    wanted = requested or ["all"]
    unknown = [s for s in wanted if s != "all" and s not in everything]
    if unknown:
        fail(f"unknown scope {', '.join(unknown)} (dc, wan, all, or a town: {', '.join(everything[2:])})")
    return everything if "all" in wanted else [s for s in everything if s in wanted]


def _run(op: str, env: str, scope: list[str] | None, backend: str | None, parallel: int) -> list[StackResult]:
    inv = inventory_or_exit()
    if env not in inv.environments or inv.environment(env).kind != "prod":
        fail(f"'{env}' is not a Pulumi environment (stacks exist for kind 'prod' environments only)")
    environ = dict(os.environ)
    if backend:
        environ["PULUMI_BACKEND_URL"] = backend
    try:
        with out.status(f"pulumi {op} ..."):
            results = run_stacks(
                op,
                env,
                _scopes(scope),
                parallel=parallel,
                environ=environ,
                on_done=lambda r: out.print(f"{'[green]ok[/]' if r.ok else '[red]failed[/]'} {r.stack}"),
            )
    except NoPulumiCli as error:
        fail(str(error), Exit.FAILED)
    except NotConfigured as error:
        fail(str(error))
    _summary(op, results)
    return results


def _state(r: StackResult) -> str:
    return "[yellow]skipped[/]" if r.skipped else "[green]ok[/]" if r.ok else "[red]failed[/]"


def _summary(op: str, results: list[StackResult]) -> None:
    table = Table(title=f"pulumi {op}")
    for col in ("stack", "result", "changes", "error"):
        table.add_column(col)
    for r in results:
        changes = ", ".join(f"{k} {v}" for k, v in sorted(r.changes.items())) or "-"
        table.add_row(r.stack, _state(r), changes, r.error or "")
    out.print(table)


def _exit(results: list[StackResult]) -> None:
    raise typer.Exit(int(Exit.OK if all(r.ok for r in results) else Exit.FAILED))


@app.command()
def preview(
    env: EnvOption = "prod", scope: ScopeOption = None, backend: BackendOption = None, parallel: ParallelOption = 4
) -> None:
    """Show what `up` would change, with the policy pack (stacks/policy) enforced."""
    _exit(_run("preview", env, scope, backend, parallel))


@app.command()
def up(
    env: EnvOption = "prod", scope: ScopeOption = None, backend: BackendOption = None, parallel: ParallelOption = 4
) -> None:
    """Create or update the stacks, with the policy pack enforced."""
    _exit(_run("up", env, scope, backend, parallel))


@app.command()
def destroy(
    env: EnvOption = "prod", scope: ScopeOption = None, backend: BackendOption = None, parallel: ParallelOption = 4
) -> None:
    """Destroy the stacks' resources: the towns first, then wan, then dc."""
    _exit(_run("destroy", env, scope, backend, parallel))


@app.command()
def outputs(
    env: EnvOption = "prod",
    scope: ScopeOption = None,
    backend: BackendOption = None,
    parallel: ParallelOption = 4,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Binding file (default: the env's).")] = None,
) -> None:
    """Read the stacks' outputs and write the environment binding that provisioning and the network read."""
    results = _run("outputs", env, scope, backend, parallel)
    inv = inventory_or_exit()
    path = output or inv.environment(env).binding_file
    if path is None:
        fail(f"environment '{env}' names no binding_file; pass --output")
    binding = binding_from_outputs(env, inv, {r.stack: r.outputs for r in results if r.ok})
    write_binding(path, binding)
    out.print(f"wrote {path}: {len(binding.towns or [])} towns, {len(binding.hosts)} hosts")
    _exit(results)
