"""`municloud net ...`: network changes (render, plan, apply with canary and automatic rollback,
rollback, backup, compliance, the audit log)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax
from rich.table import Table

from inventory.environment import bind_environment
from monitoring.silences import change_silence
from network.apply import (
    ApplyRefused,
    ApplyResult,
    Journal,
    apply_plan,
    rollback_device,
    rollback_unfinished,
    unfinished_changes,
)
from network.audit import audit, read_audit
from network.backup import BackupError, BackupRepo
from network.compliance import ComplianceReport, check_compliance
from network.config import without_volatile
from network.fanout import SESSIONS_PER_EDGE
from network.fleet import Fleet
from network.plan import Plan, PlanError, fetch_running, intended_configs, make_plan, select_devices

from .common import Exit, binding_or_exit, err, fail, invalid_input_exits, inventory_or_exit, out, print_json
from .common import progress_bar as _progress  # the same progress bar as `lab up`
from .options import EnvOption, JsonOption, ReportFolderOption, TownsOption, WorkersOption, YesOption
from .written import print_written

app = typer.Typer(
    help=(
        "Network changes on the WAN's routers, never by hand: render the intended config from the "
        "inventory, plan (diff against the running config), apply with a canary, post-checks and "
        "automatic rollback, backups in git, compliance, and an audit log of every change."
    ),
    no_args_is_help=True,
)
DeviceOption = Annotated[list[str] | None, typer.Option("--device", "-d", help="Only this router (repeatable).")]


def _counter(update: Callable[[str, int, int], None], total: int) -> Callable[[str], None]:
    done = [0]

    def tick(name: str) -> None:
        done[0] += 1
        update(name, done[0], total)

    return tick


def _warn_unfinished(offer: bool = True) -> bool:
    """Say so when an earlier change was left unfinished, and offer its rollback. True if any."""
    unfinished = unfinished_changes()
    for journal in unfinished:
        err.print(
            f"[bold yellow]unfinished change[/] {journal.change_id} (plan {journal.data.get('plan')}, by "
            f"{journal.data.get('who')}, started {journal.data.get('started')}): the process ended in the middle; "
            f"devices possibly changed: {', '.join(journal.touched())}.\n"
            "  Roll them back to their pre-change backups: [bold]municloud net rollback --unfinished --yes[/]",
            highlight=False,
        )
    if unfinished and offer and sys.stdin.isatty() and typer.confirm("Roll back the unfinished change now?"):
        fleet = Fleet(bind_environment(inventory_or_exit(), unfinished[0].data.get("environment", "lab")))
        for journal in unfinished:
            _print_rollbacks(rollback_unfinished(fleet, journal))
        return False
    return bool(unfinished)


def _print_rollbacks(results: dict[str, tuple[bool, str]]) -> None:
    table = Table(title="rollback")
    for col in ("device", "result", "detail"):
        table.add_column(col)
    for name, (ok, detail) in sorted(results.items()):
        table.add_row(name, "[green]restored[/]" if ok else "[red]NOT restored[/]", detail)
    out.print(table)


@app.command()
def render(
    env: EnvOption = "lab",
    device: DeviceOption = None,
    town: TownsOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", help="Write one <device>.cfg per router into this folder.")
    ] = None,
) -> None:
    """Print (or write) the intended configuration of each router, rendered from the inventory with
    its platform's template (network/templates/<platform>.j2). Touches no device."""
    inv, binding = binding_or_exit(env)
    with invalid_input_exits():
        names = select_devices(inv, binding, device, town)
    _, rendered, errors = intended_configs(inv, binding, names)
    table = Table(title=f"intended configs ({env})")
    for col in ("device", "platform", "lines", "result"):
        table.add_column(col)
    for name in names:
        host = binding.host(name)
        if name in errors:
            table.add_row(name, str(host.platform), "-", f"[yellow]{errors[name]}[/]")
            continue
        if output:
            output.mkdir(parents=True, exist_ok=True)
            (output / f"{name}.cfg").write_text(rendered[name])
        else:
            out.print(f"[bold]! ---- {name} ({host.platform})[/]", highlight=False)
            out.print(rendered[name], highlight=False, markup=False)
        table.add_row(name, str(host.platform), str(len(rendered[name].splitlines())), "rendered")
    out.print(table)
    if errors:
        raise typer.Exit(int(Exit.FAILED))


