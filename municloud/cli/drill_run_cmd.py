"""`municloud drill list` and `municloud drill run`: the BCP drills (the `drill` sub-app also has
`report`, in drill_cmd.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bcp_drills.journal import JOURNAL_FILE
from bcp_drills.runner import run_drill
from bcp_drills.scenario import scenarios
from monitoring.silences import drill_silence
from network.windows import change_window
from toolkit.settings import state_dir

from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json
from .options import EnvOption, JsonOption, TownsOption


def list_scenarios(as_json: JsonOption = False) -> None:
    """The drill scenarios (bcp_drills/scenarios/), validated: a broken file is named with its line."""
    with invalid_input_exits():
        found = scenarios()
    if as_json:
        print_json(
            [
                {"name": s.name, "title": s.title.model_dump(), "affects": s.affects, "destructive": s.destructive}
                for s in found.values()
            ]
        )
        return
    table = Table(title="BCP drill scenarios / BCP訓練シナリオ")
    for column in ("name", "シナリオ", "scenario", "affects", "probe", "steps"):
        table.add_column(column)
    for s in found.values():
        table.add_row(
            s.name, s.title.ja, s.title.en, s.affects, f"{s.probe} every {s.probe_interval_ms} ms", str(len(s.method))
        )
    out.print(table)


def run(
    name: Annotated[str, typer.Argument(help="The scenario (see `municloud drill list`).")],
    env: EnvOption = "lab",
    town: TownsOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Every probe and precondition, no fault.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Needed in production for a destructive scenario.")] = False,
    operator: Annotated[str | None, typer.Option(help="Who runs the drill (recorded); default: the login.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where the journal goes.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a drill: steady state, method (faults, waits, recoveries, playbooks), rollbacks that
    always run (after a failure, a stop condition, Ctrl-C or SIGTERM), fast probes from every town
    measuring each outage to the millisecond, a journal.

    In production a destructive scenario needs --yes, a change window and an operator's name.
    Exit 0 when the drill passed (with or without findings), 1 when it failed, 2 for invalid input.
    """
    inventory, binding = binding_or_exit(env)
    with invalid_input_exits():
        found = scenarios()
        if name not in found:
            raise KeyError(f"no scenario '{name}' (scenarios: {', '.join(found)})")
        for t in town or []:
            if t not in binding.towns:
                raise KeyError(f"town '{t}' is not in environment '{env}' ({', '.join(binding.towns)})")
    scenario = found[name]
    if scenario.towns_at_most is not None and town and len(town) > scenario.towns_at_most:
        fail(f"'{name}' is aimed at {scenario.towns_at_most} town(s) at most: give fewer --town")
    if binding.lab is None and not dry_run:
        if scenario.destructive and not yes:
            fail(f"'{name}' injects faults into {env}: add --yes to confirm")
        if not operator:
            fail("a drill in production records who runs it: give --operator NAME")
        window = change_window(inventory, env)
        if not window.open:
            fail(f"a drill is a change: {window.reason}")
        fail(
            "fault injection in production is done by people: run the scenario's manual steps; "
            "municloud measures and records only in the lab today"
        )
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    directory = out_dir or state_dir() / "drills" / env / f"{stamp}-{name}"
    with err.status(f"drill {name} ...") as status:
        journal = run_drill(
            scenario,
            inventory,
            binding,
            towns=list(town) if town else None,
            dry_run=dry_run,
            operator=operator,
            out_dir=directory,
            progress=lambda what: status.update(f"drill {name}: {what}"),
            # the towns and systems it affects page nobody while it runs; the silence is removed
            # afterwards, also after a failure or Ctrl-C (no Alertmanager: said once, the drill runs)
            silence=lambda drill: drill_silence(drill, notice=lambda text: err.print(f"[yellow]{text}[/]")),
        )
    record = journal["municloud"]
    if as_json:
        print_json({"journal": str(directory / JOURNAL_FILE), **record})
    else:
        table = Table(title=f"drill {name}: {record['verdict']} ({journal.get('status')})")
        for column in ("town", "名称", "affected", "outage ms", "recovered"):
            table.add_column(column, justify="right" if column == "outage ms" else "left")
        for t in record["towns"]:
            ms = record["outage_ms_by_town"].get(t["id"])
            recovered = all(o["recovered"] for o in record["outages"] if o["town"] == t["id"])
            table.add_row(
                t["id"],
                t["name"],
                "yes" if t["id"] in record["affected_towns"] else "no",
                "-" if ms is None else f"{ms:.0f}",
                "yes" if recovered else "[red]no[/]",
            )
        out.print(table)
        if record["rpo"]:
            r = record["rpo"]
            out.print(
                f"writes: {r['writes_acked']} committed, {r['writes_lost']} lost (span {r['lost_span_ms']} ms), "
                f"refused for {r['writes_refused_ms']} ms"
            )
        for observation in record["observations"]:
            out.print(f"[yellow]observation[/]: {observation}", highlight=False)
        silenced = record.get("silence", {})
        if silenced.get("silences"):
            out.print(
                f"alerts silenced during the drill: {len(silenced['silences'])} silence(s), removed afterwards "
                f"({len(silenced.get('tails', []))} tail(s) end by themselves; `municloud alerts silences`)"
            )
        out.print(f"journal: {directory / JOURNAL_FILE} (report: municloud drill report {directory / JOURNAL_FILE})")
    if record["verdict"] == "failed":
        raise typer.Exit(int(Exit.FAILED))
