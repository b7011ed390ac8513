"""`municloud provision` and `municloud db ...`: the playbooks through ansible-runner, and the
database failover and fail-back of the BCP."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from monitoring.incidents import NoIncident, latest_incident
from monitoring.promapi import PrometheusAPI, PrometheusError
from monitoring.server import prometheus_url
from provisioning.db_state import primary_site
from provisioning.dispatch import lost_lines, placement_lines
from provisioning.failover import failback, failover
from provisioning.node_worker import NodeUnavailable
from provisioning.remote import RemoteError
from provisioning.restore import JST, Restorer, RestoreRefused, RestoreResult, jst_text
from provisioning.runner import Events, PlaybookResult, TaskFailure
from provisioning.verify import CheckResult, VerifyResult, run_verify
from toolkit.settings import state_dir

from ..scale import run_playbook_by_plan
from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, out, print_json
from .options import EnvOption, JsonOption, LocalOption, ReportFolderOption, TownOption, WorkersOption, YesOption
from .written import print_written

if TYPE_CHECKING:
    from network.isolation import IsolationReport


@contextmanager
def progress_events(title: str) -> Iterator[Events]:
    """A progress bar per play (results so far, the task running), a live line per failed task."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[play]}[/]"),
        BarColumn(),
        TextColumn("{task.completed} results"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def finish_plays() -> None:
            for task_id in tasks.values():
                bar.update(task_id, total=bar.tasks[task_id].completed or 1, description="done")

        def play_started(play: str, _hosts: int) -> None:
            finish_plays()
            tasks[play] = bar.add_task("", total=None, play=f"{title}: {play}"[:70])

        def task_started(play: str, task: str) -> None:
            if play in tasks:
                bar.update(tasks[play], description=task[:60])

        def host_done(play: str, _host: str, _outcome: str) -> None:
            if play in tasks:
                bar.advance(tasks[play])

        def failed(failure: TaskFailure) -> None:
            what = "UNREACHABLE" if failure.unreachable else "FAILED"
            bar.console.print(
                f"[red]{what}[/] {failure.host}: {failure.task}: {failure.message}", highlight=False, soft_wrap=True
            )

        yield Events(play_started, task_started, host_done, failed)
        finish_plays()


def recap_table(result: PlaybookResult) -> Table:
    table = Table(title=f"{result.playbook}: {result.status} in {result.seconds:.1f} s")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped", "rescued"):
        table.add_column(column, justify="left" if column == "host" else "right")
    for host in sorted(result.recap):
        r = result.recap[host]
        style = "" if r.good else "red"
        table.add_row(
            host,
            str(r.ok),
            str(r.changed),
            str(r.failed),
            str(r.unreachable),
            str(r.skipped),
            str(r.rescued),
            style=style,
        )
    return table


def result_json(result: PlaybookResult) -> dict[str, object]:
    return {
        "playbook": result.playbook,
        "status": result.status,
        "ok": result.ok,
        "seconds": round(result.seconds, 1),
        "changed": result.changed,
        "recap": {h: vars(r) for h, r in sorted(result.recap.items())},
        "failures": [vars(f) for f in result.failures],
        "artifacts": str(result.artifacts),
        "nodes": [{**vars(n), "artifacts": str(n.artifacts)} for n in result.nodes],
        "moved": result.moved,
        "lost": result.lost,
    }


def report(result: PlaybookResult, as_json: bool) -> None:
    if as_json:
        print_json(result_json(result))
    else:
        out.print(recap_table(result))
        for line in placement_lines(result):
            out.print(line, highlight=False)
        out.print(f"artifacts: {result.artifacts}", highlight=False)
    for line in lost_lines(result):
        err.print(f"[red]{line}[/]", highlight=False)
    if not result.recap and result.ok:
        err.print("[yellow]no host matched[/]: nothing was provisioned")
    if result.output_tail:
        err.print(result.output_tail, highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(int(Exit.FAILED))


def provision(
    env: EnvOption = "lab",
    limit: Annotated[str | None, typer.Option(help="Only these hosts or groups (Ansible's --limit).")] = None,
    town: TownOption = None,
    playbook: Annotated[str, typer.Option(help="The playbook in playbooks/ to run.")] = "site.yml",
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show the changes made to files.")] = False,
    local: LocalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Provision the environment's servers with the playbooks (ansible-runner).

    The Ansible inventory is generated from the inventory and the environment binding. In an
    environment with execution nodes, each town's servers are provisioned on the node of its region
    (ansible-runner transmit | worker over SSH | process, the protocol of AWX's execution nodes) and
    the data centers' here; a node that is not ready has its towns run on another, a node lost
    during the run is named with its towns (re-run them). A progress bar per play, a line per failed
    task, a recap per host at the end. Exit 0 only when no host failed or was unreachable and no
    node was lost; 1 otherwise; 2 for invalid input.
    """
    inventory, binding = binding_or_exit(env)
    if town is not None:
        if town not in inventory.town_by_id:
            fail(f"no town '{town}' in the inventory")
        if town not in binding.towns:
            fail(f"town '{town}' is not in environment '{env}' (its towns: {', '.join(binding.towns)})")
        limit = f"town_{town.replace('-', '_')}" + (f":&{limit}" if limit else "")
    try:
        with progress_events("provision") as events:
            result = run_playbook_by_plan(
                inventory, binding, playbook, local=local, limit=limit, check=check, diff=diff, events=events
            )
    except FileNotFoundError as error:
        fail(str(error))
    except NodeUnavailable as error:
        err.print(f"[red]not provisioned[/]: {error}")
        raise typer.Exit(int(Exit.FAILED)) from error
    report(result, as_json)


db_app = typer.Typer(
    help=(
        "The business database across the two data centers: which holds the primary, the failover "
        "to DC2 and the fail-back to DC1 (dc_failover.yml, dc_failback.yml)."
    ),
    no_args_is_help=True,
)


@db_app.command("status")
def db_status(env: EnvOption = "lab", as_json: JsonOption = False) -> None:
    """Which data center holds the database primary (as recorded; the inventory's design if none)."""
    inventory, _binding = binding_or_exit(env)
    current = primary_site(inventory, env)
    if as_json:
        print_json(vars(current))
        return
    how = f"recorded ({current.reason})" if current.recorded else "the inventory's design (nothing recorded)"
    out.print(f"database primary in {current.site}: {how}")


@db_app.command("failover")
def db_failover(
    env: EnvOption = "lab",
    to: Annotated[str, typer.Option("--to", help="The surviving data center.")] = "dc2",
    as_json: JsonOption = False,
) -> None:
    """Promote the standby in the surviving data center and point its app servers at it."""
    inventory, binding = binding_or_exit(env)
    with invalid_input_exits(), progress_events("dc_failover") as events:
        result = failover(inventory, binding, to, events)
    if result.promotion_error:
        err.print(f"[yellow]the direct promotion failed, the playbook promoted[/]: {result.promotion_error}")
    report(result.playbook, as_json)
    if result.promoted_after is not None and not as_json:
        out.print(f"writes accepted in {to} {result.promoted_after:.1f} s after the start (the promotion)")
    out.print(f"database primary now in {to}")


@db_app.command("failback")
def db_failback(
    env: EnvOption = "lab",
    to: Annotated[str, typer.Option("--to", help="The recovered data center that becomes primary again.")] = "dc1",
    as_json: JsonOption = False,
) -> None:
    """Rebuild the recovered data center as a standby, switch over without losing a write, and
    rebuild the other as its standby: replication healthy again, as before the failover."""
    inventory, binding = binding_or_exit(env)
    try:
        with invalid_input_exits(), progress_events("dc_failback") as events:
            result = failback(inventory, binding, to, events)
    except ValueError as error:
        fail(str(error))
    report(result, as_json)
    out.print(f"database primary now in {to}")


def verify(
    env: EnvOption = "lab",
    town: TownOption = None,
    junit: Annotated[Path | None, typer.Option(help="Also write the JUnit XML here (for CI systems).")] = None,
    workers: WorkersOption = 8,
    as_json: JsonOption = False,
    isolation: Annotated[
        bool,
        typer.Option(
            "--isolation",
            help="Instead: probe what every town hall segment reaches (三層分離, the towns apart) "
            "against segmentation.yaml, and write the セキュリティ分離検証報告.",
        ),
    ] = False,
    out_dir: ReportFolderOption = None,
) -> None:
    """Prove the servers are as the inventory says (testinfra over SSH).

    Services running and enabled, ports listening, configuration matching the inventory, database
    replication streaming, every subscribed (town, system) answering from the town's own server,
    and the towns unable to reach each other. A summary per town and site, the failing checks by
    name, and a JUnit XML file. Exit 0 when every check passed, 1 otherwise, 2 for invalid input.

    With --isolation: from each segment of each town hall (マイナンバー利用事務系, LGWAN接続系,
    インターネット接続系, the town hall LAN's servers), TCP and echo probes towards the service, the
    external services, every DC server's SSH, database and exporter ports and every other segment,
    each compared with what the policy allows. A breach (reached, denied by the policy) or a loss
    (allowed, not reached) fails it (exit 1). The report (HTML, PDF, JSON) goes to --out, by default
    the state directory's reports/isolation/<time>.
    """
    inventory, binding = binding_or_exit(env)
    if town is not None and town not in binding.towns:
        fail(f"town '{town}' is not in environment '{env}' (its towns: {', '.join(binding.towns)})")
    if isolation:
        verify_isolation(inventory, binding, [town] if town else list(binding.towns), out_dir, as_json)
        return
    with err.status(f"verifying {env} ({town or 'every town and both data centers'}) ..."):
        result = run_verify(inventory, binding, town=town, junit=junit, workers=workers)
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "seconds": round(result.seconds, 1),
                "junit": str(result.junit),
                "error": result.error,
                "checks": [vars(r) | {"site": result.sites.get(r.host)} for r in result.results],
            }
        )
    else:
        if result.error:
            err.print(result.error, highlight=False, markup=False)
        out.print(verify_table(result))
        for r in result.results:
            if not r.passed:
                out.print(f"[red]FAILED[/] {r.host}: {r.check}: {r.message}", highlight=False)
        out.print(f"JUnit XML: {result.junit}", highlight=False)
    if not result.ok:
        raise typer.Exit(int(Exit.FAILED))


def verify_isolation(
    inventory: Inventory, binding: EnvironmentBinding, towns: list[str], out_dir: Path | None, as_json: bool
) -> None:
    # imported here: the lab's prober and the report's documents are for this option only
    from toolkit.documents import DocumentError

    from ..isolation import IsolationUnavailable, run_isolation

    try:
        with err.status(f"probing the segments of {', '.join(towns)} ..."):
            report, paths = run_isolation(inventory, binding, towns, out_dir)
    except IsolationUnavailable as error:
        fail(str(error), Exit.FAILED)
    except (DocumentError, OSError) as error:
        fail(f"the isolation report could not be written: {error}", Exit.FAILED)
    if as_json:
        print_json({**report.to_json(), "files": {kind: str(path) for kind, path in paths.items()}})
    else:
        out.print(isolation_table(report))
        for c in report.breaches + report.losses:
            what = "BREACH" if c.verdict == "breach" else "LOSS"
            out.print(
                f"[red]{what}[/] {c.point.town} {c.point.segment} ({c.point.address}) -> {c.target.name} "
                f"({c.target.address}): {c.outcome}, policy {'allows (' + c.flow + ')' if c.flow else 'denies'}",
                highlight=False,
            )
        tenants = report.tenant_cells
        out.print(
            f"tenants: {len(tenants)} requests with {len({c.certificate for c in tenants})} towns' certificates, "
            f"{len(report.tenant_deviations)} deviations",
            highlight=False,
        )
        for t in report.tenant_deviations:
            out.print(
                f"[red]TENANT {t.verdict.upper()}[/] {t.certificate}'s certificate {t.request.key}: "
                f"{t.status or 'no answer'} (expected {200 if t.allowed else 403})",
                highlight=False,
            )
        print_written(out, "isolation report written", paths)
    if not report.ok:
        raise typer.Exit(int(Exit.FAILED))


def isolation_table(report: IsolationReport) -> Table:
    table = Table(
        title=f"verify --isolation: {len(report.cells)} probes, {len(report.breaches)} breaches, "
        f"{len(report.losses)} losses in {report.seconds:.1f} s"
    )
    for column in ("town", "segment", "probe", "probes", "allowed", "reached", "breaches", "losses"):
        table.add_column(column)
    for row in report.rows():
        bad = row["breaches"] or row["losses"]
        table.add_row(
            f"{row['town']} {row['town_name']}",
            row["segment_name"],
            row["device"],
            *(str(row[k]) for k in ("probes", "allowed", "reached", "breaches", "losses")),
            style="red" if bad else "",
        )
    return table


def verify_table(result: VerifyResult) -> Table:
    by_site: dict[str, list[CheckResult]] = {}
    for r in result.results:
        by_site.setdefault(result.sites.get(r.host, "?"), []).append(r)
    passed = sum(r.passed for r in result.results)
    table = Table(title=f"verify: {passed}/{len(result.results)} checks passed in {result.seconds:.1f} s")
    for column in ("town / site", "hosts", "passed", "failed", "failing checks"):
        table.add_column(column)
    for site in sorted(by_site):
        checks = by_site[site]
        failed = [f"{r.host}: {r.check}" for r in checks if not r.passed]
        table.add_row(
            site,
            str(len({r.host for r in checks})),
            str(len(checks) - len(failed)),
            str(len(failed)),
            "; ".join(failed),
            style="red" if failed else "",
        )
    return table


def _restore_point(text: str) -> dt.datetime:
    """An ISO time; without a zone it is Japan's (what the operators' clocks and reports show)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time (e.g. 2026-12-07T09:30:00, Japan's time)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JST)


@db_app.command("restore")
def db_restore(
    to: Annotated[
        str | None,
        typer.Option("--to", help="The moment to restore to: an ISO time, Japan's unless it names a zone."),
    ] = None,
    before_incident: Annotated[
        bool,
        typer.Option(
            "--before-incident",
            help="With --town: the last probe round before the town's latest incident in Prometheus "
            "(`monitor up`), when every system of the town answered.",
        ),
    ] = False,
    env: EnvOption = "lab",
    town: TownOption = None,
    repo_site: Annotated[
        str | None,
        typer.Option(
            "--repository", help="The site whose backup server's repository to restore from (default: the primary's)."
        ),
    ] = None,
    overwrite_only_copy: Annotated[
        bool,
        typer.Option(
            "--overwrite-only-copy",
            help="Restore the whole cluster even when no standby holds a second copy of the present.",
        ),
    ] = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Point-in-time recovery from pgBackRest's repositories (the WAL archive), for what replication
    copied to the standby too: a dropped table, an encrypted schema, a bad migration.

    With --town: the cluster is restored beside the primary (a scratch directory and port on its
    server), the town's schema taken from it and put in place of the damaged one in one
    transaction; the other towns keep their service; the damaged schema is kept, renamed, as the
    evidence. Without: the primary is restored in place and the standby rebuilt from it (every town
    is out meanwhile). Says what was lost: the heartbeat rows written after the restore point.

    Exit 0 restored, 1 a step failed (named; a town's restore leaves its schema as it was, a
    cluster's restarts the untouched standby), 2 refused (a time outside what the repository holds,
    with the range; no standby holding a second copy; no incident in the town's probe data; nothing
    was changed).
    """
    if not yes:
        fail("a restore replaces data: give --yes")
    if (to is None) == (not before_incident):
        fail("give the moment: --to TIME, or --before-incident with --town")
    if before_incident and town is None:
        fail("--before-incident reads one town's probes: give --town")
    inventory, binding = binding_or_exit(env)
    target = _restore_point(to) if to is not None else _before_incident(env, town)  # type: ignore[arg-type]
    workdir = state_dir() / "restore" / env
    with invalid_input_exits():
        restorer = Restorer(inventory, binding, workdir, repo_site, progress=lambda step: err.print(f"  {step}"))
    try:
        if town is not None:
            result = restorer.restore_town(town, target)
        else:
            with progress_events("postgresql (the standby's rebuild)") as events:
                result = restorer.restore_cluster(target, events, overwrite_only_copy)
    except RestoreRefused as error:
        fail(f"restore refused, nothing was changed: {error}")
    except RemoteError as error:
        fail(str(error), Exit.FAILED)
    if as_json:
        print_json(restore_summary(result))
    else:
        out.print(restore_table(result))
    if result.standby is not None and not result.standby.ok:
        fail("the primary is restored, but the standby's rebuild failed: `municloud provision` again", Exit.FAILED)


def _before_incident(env: str, town: str) -> dt.datetime:
    url = prometheus_url(env)
    if url is None:
        fail(f"--before-incident reads the probes from Prometheus, not running for {env}: `municloud monitor up`")
    try:
        incident = latest_incident(PrometheusAPI(url), town, time.time())
    except (NoIncident, PrometheusError) as error:
        fail(f"no moment before an incident: {error}")
    moment = dt.datetime.fromtimestamp(incident.last_good, dt.UTC)
    failed = jst_text(dt.datetime.fromtimestamp(incident.first_bad, dt.UTC))
    state = "still going on" if incident.ongoing else "over"
    err.print(f"{town}'s latest incident: the probes failed from {failed} ({state}); restoring to {jst_text(moment)}")
    return moment


def restore_summary(result: RestoreResult) -> dict[str, object]:
    return {
        "scope": result.scope,
        "restore_point": result.target.isoformat(),
        "repository": {"index": result.repo, "site": result.site},
        "available": [result.window.earliest.isoformat(), result.window.latest.isoformat()],
        "lost_writes": result.lost_writes,
        "last_restored_write": {t: w.isoformat() if w else None for t, w in result.last_restored_write.items()},
        "damaged_schema_kept_as": result.damaged_schema,
        "steps": [{"step": s, "seconds": round(t, 1)} for s, t in result.steps],
        "seconds": round(result.seconds, 1),
    }


def restore_table(result: RestoreResult) -> Table:
    table = Table(
        title=f"db restore {result.scope} to {jst_text(result.target)} from repository {result.repo} ({result.site})"
    )
    table.add_column("town")
    table.add_column("last restored write (JST)")
    table.add_column("writes lost", justify="right")
    for town, lost in result.lost_writes.items():
        last = result.last_restored_write.get(town)
        table.add_row(
            town, jst_text(last) if last else "none", "unknown (table destroyed)" if lost is None else str(lost)
        )
    table.caption = " · ".join(f"{s} {t:.1f} s" for s, t in result.steps) + (
        f" · the damaged schema kept as {result.damaged_schema}" if result.damaged_schema else ""
    )
    return table
