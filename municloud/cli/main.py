"""`municloud`: the operator's command line and the composition root of the suite."""

from __future__ import annotations

import typer

from .. import __version__
from . import (
    cost_cmd,
    demo_cmd,
    deploy_cmd,
    drill_cmd,
    inventory_cmd,
    lab_cmd,
    monitor_cmd,
    net_cmd,
    provision_cmd,
    sla_cmd,
    stack_cmd,
)

app = typer.Typer(
    name="municloud",
    help=(
        "Infrastructure-as-code and operations for the shared municipal cloud (自治体クラウド) of 18 towns "
        "and villages: one inventory as the source of truth, the lab, network changes, provisioning, "
        "SLA reports and BCP drills.\n\n"
        "Exit codes: 0 success, 1 an operation failed, 2 invalid input (nothing was changed)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(inventory_cmd.app, name="inventory")
app.add_typer(lab_cmd.app, name="lab")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(sla_cmd.app, name="sla")
app.add_typer(net_cmd.app, name="net")
app.add_typer(stack_cmd.app, name="stack")
app.add_typer(cost_cmd.app, name="cost")
app.command("provision")(provision_cmd.provision)
app.command("verify")(provision_cmd.verify)
app.command("deploy")(deploy_cmd.deploy_command)
app.command("status")(deploy_cmd.status)
app.add_typer(provision_cmd.db_app, name="db")
app.add_typer(drill_cmd.app, name="drill")
app.command("demo")(demo_cmd.demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"municloud {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """municloud: the shared municipal cloud's operations suite."""


if __name__ == "__main__":
    app()
