"""`municloud alerts inbox|silences`: what the alerts told people, and what is kept from telling them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from inventory.model.sla import CONTRACT_TZ, contract_time_text
from monitoring import silences
from monitoring.alertmanager import AlertmanagerError
from monitoring.mailbox import Mail, read_inbox
from monitoring.server import MonitorPaths
from monitoring.silence_schedule import silences_job

from .common import Exit, fail, invalid_input_exits, inventory_or_exit, out, print_json
from .options import EnvOption, JsonOption
from .scheduling import CronOption, InstallOption, print_or_install

app = typer.Typer(
    help=(
        "The alerts' side of the monitoring: Alertmanager (started by `monitor up`) mails each alert in Japanese to "
        "the people contacts.yaml names for it (a town's circuit: the carrier and the town; a lost data center: "
        "the vendor, the secretariat and every town, once), and keeps quiet during the contract's maintenance "
        "windows, the network's change windows and the BCP drills. `inbox` shows the messages a lab's mail server "
        "kept; `silences` what is silenced and why.\n\n"
        "Exit codes: 0 success, 1 nothing to read (no mail server, no Alertmanager), 2 invalid input."
    ),
    no_args_is_help=True,
)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: not a time (ISO 8601, e.g. 2026-12-07T10:00 in Japan time)")
    return moment if moment.tzinfo else moment.replace(tzinfo=CONTRACT_TZ)


@app.command("inbox")
def inbox(
    env: EnvOption = "lab",
    since: Annotated[
        str | None, typer.Option("--since", help="Only messages sent from then on (ISO 8601; Japan time if no zone).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Only messages to this address (or part of it).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Print every message's body, not only the list.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The alert e-mails the lab's mail server kept (every one Alertmanager sent), oldest first: when, to whom,
    the subject; with --show their bodies. Exit 1 when the environment has no mail server of ours (production
    mails through its relay: read them there)."""
    maildir = MonitorPaths.for_env(env).maildir
    if not maildir.is_dir():
        fail(
            f"no mail server of ours has run for '{env}' ({maildir} does not exist): a lab's starts with "
            "`municloud monitor up`; production sends through its relay",
            Exit.FAILED,
        )
    after = _since(since)
    mails = [
        m
        for m in read_inbox(maildir)
        if (after is None or (m.received is not None and m.received >= after))
        and (to is None or any(to in r for r in m.recipients))
    ]
    if as_json:
        print_json({"maildir": str(maildir), "count": len(mails), "messages": [m.to_json() for m in mails]})
        return
    table = Table(title=f"alert e-mails of '{env}' ({len(mails)})")
    for col in ("received (JST)", "to", "subject"):
        table.add_column(col)
    for m in mails:
        table.add_row(_jst(m), ", ".join(m.recipients), m.subject)
    out.print(table if mails else "no messages" + (" matching" if since or to else ""))
    if show:
        for m in mails:
            out.rule(f"{_jst(m)} → {', '.join(m.recipients)}")
            out.print(m.subject, markup=False, highlight=False)
            out.print(m.text, markup=False, highlight=False)
    out.print(f"Maildir: {maildir}", highlight=False)


def _jst(mail: Mail) -> str:
    return contract_time_text(mail.received, seconds=True) if mail.received else "?"


@app.command("silences")
def silences_command(
    env: EnvOption = "lab",
    sync: Annotated[
        bool,
        typer.Option("--sync", help="First bring the maintenance windows' silences in line with sla.yaml."),
    ] = False,
    expired: Annotated[
        bool, typer.Option("--expired", help="Also those expired (as long as Alertmanager keeps them).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """municloud's silences in the environment's Alertmanager: the maintenance windows of sla.yaml (each
    occurrence in the next 35 days and the next one however far, with the tails after it), a `net apply` in
    its change window, a drill while it runs; each with its source, matchers, times in JST and state. With
    --sync, the maintenance windows' silences are first created, kept or expired as sla.yaml says now (as
    `monitor up` does). Exit 1 when no Alertmanager runs for the environment or it refuses, 2 for invalid input."""
    inventory = inventory_or_exit()
    with invalid_input_exits():
        inventory.environment(env)
    try:
        api = silences.api_for(env)
        result = silences.sync_contract(inventory, env, api) if sync else None
        found = silences.municloud_silences(api, include_expired=expired)
    except AlertmanagerError as error:
        fail(str(error), Exit.FAILED)
    if as_json:
        print_json(
            {
                "alertmanager": api.url,
                **({"sync": _sync_json(result)} if result else {}),
                "silences": [_silence_json(s) for s in found],
            }
        )
        return
    if result:
        out.print(
            f"sync: {len(result.created)} created, {len(result.kept)} kept, {len(result.expired)} expired",
            highlight=False,
        )
    table = Table(title=f"silences of '{env}' ({len(found)}), Alertmanager {api.url}")
    for col in ("source", "state", "starts (JST)", "ends (JST)", "matchers", "id"):
        table.add_column(col)
    for s in found:
        table.add_row(
            s.source,
            s.state,
            contract_time_text(s.starts),
            contract_time_text(s.ends),
            "\n".join(map(str, s.matchers)),
            s.id,
        )
    out.print(table if found else "no silence of municloud's", highlight=False)


def _silence_json(s: silences.Silence) -> dict[str, object]:
    return {
        "id": s.id,
        "source": s.source,
        "state": s.state,
        "starts": s.starts.astimezone(CONTRACT_TZ).isoformat(),
        "ends": s.ends.astimezone(CONTRACT_TZ).isoformat(),
        "matchers": [str(m) for m in s.matchers],
        "comment": s.comment,
    }


def _sync_json(result: silences.SyncResult) -> dict[str, object]:
    return {
        "created": [{"source": s.source, "matchers": [str(m) for m in s.matchers]} for s in result.created],
        "kept": [s.id for s in result.kept],
        "expired": [s.id for s in result.expired],
    }


@app.command("schedule")
def schedule(
    env: EnvOption = "lab",
    folder: Annotated[
        Path | None, typer.Option("--out", help="Where cron's log goes (default: the monitoring's state folder).")
    ] = None,
    install: InstallOption = False,
    cron: CronOption = False,
) -> None:
    """Print (or --install) the daily job that keeps the maintenance windows' silences made ahead of them
    (`alerts silences --sync` at 05:00 JST), as a systemd timer or, for hosts without systemd, a cron line."""
    where = folder or MonitorPaths.for_env(env).root
    print_or_install(silences_job(env, where), where, install, cron)
