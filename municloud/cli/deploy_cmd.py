"""`municloud deploy` and `municloud status`: the day-1 chain per town, and where every town is."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from network.apply import ApplyRefused

from ..deploy import STAGES, deploy, deploy_towns, last_deploys
from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json
from .options import EnvOption, JsonOption, LocalOption, TownOption, YesOption
from .provision_cmd import progress_events


def deploy_command(
    env: EnvOption = "lab",
    wave: Annotated[
        int | None, typer.Option(help="The towns of this cut-over wave (towns.yaml: cutover.wave).")
    ] = None,
    town: TownOption = None,
    all_towns: Annotated[
        bool,
        typer.Option("--all-towns", help="Every town of the environment, planned ones too (a lab rehearsal)."),
    ] = False,
    yes: YesOption = False,
    emergency: Annotated[str | None, typer.Option(help="Outside the change windows: the reason, recorded.")] = None,
    local: LocalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy towns end to end: network (plan and apply on the shared routers and the towns' CE
    routers), provisioning (both data centers and the towns' servers), verification, isolation (what
    every segment of the towns reaches, against segmentation.yaml; its report written).

    By default every town whose cut-over is live or migrating; `--wave N` follows the staggered
    cut-over; `--town T` one town; `--all-towns` every town the environment has, whatever its
    cut-over state (the lab rehearsing a planned town's cut-over). An environment with execution
    nodes provisions each town's servers on its node (the data centers' here; `--local`: all here).
    Stops at the first failing stage
    and names it and the failing routers or hosts. Exit 0 when all four stages passed, 1 when one
    failed, 2 for invalid input.
    """
    if not yes:
        fail("`deploy` changes routers and servers: add --yes to confirm")
    if sum((wave is not None, town is not None, all_towns)) > 1:
        fail("give one of --wave, --town and --all-towns")
    inventory, binding = binding_or_exit(env)
    with invalid_input_exits():
        towns = list(binding.towns) if all_towns else deploy_towns(inventory, binding, town, wave)
    err.print(f"deploying {len(towns)} town(s) of {env}: {', '.join(towns) or '(none: shared sites only)'}")
    try:
        with Progress(
            TextColumn("[bold]{task.description}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            net_task = bar.add_task("network", total=None)

            def network_progress(what: str, done: int, total: int) -> None:
                bar.update(net_task, description=f"network: {what}"[:60], completed=done, total=total)

            def stage_started(stage: str) -> None:
                if stage != "network":  # the network stage is over (an empty plan reports no progress)
                    bar.update(net_task, description="network: done", completed=1, total=1)
                err.print(f"[bold]stage {STAGES.index(stage) + 1}/{len(STAGES)}: {stage}[/]")

            with progress_events("provision") as events:
                result = deploy(
                    inventory,
                    binding,
                    towns,
                    emergency_reason=emergency,
                    stage_started=stage_started,
                    network_progress=network_progress,
                    events=events,
                    local=local,
                )
    except ApplyRefused as error:
        fail(f"network stage refused, nothing was changed: {error}")
    if as_json:
        print_json({"ok": result.ok, "environment": env, "towns": towns, "stages": [vars(s) for s in result.stages]})
    else:
        table = Table(title=f"deploy {env}: {'done' if result.ok else 'FAILED'} ({len(towns)} town(s))")
        for column in ("stage", "result", "seconds", "summary", "failing"):
            table.add_column(column)
        for stage in STAGES:
            s = next((x for x in result.stages if x.stage == stage), None)
            if s is None:
                table.add_row(stage, "not run", "", "", "")
            else:
                table.add_row(
                    stage,
                    "[green]ok[/]" if s.ok else "[red]failed[/]",
                    f"{s.seconds:.1f}",
                    s.summary,
                    "\n".join(s.failing[:10]) + (f"\n... {len(s.failing) - 10} more" if len(s.failing) > 10 else ""),
                )
        out.print(table)
    if not result.ok:
        failed = result.failed_stage
        if failed is not None:
            err.print(f"[red]deploy stopped at the {failed.stage} stage[/]: {', '.join(failed.failing[:5])}")
        raise typer.Exit(int(Exit.FAILED))


def status(env: EnvOption = "lab", as_json: JsonOption = False) -> None:
    """Every town: its cut-over wave and state (as the inventory says) and its last deploy here."""
    inventory, binding = binding_or_exit(env)
    deploys = last_deploys(env)
    rows = []
    for t in sorted(inventory.towns, key=lambda t: t.number):
        last = deploys.get(t.id)
        rows.append(
            {
                "town": t.id,
                "name": t.name,
                "wave": t.cutover.wave,
                "cutover": t.cutover.status,
                "cutover_date": t.cutover.date.isoformat() if t.cutover.date else None,
                "in_environment": t.id in binding.towns,
                "last_deploy": (
                    {
                        "at": dt.datetime.fromtimestamp(last["started"]).isoformat(timespec="seconds"),
                        "ok": last["ok"],
                        "failed_stage": next((s["stage"] for s in last["stages"] if not s["ok"]), None),
                    }
                    if last
                    else None
                ),
            }
        )
    if as_json:
        print_json({"environment": env, "towns": rows})
        return
    table = Table(title=f"towns of {env}: cut-over and deploys")
    for column in ("town", "名称", "wave", "cut-over", "date", f"in {env}", "last deploy"):
        table.add_column(column)
    for r in rows:
        last = r["last_deploy"]
        shown = (
            "never"
            if not last
            else (f"{last['at']} ok" if last["ok"] else f"{last['at']} failed at {last['failed_stage']}")
        )
        table.add_row(
            r["town"],
            r["name"],
            str(r["wave"]),
            r["cutover"],
            r["cutover_date"] or "",
            "yes" if r["in_environment"] else "no",
            shown,
            style="" if not last or last["ok"] else "red",
        )
    out.print(table)
