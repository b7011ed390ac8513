"""`municloud demo`: the whole shared cloud deployed, measured, drilled and reported on this machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from inventory.environment import binding_path, environment_plan
from lab.derive import PROFILES, derive_topology, profile_towns
from lab.engine import Lab
from lab.util import NotRootError
from toolkit.settings import state_dir

from ..demo import Demo, DemoFailed, DemoResult, DemoTarget
from .common import Exit, err, fail, inventory_or_exit, out, progress_bar
from .options import PortOption, WanPortOption

GOAL_SECONDS = 15 * 60  # the demo's promise on 2 cores with a warm package cache


def demo(
    profile: Annotated[str, typer.Option(help=f"The lab's profile: {' or '.join(PROFILES)}.")] = "full",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where the reports and the demo's log go; default out/demo/<time>."),
    ] = None,
    port: PortOption = 9090,
    wan_port: WanPortOption = 9091,
) -> None:
    """Run the main job on the lab, end to end: lab up, deploy (network, provisioning, verification),
    monitoring, the BCP drills (every town's primary circuit, carrier edge PE1, data center DC1 with
    its fail-back) while the probes run, then the reports of the demo's period: SLA (every town and
    system, the drills in it), the drills' and the annual drill report, network compliance, cost
    allocation.

    Prints one summary (stages and their times, the failover figures, every report's files, how to
    look at Prometheus) and leaves the lab running; `municloud lab down` stops it. On a failure it
    stops at once and names the stage and the failing nodes; the lab stays as it is for
    `municloud lab status`. Exit 0 when every stage passed, 1 when one failed, 2 for invalid input.
    """
    inventory = inventory_or_exit()
    if profile not in PROFILES:
        fail(f"--profile: {profile!r} is not a profile ({', '.join(PROFILES)})")
    towns = [t.id for t in profile_towns(inventory, profile)]
    binding = binding_path(inventory.environment("lab"))
    if binding is None:
        fail("inventory/environments/lab.yaml: binding_file: the lab needs one to write its binding to")
    folder = out_dir or Path("out/demo") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = DemoTarget(
        lab=Lab(),
        topology=derive_topology(inventory, environment_plan(inventory, "lab"), profile_towns(inventory, profile)),
        towns=towns,
        binding_path=binding,
        state_dir=state_dir(),
        prometheus_port=port,
        wan_port=wan_port,
        lab_progress=lambda: progress_bar(f"lab up --profile {profile}"),
    )
    runner = Demo(target, profile, folder.resolve(), announce=lambda line: err.print(f"[bold cyan]{line}[/]"))
    try:
        result = runner.run()
    except NotRootError as error:
        fail(str(error))
    except DemoFailed as failure:
        print_summary(runner.result)
        err.print(f"[bold red]demo stopped[/] at stage [bold]{failure.stage}[/]: {failure.detail}")
        if failure.failing:
            err.print(f"failing: {', '.join(failure.failing)}")
        err.print(
            "The lab is left as it is: `municloud lab status` shows every node and fault, "
            "`municloud lab down` removes it all. The commands' output is in "
            f"{runner.log}."
        )
        raise typer.Exit(int(Exit.FAILED)) from None
    except KeyboardInterrupt:
        print_summary(runner.result)
        stage = (runner.result.failure or {}).get("stage", "?")
        err.print(
            f"[bold red]demo interrupted[/] at stage [bold]{stage}[/]; a running drill rolled its faults back. "
            "`municloud lab status` shows the lab, `municloud lab down` removes it."
        )
        raise typer.Exit(130) from None
    print_summary(result)


def print_summary(result: DemoResult) -> None:
    stages = Table(title=f"municloud demo ({result.profile} profile)", title_justify="left")
    for column in ("stage", "seconds", "result"):
        stages.add_column(column, justify="right" if column == "seconds" else "left")
    for stage in result.stages:
        stages.add_row(stage.title, f"{stage.seconds:.0f}", stage.summary)
    if result.failure:
        stages.add_row(f"[red]{result.failure['stage']}[/]", "", f"[red]failed[/]: {result.failure['detail']}")
    total = result.seconds
    verdict = "within" if total < GOAL_SECONDS else "[red]over[/]"
    stages.add_row("[bold]total[/]", f"[bold]{total:.0f}[/]", f"{verdict} the {GOAL_SECONDS // 60}-minute goal")
    out.print(stages)
    if result.figures:
        figures = Table(title="failover figures measured by the drills", title_justify="left")
        figures.add_column("figure")
        figures.add_column("measured")
        for figure in result.figures:
            figures.add_row(figure["figure"], figure["measured"])
        out.print(figures)
    if result.reports:
        reports = Table(title="reports", title_justify="left")
        for column in ("report", "HTML", "PDF", "JSON"):
            reports.add_column(column, overflow="fold")
        for report in result.reports:
            reports.add_row(
                report.what, report.files.get("html", ""), report.files.get("pdf", ""), report.files.get("json", "")
            )
        out.print(reports)
    if result.prometheus:
        url = result.prometheus
        port = url.rsplit(":", 1)[-1]
        out.print(
            f"Prometheus: {url}/graph (targets: {url}/targets); try the query municloud:sla_minute:bad, "
            f"or `municloud monitor status`. From your own machine: ssh -L {port}:127.0.0.1:{port} root@<this host>."
        )
    if result.alert_mail is not None:
        mail = result.alert_mail
        others = len(mail["others"])
        verdict = "none but the drills' notices" if not others else f"[red]{others} besides the drills' notices[/]"
        out.print(
            f"Alert e-mails since the drills began: {mail['messages']} ({mail['drill_notices']} drill notices; "
            f"{verdict}). Read them: {mail['read_with']}"
        )
        for subject in mail["others"][:10]:
            out.print(f"  {subject}", markup=False, highlight=False)
    if not result.failure:
        out.print("The lab keeps running for you to explore (`municloud lab status`).")
        out.print("Stop it all with: [bold]municloud lab down[/]")