@app.command()
def plan(
    env: EnvOption = "lab",
    device: DeviceOption = None,
    town: TownsOption = None,
    json_: JsonOption = False,
    workers: WorkersOption = 16,
) -> None:
    """Fetch the running configs over SSH (in parallel), compute per router the remediation to the
    intended config and its rollback (hier_config), print a readable diff per router and write a plan
    file that records each router's running-config hash (`net apply` refuses it once stale).

    Exit 0 with nothing to change; 0 with changes (the plan file is printed); 1 when a router could
    not be planned (unreachable, or a platform without templates)."""
    inv, binding = binding_or_exit(env)
    _warn_unfinished(offer=not json_)
    with invalid_input_exits():
        names = select_devices(inv, binding, device, town)
    with _progress("net plan") as update:
        the_plan = make_plan(inv, binding, names, workers=workers, progress=_counter(update, len(names)))
    path = the_plan.save() if the_plan.changed else None
    if json_:
        print_json({**the_plan.to_json(), "path": str(path) if path else None})
    else:
        for d in the_plan.changed:
            out.print(f"[bold]---- {d.name}[/] ({d.platform}): {len(d.remediation)} line(s)", highlight=False)
            out.print(Syntax(d.diff, "diff", theme="ansi_dark", background_color="default"))
        table = Table(title=f"net plan ({env})" + (f": {path}" if path else ": nothing to change"))
        for col in ("device", "platform", "role", "changes", "running hash"):
            table.add_column(col)
        for d in the_plan.devices:
            status = f"[red]{d.error}[/]" if d.error else (f"{len(d.remediation)} line(s)" if d.changed else "none")
            table.add_row(d.name, d.platform, d.role, status, d.running_hash[:12])
        out.print(table)
        if path:
            out.print(f"apply with: [bold]municloud net apply {path} --yes[/]", highlight=False)
    audit("plan", plan=the_plan.id, environment=env, devices={d.name: len(d.remediation) for d in the_plan.devices})
    if the_plan.errors:
        raise typer.Exit(int(Exit.FAILED))


@app.command()
def apply(
    plan_file: Annotated[Path, typer.Argument(help="The plan file (or plan id) written by `net plan`.")],
    yes: YesOption = False,
    emergency: Annotated[
        bool, typer.Option("--emergency", help="Outside the change windows (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why this emergency change; recorded.")] = None,
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary",
            help="A region's canary, changed before its other routers (repeatable, one per region; the carrier "
            "and DC edges are a region of their own). Default: the region's changed router with the fewest "
            "residents behind it.",
        ),
    ] = None,
    workers: WorkersOption = 8,
    sessions_per_edge: Annotated[
        int,
        typer.Option(
            "--sessions-per-edge",
            min=1,
            help="At most this many management sessions in use at once through one carrier edge (a town "
            "router is reached over its circuits, through the carrier's edges), whatever --workers is.",
        ),
    ] = SESSIONS_PER_EDGE,
    check_timeout: Annotated[float, typer.Option(help="Seconds post-checks wait for sessions and routes.")] = 30.0,
    json_: JsonOption = False,
) -> None:
    """Apply a plan: refuses when the plan is stale, outside the change windows of the inventory
    (unless --emergency --reason), when another change holds a router's lock, or an earlier change
    is unfinished. Then backup (git), pre-checks, then per region: the carrier and DC edges first, then
    the towns' regions in parallel, each region's canary before its other routers; per router push,
    post-checks (BGP and BFD up, expected prefixes, no default route, the DC reachable from the
    town); a final verification of the whole network; only then save (commit-confirm). On any failure
    every router touched is rolled back to its backup, verified against it: a failed canary stops its
    region, and any failure stops every region from starting another router.

    Exit 0 applied; 1 failed and rolled back (the table says which router is not back, if any);
    2 refused (nothing was changed)."""
    if not yes:
        fail("`net apply` changes routers: add --yes to confirm")
    if emergency and not reason:
        fail("--emergency needs --reason TEXT (recorded in the audit log)")
    with invalid_input_exits():
        try:
            the_plan = Plan.load(plan_file)
        except PlanError as error:
            fail(str(error))
    inv, binding = binding_or_exit(the_plan.environment)
    if _warn_unfinished(offer=not json_):
        fail("an earlier change is unfinished: roll it back first (see above)")
    silence = change_silence(
        inv, the_plan.environment, the_plan, emergency, notice=lambda text: err.print(f"[yellow]{text}[/]")
    )
    try:
        # the changed towns' WAN alerts silenced while the routers change (an emergency change is not)
        with silence, _progress("net apply") as update:
            result = apply_plan(
                the_plan,
                inv,
                binding,
                emergency_reason=reason if emergency else None,
                workers=workers,
                canary=canary or None,
                sessions_per_edge=sessions_per_edge,
                check_timeout=check_timeout,
                progress=update,
            )
    except ApplyRefused as error:
        fail(f"refused, nothing was changed: {error}")
    if json_:
        print_json(
            {
                "change": result.change_id,
                "plan": result.plan_id,
                "ok": result.ok,
                "canary": result.canary,
                "window": result.window,
                "seconds": round(result.seconds, 2),
                "regions": {n: vars(r) for n, r in result.regions.items()},
                "devices": {n: vars(r) for n, r in result.results.items()},
            }
        )
    else:
        _print_apply(result)
    if not result.ok:
        raise typer.Exit(int(Exit.FAILED))


