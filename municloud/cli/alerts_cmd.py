"""`municloud alerts inbox|silences`: what the alerts told people, and what is kept from telling them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from inventory.model.sla import CONTRACT_TZ, to_contract_time
from monitoring.mailbox import Mail, read_inbox
from monitoring.server import MonitorPaths

from .common import Exit, fail, out, print_json
from .options import EnvOption, JsonOption

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
    return f"{to_contract_time(mail.received):%Y-%m-%d %H:%M:%S}" if mail.received else "?"
