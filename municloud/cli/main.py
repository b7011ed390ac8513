"""`municloud`: the operator's command line and the composition root of the suite."""

from __future__ import annotations

import typer

from .. import __version__
from .lazy import Lazy, LazyGroup

# Every subcommand, in the order `--help` lists them: where it is defined, imported only when it runs,
# and the help the list shows (the first paragraph of the command's own help: a unit test holds
# them equal).
SUBCOMMANDS = {
    "provision": Lazy(
        "municloud.cli.provision_cmd",
        "provision",
        "Provision the environment's servers with the playbooks (ansible-runner).",
    ),
    "verify": Lazy(
        "municloud.cli.provision_cmd", "verify", "Prove the servers are as the inventory says (testinfra over SSH)."
    ),
    "deploy": Lazy(
        "municloud.cli.deploy_cmd",
        "deploy_command",
        "Deploy towns end to end: network (plan and apply on the shared routers and the towns' CE routers), "
        "provisioning (both data centers and the towns' servers), verification, isolation (what every segment "
        "of the towns reaches, against segmentation.yaml; its report written).",
    ),
    "status": Lazy(
        "municloud.cli.deploy_cmd",
        "status",
        "Every town: its cut-over wave and state (as the inventory says) and its last deploy here.",
    ),
    "demo": Lazy(
        "municloud.cli.demo_cmd",
        "demo",
        "Run the main job on the lab, end to end: lab up, deploy (network, provisioning, verification), "
        "monitoring, the BCP drills (every town's primary circuit, carrier edge PE1, data center DC1 with its "
        "fail-back) while the probes run, then the reports of the demo's period: SLA (every town and system, the "
        "drills in it), the drills' and the annual drill report, network compliance, cost allocation.",
    ),
    "inventory": Lazy(
        "municloud.cli.inventory_cmd",
        "app",
        "Check the inventory, show it, and derive the address plan and the Ansible inventory from it.",
    ),
    "lab": Lazy(
        "municloud.cli.lab_cmd",
        "app",
        "The lab: the shared cloud on this machine. Routers are FRR in network namespaces (SSH as netops lands in "
        "vtysh), servers are LXC containers, the carrier WAN is veth links. Needs root. Everything it starts, "
        "`lab down` stops.",
    ),
    "monitor": Lazy(
        "municloud.cli.monitor_cmd",
        "app",
        "The monitoring of an environment: a real Prometheus (Debian's package) run as a process of ours in the "
        "operations center, scraping the towns' probe exporters, every server's node exporter and the WAN "
        "exporter; its configuration and rules generated from the inventory and checked by promtool; its data "
        "under the state directory. Processes are stopped by their recorded pid; `lab down` stops them too.",
    ),
    "alerts": Lazy(
        "municloud.cli.alerts_cmd",
        "app",
        "The alerts' side of the monitoring: Alertmanager (started by `monitor up`) mails each alert in Japanese "
        "to the people contacts.yaml names for it (a town's circuit: the carrier and the town; a lost data center: "
        "the vendor, the secretariat and every town, once), and keeps quiet during the contract's maintenance "
        "windows, the network's change windows and the BCP drills. `inbox` shows the messages a lab's mail server "
        "kept; `silences` what is silenced and why.",
    ),
    "sla": Lazy(
        "municloud.cli.sla_cmd",
        "app",
        "The SLA reports (稼働率報告): per town and business system, availability in the contract's service "
        "hours, downtime, data gaps, incidents and credits, from the Prometheus that `monitor up` runs.",
    ),
    "net": Lazy(
        "municloud.cli.net_cmd",
        "app",
        "Network changes on the WAN's routers, never by hand: render the intended config from the inventory, "
        "plan (diff against the running config), apply with a canary, post-checks and automatic rollback, "
        "backups in git, compliance, and an audit log of every change.",
    ),
    "stack": Lazy(
        "municloud.cli.stack_cmd",
        "app",
        "Run the Pulumi stacks of production (prod-dc, prod-wan, prod-<town>) through the Automation API: dc, "
        "then wan, then the towns in parallel. Needs the `pulumi` CLI on PATH, a state backend "
        "(PULUMI_BACKEND_URL or --backend) and the secrets passphrase (PULUMI_CONFIG_PASSPHRASE[_FILE]).",
    ),
    "cost": Lazy(
        "municloud.cli.cost_cmd",
        "app",
        "Share the joint cost among the towns in the four agreed steps, and make the monthly invoice.",
    ),
    "db": Lazy(
        "municloud.cli.provision_cmd",
        "db_app",
        "The business database across the two data centers: which holds the primary, the failover to DC2 and "
        "the fail-back to DC1 (dc_failover.yml, dc_failback.yml).",
    ),
    "handover": Lazy(
        "municloud.cli.handover_cmd",
        "app",
        "The fiscal-year data hand-over (年度末データ納品): every town's records in the intermediate standard "
        "layout (中間標準レイアウト; the layouts are data in handover/layouts/), one consistent snapshot per town.",
    ),
    "pki": Lazy(
        "municloud.cli.pki_cmd",
        "app",
        "The environment's certificate authority and the certificates it issues: one client certificate per "
        "town (its tenant identity on the shared service, mutual TLS) and the service's own. Keys stay under the "
        "state directory (mode 0600), never in the repository.",
    ),
    "scale": Lazy(
        "municloud.cli.scale_cmd",
        "app",
        "Run the towns past one operations machine: which execution node (ansible-runner's job protocol) and "
        "which regional Prometheus serve which regions (regions.yaml), with the load each node takes.",
    ),
    "nodes": Lazy(
        "municloud.cli.nodes_cmd",
        "app",
        "The execution nodes that run the environment's playbooks (exec-1 ...: execution_nodes in "
        "inventory/environments/), each an `ansible-runner worker` in a venv of this machine's versions: `setup` "
        "makes them ready, `status` asks them.",
    ),
    "drill": Lazy(
        "municloud.cli.drill_cmd",
        "app",
        "BCP drills (BCP訓練): scripted failovers with measured RTO and RPO, guaranteed fail-back, and the drill "
        "reports.",
    ),
}


class MunicloudGroup(LazyGroup):
    lazy = SUBCOMMANDS


app = typer.Typer(
    name="municloud",
    cls=MunicloudGroup,
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