def _print_apply(result: ApplyResult) -> None:
    """The routers' table, then the regions' (地域別結果): each region's canary and how it ended."""
    table = Table(title=f"net apply {result.plan_id}: change {result.change_id} ({result.seconds:.1f} s)")
    for col in ("device", "region", "result", "lines", "seconds", "detail"):
        table.add_column(col)
    colour = {"applied": "green", "unchanged": "dim", "rolled-back": "yellow", "skipped": "yellow", "pending": "dim"}
    canaries = {r.canary for r in result.regions.values()}
    for name, r in result.results.items():
        mark = f"[{colour.get(r.status, 'red')}]{r.status}[/]" + (" (canary)" if name in canaries else "")
        table.add_row(name, r.region, mark, str(r.pushed), f"{r.seconds:.1f}", r.detail)
    out.print(table)
    if result.regions:
        regions = Table(title="地域別結果 (per region, in the order changed)")
        for col in ("region", "canary", "canary result", "routers", "outcome", "detail"):
            regions.add_column(col)
        for reg in result.regions.values():
            counts: dict[str, int] = {}
            for name in reg.devices:
                counts[result.results[name].status] = counts.get(result.results[name].status, 0) + 1
            tint = "green" if reg.outcome == "applied" else ("red" if reg.outcome.endswith("failed") else "yellow")
            regions.add_row(
                f"{reg.name} ({reg.region})" if reg.name != reg.region else reg.region,
                reg.canary,
                f"[{colour.get(reg.canary_status, 'red')}]{reg.canary_status}[/]",
                ", ".join(f"{n} {s}" for s, n in counts.items()),
                f"[{tint}]{reg.outcome}[/]",
                reg.detail,
            )
        out.print(regions)
    out.print(result.window, highlight=False)


@app.command()
def rollback(
    device: Annotated[str | None, typer.Option("--device", "-d", help="The router to roll back.")] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="A backup: git revision of the backups repo (default: the last pre-change backup)."),
    ] = None,
    unfinished: Annotated[bool, typer.Option("--unfinished", help="Roll back every change left unfinished.")] = False,
    yes: YesOption = False,
    env: EnvOption = "lab",
) -> None:
    """Put a router back to a backup (the last pre-change backup by default), verified by comparing its
    running config with the backup afterwards; or, with --unfinished, every router of a change whose
    process died in the middle."""
    if not yes:
        fail("`net rollback` changes routers: add --yes to confirm")
    _inv, binding = binding_or_exit(env)
    fleet = Fleet(binding)
    if unfinished:
        journals = unfinished_changes()
        if not journals:
            out.print("no unfinished change")
            return
        ok = True
        for journal in journals:
            results = rollback_unfinished(fleet, journal)
            _print_rollbacks(results)
            ok = ok and all(r for r, _ in results.values())
        if not ok:
            raise typer.Exit(int(Exit.FAILED))
        return
    if device is None:
        fail("give --device D (or --unfinished)")
    with invalid_input_exits():
        fleet.router(device)
    repo = BackupRepo()
    try:
        rev = to or repo.latest_pre_change(device)
        backup = repo.read(device, rev)
    except BackupError as error:
        fail(str(error))
    if _warn_unfinished(offer=False):
        fail("an earlier change is unfinished: `municloud net rollback --unfinished --yes` first")
    ok, detail, pushed = rollback_device(fleet, device, backup)
    audit("rollback", device=device, to=rev, pushed=pushed, outcome=ok, detail=detail, environment=env)
    _print_rollbacks({device: (ok, f"to {rev[:10]}: {detail} ({len(pushed)} line(s))")})
    if not ok:
        raise typer.Exit(int(Exit.FAILED))


@app.command()
def backup(env: EnvOption = "lab", workers: WorkersOption = 16) -> None:
    """Every router's running config into the backups git repository (outside the source tree), one
    commit per run; prints the commit's diff with secrets masked."""
    _inv, binding = binding_or_exit(env)
    names = [r.name for r in binding.routers()]
    with _progress("net backup") as update:
        running = fetch_running(Fleet(binding), names, workers, _counter(update, len(names)))
    platforms = {r.name: r.platform or "frr" for r in binding.routers()}
    good = {n: without_volatile(platforms[n], str(t)) for n, t in running.items() if not isinstance(t, BaseException)}
    repo = BackupRepo()
    rev = repo.commit(good, f"backup of {len(good)} router(s) ({env})")
    if rev:
        diff = repo.masked_diff(rev)
        if diff:
            out.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
    table = Table(title=f"net backup ({env}): {repo.path}" + (f" commit {rev[:10]}" if rev else " (no change)"))
    for col in ("device", "result"):
        table.add_column(col)
    for name in names:
        r = running[name]
        table.add_row(name, f"[red]{r}[/]" if isinstance(r, BaseException) else f"{len(str(r).splitlines())} lines")
    out.print(table)
    audit("backup", environment=env, commit=rev, devices=sorted(good))
    if len(good) != len(names):
        raise typer.Exit(int(Exit.FAILED))


