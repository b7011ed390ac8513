"""The execution plan of an environment (`municloud scale plan`): each town's load derived from the
environment binding and the monitoring configuration the suite generates, then packed onto execution
nodes and regional Prometheus by provisioning/sharding.py.

Per town: its hosts and routers are the binding's; what its Prometheus holds is counted from the
scrape configuration `monitor config` writes (monitoring/prometheus_config.py: a probe exporter per
town, a node exporter per server), the probe exporter's own code (monitoring/probe_exporter.py, run
one round per data center so every series it can have exists), the WAN exporter's series per router
and circuit, and the recording rules (monitoring/rules.py: each one a series per subscribed system).
"""

from __future__ import annotations

from collections import Counter
from functools import cache

from prometheus_client import CollectorRegistry

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.towns import Circuits
from monitoring.federation import RegionalServer
from monitoring.probe_exporter import ProbeConfig, Prober
from monitoring.prometheus_config import SCRAPE_INTERVAL, scrape_config
from monitoring.rules import PROBE_JOB, recording_rules, seconds
from provisioning import dispatch
from provisioning.runner import Events, PlaybookResult, prepare_job, run_playbook
from provisioning.sharding import Capacity, Load, Plan, TownLoad, plan_shards

# Series of one server's node exporter: Debian bookworm's prometheus-node-exporter as the playbooks
# install it, measured on the lab (scrape_samples_scraped, 2026-12-07): 812-818 on the towns' servers,
# 823-857 on the data centers' (pgBackRest's textfile metrics); the highest, rounded up.
NODE_EXPORTER_SERIES = 860
NODE_JOB = "node"
# Series Prometheus adds to every target it scrapes: up, scrape_duration_seconds,
# scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added.
SCRAPE_SERIES_PER_TARGET = 5
# The WAN exporter (monitoring/wan_exporter.py): per town router municloud_wan_router_up, and per
# circuit its BGP session, BFD session and active path.
WAN_SERIES_PER_ROUTER = 1
WAN_SERIES_PER_CIRCUIT = 3


def town_loads(inventory: Inventory, binding: EnvironmentBinding) -> list[TownLoad]:
    """The load of each of the environment's towns, in the inventory's order."""
    config = scrape_config(inventory, binding, [], None)
    targets = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    host_town = {h.name: h.town for h in binding.hosts if h.town}
    servers = Counter(h.town for h in binding.servers())
    routers = Counter(h.town for h in binding.routers())
    probes = Counter(t["labels"]["town"] for t in targets[PROBE_JOB])
    nodes = Counter(host_town.get(t["labels"]["host"]) for t in targets[NODE_JOB])
    interval = seconds(SCRAPE_INTERVAL)
    recorded = sla_series_per_system(inventory)
    sites = len(inventory.datacenters)
    wan = WAN_SERIES_PER_ROUTER + WAN_SERIES_PER_CIRCUIT * len(Circuits.model_fields)
    loads = []
    for town_id in binding.towns:
        town = inventory.town(town_id)
        systems = len(town.subscriptions)
        probe = probes[town_id] * probe_exporter_series(systems, sites)
        scraped = probe + nodes[town_id] * NODE_EXPORTER_SERIES + routers[town_id] * wan
        sla = systems * recorded if probes[town_id] else 0
        synthetic = (probes[town_id] + nodes[town_id]) * SCRAPE_SERIES_PER_TARGET
        load = Load(
            towns=1,
            hosts=servers[town_id],
            routers=routers[town_id],
            probe_series=probe,
            sla_series=sla,
            active_series=scraped + synthetic + sla,
            samples_per_s=(scraped + synthetic) / interval,
        )
        loads.append(TownLoad(town_id, town.region, load))
    return loads


def execution_plan(
    inventory: Inventory, binding: EnvironmentBinding, nodes: int | None = None, capacity: Capacity | None = None
) -> Plan:
    return plan_shards(inventory.regions, town_loads(inventory, binding), nodes, capacity)


def sla_series_per_system(inventory: Inventory) -> int:
    """Series the recording rules keep per (town, subscribed system): every rule of them records one
    (`by (town, system, tier)`, or the probe's labels without instance and job)."""
    return sum(len(group["rules"]) for group in recording_rules(inventory)["groups"])


@cache
def probe_exporter_series(systems: int, sites: int) -> int:
    """Series a town's probe exporter serves when it probes `systems` systems and has seen `sites`
    data centers answer: counted from the exporter itself after one round per site."""
    return _exporter_series(1, sites) + (systems - 1) * (_exporter_series(2, sites) - _exporter_series(1, sites))


@cache
def _exporter_series(systems: int, sites: int) -> int:
    registry = CollectorRegistry()
    config = ProbeConfig(
        town="t", target="http://127.0.0.1:9", systems=tuple((f"s{i}", "tier") for i in range(systems))
    )
    prober = Prober(config, registry)
    try:
        for site in range(sites):  # every data center answers once: each has its series
            prober.probe = lambda _system, _context=None, site=site: (True, 0.01, f"dc{site}")  # type: ignore[method-assign]
            prober.round()
    finally:
        prober.pool.shutdown()
    return sum(len(metric.samples) for metric in registry.collect())


def environment_plan(inventory: Inventory, binding: EnvironmentBinding) -> Plan:
    """The plan the environment runs by: over its execution nodes (environments/<env>.yaml
    `execution_nodes`), or, when it has none, over the fewest nodes its load needs."""
    return execution_plan(inventory, binding, nodes=len(binding.execution_nodes) or None)


def town_nodes(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, str]:
    """Town -> the execution node that provisions it."""
    return {town: node.name for town, node in environment_plan(inventory, binding).node_of().items()}


def run_playbook_by_plan(
    inventory: Inventory,
    binding: EnvironmentBinding,
    playbook: str = "site.yml",
    *,
    local: bool = False,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    events: Events | None = None,
) -> PlaybookResult:
    """The playbook where the environment runs it: each town's servers on its execution node, by the
    plan (provisioning/dispatch.py), or everything here when the environment has no nodes or `local`."""
    if local or not binding.execution_nodes:
        return run_playbook(inventory, binding, playbook, limit=limit, check=check, diff=diff, events=events)
    job = prepare_job(inventory, binding, playbook, limit, check, diff)
    return dispatch.run_job(binding, job, town_nodes(inventory, binding), events)


def regional_servers(inventory: Inventory, binding: EnvironmentBinding) -> list[RegionalServer]:
    """The plan's regional Prometheus servers, each with the towns of its node (`monitor up --regional`)."""
    plan = environment_plan(inventory, binding)
    servers = [RegionalServer(n.prometheus, tuple(t for s in n.shards for t in s.towns)) for n in plan.nodes]
    return [s for s in servers if s.towns]
