"""`municloud pki ...`: the environment's CA, the towns' client certificates and the service's."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Annotated

import typer
from rich.table import Table

from inventory.environment import bind_environment, environment_plan
from inventory.loader import Inventory
from inventory.problems import InventoryError
from pki.authority import DEFAULT_DAYS, EXPIRY_WARNING_DAYS, Authority, CertificateState, PkiError
from pki.environment import service_addresses, watched_hosts

from .common import Exit, err, fail, invalid_input_exits, inventory_or_exit, out, print_json
from .options import EnvOption, JsonOption, TownsOption

app = typer.Typer(
    help="The environment's certificate authority and the certificates it issues: one client certificate per "
    "town (its tenant identity on the shared service, mutual TLS) and the service's own. Keys stay under the "
    "state directory (mode 0600), never in the repository.",
    no_args_is_help=True,
)

DaysOption = Annotated[
    int, typer.Option("--days", min=1, max=825, help="Validity of a new certificate, in days (CA's at most).")
]


@app.command()
def issue(env: EnvOption = "lab", towns: TownsOption = None, days: DaysOption = DEFAULT_DAYS) -> None:
    """Create what is missing: the CA (once per environment), a certificate for every town that has no
    usable one, and the service's. Usable certificates are kept: run it as often as you like.

    Exit 0 when every certificate is usable, 1 when one could not be issued, 2 on bad input (an
    unknown town, a CA that exists but cannot be used: nothing is replaced then).
    """
    inv = inventory_or_exit()
    selected = _towns(inv, towns)
    authority = Authority(env)
    try:
        issued = authority.ensure_issued({t: inv.town(t).name for t in selected}, _service_addresses(inv, env), days)
    except PkiError as error:
        fail(f"the CA of {env} cannot be used, nothing was issued: {error}")
    if issued[:1] == ["ca"]:
        out.print(f"created the CA of {env}: {authority.ca_cert_path}")
        issued = issued[1:]
    out.print(f"issued {len(issued)}: {', '.join(issued) or 'nothing (all usable)'}")
    _print_table(inv, authority.states(selected))


@app.command()
def rotate(
    env: EnvOption = "lab",
    towns: TownsOption = None,
    service: Annotated[
        bool, typer.Option("--service", help="Rotate the service's and the operations center's certificates too.")
    ] = False,
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke", help="Also revoke the certificates replaced (a leaked key): the service refuses them."
        ),
    ] = False,
    days: DaysOption = DEFAULT_DAYS,
) -> None:
    """Renew towns' certificates (all without --town) with new keys, without an outage: each town's key
    and certificate are replaced in one rename, and the service accepts the old and the new alike (the
    same CA signs both) while the clients move over. With --revoke the replaced certificates go on the
    CA's revocation list, which the service reads on its next reload: for a key that leaked.

    Exit 0 when rotated, 2 when the CA is missing or unusable or a town is unknown (nothing changed).
    """
    inv = inventory_or_exit()
    selected = _towns(inv, towns)
    authority = Authority(env)
    try:
        authority.ca()
    except PkiError as error:
        fail(f"no usable CA for {env}, nothing was rotated: {error} (`municloud pki issue` creates it)")
    replaced = []
    for town_id in selected:
        replaced.append(authority.serial_of(authority.town_path(town_id)))
        authority.issue_town(town_id, inv.town(town_id).name, days)
    if service:
        replaced += [authority.serial_of(authority.service_path), authority.serial_of(authority.operations_path)]
        _issue_service(inv, env, authority, days)
        authority.issue_operations(days)
    if revoke:
        old = [s for s in replaced if s is not None]
        authority.revoke(old)
        out.print(f"revoked {len(old)} replaced certificate(s): reload the service to refuse them")
    out.print(f"rotated {len(selected)} town certificate(s){' and the service' if service else ''}")
    _print_table(inv, authority.states(selected))


@app.command()
def status(env: EnvOption = "lab", towns: TownsOption = None, as_json: JsonOption = False) -> None:
    """Every certificate of the environment: its serial, expiry, days left, fingerprint, and what is
    wrong with it (missing, malformed, not signed by the CA, expired, for another town).

    Exit 0 when all are usable and none expires within 30 days, 1 otherwise (a script's alarm), 2 on
    an unknown town.
    """
    inv = inventory_or_exit()
    selected = _towns(inv, towns)
    authority = Authority(env)
    states = authority.states(selected, hosts=watched_hosts(inv, authority))
    if as_json:
        print_json(
            {"environment": env, "ca": str(authority.ca_cert_path), "certificates": [s.as_dict() for s in states]}
        )
    else:
        _print_table(inv, states)
    if any(s.problem or s.expiring for s in states):
        bad = [s.subject for s in states if s.problem or s.expiring]
        err.print(f"[bold red]{len(bad)} certificate(s) need attention[/]: {', '.join(bad)}")
        raise typer.Exit(int(Exit.FAILED))


def _towns(inv: Inventory, towns: list[str] | None) -> list[str]:
    with invalid_input_exits():
        return [inv.town(t).id for t in towns] if towns else [t.id for t in inv.towns]


def _service_addresses(inv: Inventory, env: str) -> list[IPv4Address]:
    """The addresses the service answers on; the management ones too where the environment is bound
    (a lab that is up, a production binding written)."""
    try:
        binding = bind_environment(inv, env)
    except (InventoryError, KeyError, OSError, ValueError):
        return service_addresses(inv, environment_plan(inv, env))
    return service_addresses(inv, binding.plan, binding)


def _issue_service(inv: Inventory, env: str, authority: Authority, days: int) -> None:
    authority.issue_service(_service_addresses(inv, env), days=days)


def _print_table(inv: Inventory, states: list[CertificateState]) -> None:
    table = Table(title=f"certificates (warning under {EXPIRY_WARNING_DAYS} days)")
    for column in ("subject", "serial", "expires (UTC)", "days left", "SHA-256", "state"):
        table.add_column(column)
    names = {t.id: t.name for t in inv.towns}
    for s in states:
        state = f"[red]{s.problem}[/]" if s.problem else "[yellow]expires soon[/]" if s.expiring else "[green]usable[/]"
        table.add_row(
            f"{names.get(s.subject, '')} {s.subject}".strip(),
            f"{s.serial:x}"[:16] if s.serial is not None else "-",
            f"{s.not_after:%Y-%m-%d %H:%M}" if s.not_after else "-",
            f"{s.days_left:.0f}" if s.days_left is not None else "-",
            s.fingerprint[:16] if s.fingerprint else "-",
            state,
        )
    out.print(table)