@app.command()
def compliance(
    env: EnvOption = "lab",
    town: TownsOption = None,
    json_: JsonOption = False,
    workers: WorkersOption = 16,
    out_dir: ReportFolderOption = None,
) -> None:
    """Per town and router: compliant (running config equals the intended one) or the lines that
    differ (secrets masked). Touches no device. With --out, also the network compliance report
    (ネットワーク構成準拠報告) as HTML, PDF and JSON, written whatever the result; with --json too,
    what is printed is the report's JSON and the files written ("files": kind -> path).

    Exit 1 when any router is not compliant (or the report could not be written)."""
    inv, binding = binding_or_exit(env)
    with invalid_input_exits():
        names = select_devices(inv, binding, None, town)
    with _progress("net compliance") as update:
        report = check_compliance(inv, binding, names, workers=workers, progress=_counter(update, len(names)))
    if not json_:
        _print_compliance(report)
    paths = _write_compliance(report, out_dir) if out_dir is not None else {}
    if json_ and paths:  # the report's JSON (compliance.json) and the files written
        print_json({**report.to_json(), "files": {kind: str(path) for kind, path in paths.items()}})
    elif json_:
        print_json(
            [
                {
                    "town": r.town or "-",
                    "device": r.device,
                    "compliant": r.compliant,
                    "error": r.error,
                    "differs": r.differs,
                }
                for r in report.routers
            ]
        )
    elif paths:
        print_written(out, "network compliance report written", paths)
    if not report.compliant:
        raise typer.Exit(int(Exit.FAILED))


def _write_compliance(report: ComplianceReport, out_dir: Path) -> dict[str, Path]:
    # imported here: the report's documents bring matplotlib (most of a second), which no other
    # `net` command needs
    from network.report import render_compliance
    from toolkit.documents import DocumentError

    try:
        return render_compliance(report, out_dir)
    except (DocumentError, OSError) as error:
        fail(f"the compliance report could not be written: {error}", Exit.FAILED)


def _print_compliance(report: ComplianceReport) -> None:
    table = Table(title=f"net compliance ({report.environment})")
    for col in ("town", "device", "result", "lines that differ"):
        table.add_column(col)
    colour = {"compliant": "green", "differs": "yellow"}
    for r in report.routers:
        result = f"[{colour.get(r.status, 'red')}]{'error' if r.error else r.status}[/]"
        table.add_row(r.town or "-", r.device, result, r.error or "\n".join(r.differs[:12]))
    out.print(table)


@app.command()
def log(limit: Annotated[int, typer.Option(help="How many events.")] = 30, json_: JsonOption = False) -> None:
    """The audit log: who changed what, when, with which plan, and the outcome."""
    events = read_audit()[-limit:]
    if json_:
        print_json(events)
        return
    table = Table(title="network audit log")
    for col in ("time", "who", "event", "plan/change", "device", "outcome"):
        table.add_column(col)
    for e in events:
        table.add_row(
            e.get("time", ""),
            e.get("who", ""),
            e.get("event", ""),
            str(e.get("change") or e.get("plan") or ""),
            str(e.get("device") or ""),
            str(e.get("outcome", e.get("reason", ""))),
        )
    out.print(table)


@app.command()
def changes(json_: JsonOption = False) -> None:
    """The changes' journals: which finished, which were rolled back, which were left unfinished."""
    from network.store import changes_dir

    journals = [Journal.load(p) for p in sorted(changes_dir().glob("*.json"))] if changes_dir().is_dir() else []
    if json_:
        print_json([j.data | {"abandoned": j.abandoned} for j in journals])
        return
    table = Table(title="network changes")
    for col in ("change", "plan", "who", "started", "status", "devices"):
        table.add_column(col)
    for j in journals:
        status = "[red]UNFINISHED[/]" if j.abandoned else j.data.get("status", "")
        table.add_row(
            j.change_id,
            j.data.get("plan", ""),
            j.data.get("who", ""),
            j.data.get("started", ""),
            status,
            ", ".join(f"{n}:{d['state']}" for n, d in j.data["devices"].items()),
        )
    out.print(table)
