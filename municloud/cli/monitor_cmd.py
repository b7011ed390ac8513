"""`municloud monitor up|down|status|config`: the operations center's Prometheus and WAN exporter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitoring.alertmanager import AlertmanagerAPI, AlertmanagerError
from monitoring.mailbox import MAIL_PORT
from monitoring.prometheus_config import promtool_check, write_config
from monitoring.server import (
    ALERTMANAGER_PORT,
    DEFAULT_PORT,
    WAN_EXPORTER_PORT,
    MonitorError,
    MonitorPaths,
    expected_targets,
    failed_deliveries,
    start,
    started_at,
    status,
    stop,
)
from monitoring.silences import sync_contract
from municloud.scale import regional_servers

from .common import Exit, binding_or_exit, fail, out, print_json
from .options import AlertmanagerPortOption, EnvOption, JsonOption, MailPortOption, PortOption, WanPortOption

app = typer.Typer(
    help=(
        "The monitoring of an environment: a real Prometheus (Debian's package) run as a process of ours in the "
        "operations center, scraping the towns' probe exporters, every server's node exporter and the WAN "
        "exporter; its configuration and rules generated from the inventory and checked by promtool; its data "
        "under the state directory. Processes are stopped by their recorded pid; `lab down` stops them too.\n\n"
        "Its alerts go to Alertmanager (Debian's), which mails them in Japanese to the people contacts.yaml names "
        "(`municloud alerts` shows what was sent and what is silenced); a lab's mail server keeps every message.\n\n"
        "Exit codes: 0 success, 1 a process failed or a target is down (status), 2 invalid input."
    ),
    no_args_is_help=True,
)


@app.command("up")
def up(
    env: EnvOption = "lab",
    port: PortOption = DEFAULT_PORT,
    wan_port: WanPortOption = WAN_EXPORTER_PORT,
    wan: Annotated[bool, typer.Option("--wan/--no-wan", help="Run the WAN exporter (reads the routers).")] = True,
    alertmanager_port: AlertmanagerPortOption = ALERTMANAGER_PORT,
    mail_port: MailPortOption = MAIL_PORT,
    regional: Annotated[
        bool,
        typer.Option(
            "--regional/--single",
            help="One regional Prometheus per node of `municloud scale plan` (on --port + 5, + 6, ...), each scraping "
            "its towns and recording their SLA minutes, and on --port a global one federating them, which the SLA "
            "report reads; --single (the default): one Prometheus for everything.",
        ),
    ] = False,
) -> None:
    """Generate the configurations, check them with promtool and amtool, start Alertmanager (and a lab's mail
    server), the WAN exporter and Prometheus; idempotent: when they run already, the configuration is
    regenerated and reloaded."""
    inventory, binding = binding_or_exit(env)
    servers = regional_servers(inventory, binding) if regional else []
    try:
        running = start(
            inventory,
            binding,
            port,
            wan_port if wan else None,
            alertmanager_port=alertmanager_port or None,
            mail_port=mail_port,
            regional=servers,
        )
    except MonitorError as error:
        fail(str(error), Exit.FAILED)
    paths = MonitorPaths.for_env(env)
    for r in running.values():
        out.print(f"{r.name}: pid {r.ref.pid}, {r.url}")
    if "alertmanager" in running:
        # the contract's maintenance windows silenced ahead of them (`alerts silences --sync` renews them)
        try:
            synced = sync_contract(inventory, env, AlertmanagerAPI(running["alertmanager"].url))
        except AlertmanagerError as error:
            fail(f"the maintenance windows' silences could not be made: {error}", Exit.FAILED)
        out.print(
            f"silences of the maintenance windows: {len(synced.created)} created, {len(synced.kept)} in place, "
            f"{len(synced.expired)} expired (`municloud alerts silences`)"
        )
    if "mail" in running:
        out.print(f"alert e-mails: kept in {paths.maildir} (`municloud alerts inbox`)")
    out.print(f"data: {paths.data}; configuration: {paths.config_dir}; logs: {paths.root}/*.log")


@app.command("down")
def down(env: EnvOption = "lab") -> None:
    """Stop the Prometheus and WAN exporter that `monitor up` started (by recorded pid); the data stays."""
    try:
        stopped = stop(env)
    except MonitorError as error:
        fail(str(error), Exit.FAILED)
    out.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command("status")
def show_status(
    env: EnvOption = "lab",
    as_json: JsonOption = False,
) -> None:
    """The processes (Prometheus, Alertmanager, a lab's mail server, the WAN exporter), every scrape target's
    health, and the alert e-mails that could not be delivered lately. Exit 1 when a process `monitor up` started
    is not running, a configured target is missing, not yet scraped or down, or deliveries are failing."""
    running, targets = status(env)
    prom = running.get("prometheus")
    # healthy: every process alive, every configured target discovered and scraped up (a fresh
    # Prometheus lists none yet), and no alert e-mail failing to leave
    expected = expected_targets(env)
    failed = failed_deliveries(env)
    healthy = (
        bool(prom)
        and all(r.alive() for r in running.values())
        and len(targets) >= expected > 0
        and all(t.health == "up" for t in targets)
        and not failed
    )
    if as_json:
        print_json(
            {
                "processes": {n: {"pid": r.ref.pid, "alive": r.alive(), "url": r.url} for n, r in running.items()},
                "targets": [t.__dict__ for t in targets],
                "expected_targets": expected,
                "failed_deliveries_15m": failed,
                "healthy": healthy,
            }
        )
    else:
        procs = Table(title=f"monitoring of '{env}'")
        for col in ("process", "pid", "state", "up for", "url"):
            procs.add_column(col)
        for r in running.values():
            procs.add_row(
                r.name, str(r.ref.pid), "running" if r.alive() else "[red]dead[/]", f"{started_at(r.ref):.0f} s", r.url
            )
        out.print(procs if running else "nothing running: `municloud monitor up` starts it")
        if targets:
            table = Table(title="scrape targets")
            for col in ("job", "instance", "town", "health", "last error"):
                table.add_column(col)
            for t in sorted(targets, key=lambda t: (t.job, t.instance)):
                health = t.health if t.health == "up" else f"[red]{t.health}[/]"
                table.add_row(t.job, t.instance, t.town or "", health, t.last_error[:60])
            out.print(table)
        if failed:
            out.print(
                f"[red]alert e-mails: {failed} notification(s) failed in the last 15 minutes[/]: the mail server or "
                f"relay refuses or is down; Alertmanager sends them again at each group interval "
                f"(its log: {MonitorPaths.for_env(env).log('alertmanager')})"
            )
        for r in running.values():
            if not r.alive():
                out.print(f"[red]{r.name} is not running[/]: `municloud monitor up --env {env}` starts it again")
    if not healthy:
        raise typer.Exit(int(Exit.FAILED))


@app.command("config")
def config(
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write prometheus.yml and the rule files.")],
    env: EnvOption = "lab",
) -> None:
    """Write the generated Prometheus configuration and rules, and check them with promtool (exit 1 if refused)."""
    inventory, binding = binding_or_exit(env)
    files = write_config(inventory, binding, out_dir, f"127.0.0.1:{WAN_EXPORTER_PORT}")
    ok, output = promtool_check(files)
    out.print(output, highlight=False, markup=False)
    if not ok:
        raise typer.Exit(int(Exit.FAILED))
    # the minute group's evaluation phase follows from this path (monitoring/rules.py minute_group_name)
    out.print(
        f"Load {files.recording} from exactly this path: its SLA minute group is named for it, and "
        "minutes recorded from a copy elsewhere fall off the minute, which `municloud sla report` refuses.",
        highlight=False,
        markup=False,
    )
