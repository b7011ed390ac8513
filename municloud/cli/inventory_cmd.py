"""`municloud inventory ...`: check, show and derive from the inventory (the single source of truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from inventory.address_plan import plan_as_dict
from inventory.environment import bind_environment, environment_plan
from inventory.flow_plan import concrete_flows
from inventory.loader import default_root
from inventory.model.layers import LAYERS
from inventory.model.systems import SystemClass
from inventory.problems import InventoryError
from provisioning.ansible_inventory import ansible_inventory

from ..checks import check_inventory
from .common import Exit, err, fail, invalid_input_exits, inventory_or_exit, out, print_json, print_problems
from .options import EnvOption, JsonOption, TownsOption

app = typer.Typer(
    help="Check the inventory, show it, and derive the address plan and the Ansible inventory from it.",
    no_args_is_help=True,
)


@app.command()
def check(as_json: JsonOption = False) -> None:
    """Validate every inventory file and the rules between them.

    Lists every problem as `file:line: entry: field: rule broken`. Exit 0 when valid, 2 when not.
    """
    result = check_inventory()
    if as_json:
        print_json(
            {
                "root": str(default_root()),
                "ok": result.ok,
                "problems": [p.as_dict() for p in result.problems],
                "skipped_rules": result.skipped_rules,
            }
        )
    elif result.ok:
        inv = result.inventory
        assert inv is not None
        out.print(
            f"[green]ok[/]: {len(inv.towns)} towns ({sum(t.population for t in inv.towns):,} residents), "
            f"{len(inv.systems)} business systems, {len(inv.datacenters)} data centers, "
            f"{len(inv.environments)} environments ({', '.join(sorted(inv.environments))})"
        )
    else:
        print_problems(InventoryError(result.problems))
        if result.skipped_rules:
            err.print(
                f"{len(result.skipped_rules)} cross-file rule(s) were not run because a file they need has "
                "errors; fix the problems above and check again."
            )
    raise typer.Exit(int(Exit.OK if result.ok else Exit.INVALID))


@app.command()
def show(
    as_json: JsonOption = False,
    town: Annotated[str | None, typer.Option(help="Show one town in detail (its id, e.g. ina).")] = None,
) -> None:
    """The towns: population, cut-over state, subscriptions (◎ ○ △), CE router and circuits."""
    inv = inventory_or_exit()
    total = sum(t.population for t in inv.towns)
    classes = {s.id: s.system_class for s in inv.systems}
    if town and town not in inv.town_by_id:
        fail(f"no town '{town}' in the inventory (ids: {', '.join(inv.town_by_id)})")
    towns = [inv.town(town)] if town else list(inv.towns)
    if as_json:
        print_json(
            {
                "total_population": total,
                "towns": [
                    {
                        **t.model_dump(mode="json", by_alias=True),
                        "population_share": round(t.population / total, 6),
                    }
                    for t in towns
                ],
            }
        )
        return
    table = Table(title="自治体クラウド 参加団体 (member towns)", show_footer=True)
    table.add_column("#", justify="right")
    table.add_column("団体 (town)", footer="合計 total")
    table.add_column("romaji")
    table.add_column("人口 population", justify="right", footer=f"{total:,}")
    table.add_column("share", justify="right", footer="100.0%")
    table.add_column("cut-over")
    table.add_column("◎", justify="right")
    table.add_column("○", justify="right")
    table.add_column("△", justify="right")
    table.add_column("external", justify="right")
    table.add_column("CE router")
    for t in towns:
        count = {c: sum(1 for s in t.subscriptions if classes[s] is c) for c in SystemClass}
        status = {"live": "[green]live[/]", "migrating": "[yellow]migrating[/]", "planned": "[dim]planned[/]"}
        when = f" {t.cutover.date}" if t.cutover.date else ""
        table.add_row(
            str(t.number),
            t.name,
            t.romaji,
            f"{t.population:,}",
            f"{t.population / total:.1%}",
            f"wave {t.cutover.wave} {status[t.cutover.status]}{when}",
            str(count[SystemClass.REQUIRED]),
            str(count[SystemClass.OPTION]),
            str(count[SystemClass.VENDOR_OPTION]),
            str(len(t.external_systems)),
            f"{t.router.name} ({t.router.platform})",
        )
    out.print(table)
    if town:
        t = towns[0]
        out.print(
            f"[bold]{t.name}[/] ({t.romaji}): site {t.site.name}, servers "
            f"{', '.join(f'{s.name} ({s.role})' for s in t.servers)}; clients {t.clients.pcs} PCs, "
            f"{t.clients.printers} printers"
        )
        for role in ("primary", "backup"):
            c = getattr(t.circuits, role)
            out.print(f"  {role} circuit {c.id} to {c.carrier_edge}, {c.bandwidth_mbps} Mbit/s")
        out.print("  subscriptions: " + ", ".join(inv.system_by_id[s].label for s in t.subscriptions))
        for e in t.external_systems:
            out.print(f"  external: {inv.system_by_id[e.system].label} by {e.vendor}")
        for sid, params in t.parameters.items():
            out.print(
                f"  parameters of {inv.system_by_id[sid].label}: " + ", ".join(f"{k}={v}" for k, v in params.items())
            )


@app.command()
def systems(as_json: JsonOption = False) -> None:
    """The 49 business systems: class (◎ required, ○ option, △ vendor option, × out of scope), tier, takers."""
    inv = inventory_or_exit()
    takers = {s.id: sum(1 for t in inv.towns if s.id in t.subscriptions) for s in inv.systems}
    if as_json:
        print_json(
            [{**s.model_dump(mode="json", by_alias=True), "towns_subscribed": takers[s.id]} for s in inv.systems]
        )
        return
    table = Table(title="業務システム (business systems)")
    for col in ("#", "業務 (system)", "English", "class", "tier", "towns"):
        table.add_column(col, justify="right" if col in ("#", "towns") else "left")
    for s in inv.systems:
        table.add_row(
            str(s.number),
            s.name,
            s.name_en,
            f"{s.system_class.value} {s.system_class.label}",
            s.tier,
            f"{takers[s.id]}/{len(inv.towns)}",
        )
    out.print(table)


@app.command("plan-addresses")
def plan_addresses_cmd(env: EnvOption = "lab", as_json: JsonOption = False) -> None:
    """The address plan of an environment, derived from the inventory and the environment's supernet.

    Stable: town n always gets block n, so adding a town moves no existing address.
    """
    inv = inventory_or_exit()
    with invalid_input_exits():
        plan = environment_plan(inv, env)
    if as_json:
        print_json(plan_as_dict(plan))
        return
    out.print(
        f"[bold]{plan.environment}[/]: supernet {plan.supernet}; regions "
        + ", ".join(f"{k} {v}" for k, v in plan.regions.items())
    )
    out.print(
        f"management {plan.management} (operations center {plan.ops_address.ip}); "
        f"service prefix {plan.service_prefix} (service address {plan.service_address})"
    )
    core = Table(title="core")
    for col in ("link", "A", "B"):
        core.add_column(col)
    for link in plan.core_links:
        core.add_row(link.name, f"{link.a_node} {link.a}", f"{link.b_node} {link.b}")
    for dc, lan in plan.dc_lans.items():
        core.add_row(f"{dc} LAN", str(lan), f"gateway {plan.dc_gateways[dc].ip}")
    out.print(core)
    table = Table(title="towns")
    for col in (
        "town",
        "block",
        "LAN",
        "マイナンバー (devices)",
        "LGWAN (devices)",
        "internet (devices)",
        "primary circuit",
        "backup circuit",
        "loopback",
        "management",
    ):
        table.add_column(col)
    names = {t.id: t.name for t in inv.towns}
    for tid, t in plan.towns.items():
        table.add_row(
            f"{names[tid]} {tid}",
            str(t.block),
            str(t.lan),
            *(f"{t.segments[layer].network} ({t.segments[layer].devices})" for layer in LAYERS),
            str(t.primary.network),
            str(t.backup.network),
            str(t.loopback),
            str(t.management),
        )
    out.print(table)


@app.command()
def flows(env: EnvOption = "lab", towns: TownsOption = None, as_json: JsonOption = False) -> None:
    """The flows the 三層分離 policy allows (segmentation.yaml), made concrete on the environment's
    address plan: source, destination, protocol and port, each with its flow. Everything else is
    denied; the network filters and the isolation check are made from exactly this list."""
    inv = inventory_or_exit()
    with invalid_input_exits():
        selected = [inv.town(t).id for t in towns] if towns else None
        plan = environment_plan(inv, env)
    found = concrete_flows(inv.segmentation, plan, inv.datacenters, selected)
    if as_json:
        print_json(
            [
                {
                    "flow": f.flow,
                    "source": str(f.source),
                    "destination": str(f.destination),
                    "protocol": f.protocol,
                    "port": f.port,
                    "town": f.town,
                    "site": f.site,
                }
                for f in found
            ]
        )
        return
    names = {f.id: f.name for f in inv.segmentation.flows}
    table = Table(title=f"allowed flows in {env} (default: deny)")
    for column in ("flow", "town / site", "source", "destination", "service"):
        table.add_column(column)
    for f in found:
        table.add_row(
            f"{f.flow}\n{names[f.flow]}",
            f.town or f.site or "",
            str(f.source),
            str(f.destination),
            f.label,
        )
    out.print(table)
    out.print(f"{len(found)} allowed flows; anything else is denied")


@app.command()
def ansible(
    env: EnvOption = "lab",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write the Ansible YAML inventory of an environment: groups per role, per town and per site."""
    inv = inventory_or_exit()
    with invalid_input_exits():
        binding = bind_environment(inv, env)
    text = yaml.safe_dump(ansible_inventory(inv, binding), allow_unicode=True, sort_keys=False)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output} ({len(binding.hosts)} hosts, environment {env})")
