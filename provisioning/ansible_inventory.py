"""The Ansible inventory (YAML) of an environment: groups per role, per town and per site, host
variables from the inventory. The playbooks read nothing else about the world."""

from __future__ import annotations

from typing import Any

from inventory.address_plan import operations_servers
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sites import WEEKDAYS
from toolkit.schedule import ZONE

# pgBackRest's name for the business database's cluster in every repository.
BACKUP_STANZA = "main"
# The group of the environment's execution nodes (playbooks/execution_nodes.yml); present, empty, when
# it has none.
EXECUTION_NODES_GROUP = "execution_nodes"


def _group(name: str) -> str:
    return name.replace("-", "_")  # Ansible group names must be valid identifiers


def ansible_inventory(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, Any]:
    plan = binding.plan
    groups: dict[str, dict[str, Any]] = {}

    def add(group: str, host: str) -> None:
        groups.setdefault(_group(group), {"hosts": {}})["hosts"][host] = {}

    hostvars: dict[str, dict[str, Any]] = {}
    for h in binding.hosts:
        v: dict[str, Any] = {
            "ansible_host": str(h.mgmt_address),
            "ansible_user": h.ssh_user,
            "municloud_role": h.role,
            "municloud_site": h.site,
        }
        if h.data_address is not None:
            v["data_address"] = str(h.data_address.ip)
            v["data_prefix"] = str(h.data_address.network)
        if h.kind == "router":
            v["ansible_network_os"] = h.platform
            add("routers", h.name)
            add(f"routers_{h.role}", h.name)
        else:
            add("servers", h.name)
            add(f"role_{h.role}", h.name)
        if h.town is not None:
            town = inventory.town(h.town)
            add(f"town_{h.town}", h.name)
            add("town_servers" if h.kind == "server" else "town_routers", h.name)
            v.update(town=town.id, town_name=town.name, town_romaji=town.romaji)
            if h.kind == "server":
                v["gateway"] = str(plan.towns[town.id].lan_gateway.ip)
            if h.role == "probe":
                v["probe_systems"] = [
                    {"id": s.id, "number": s.number, "name": s.name, "tier": s.tier}
                    for s in inventory.subscribed_systems(town)
                ]
        elif h.site != "carrier":
            add(f"site_{h.site}", h.name)
            if h.kind == "server":
                v["gateway"] = str(plan.dc_gateways[h.site].ip)
                v["dc_role"] = next(dc.role for dc in inventory.datacenters if dc.id == h.site)
            if h.role == "backup":
                v.update(repository_vars(inventory, h.site))
            if h.role == "db":  # a standby fetches WAL from its own site's repository (restore_command)
                v["pgbackrest_local_repo"] = repository_number(inventory, h.site)
        hostvars[h.name] = v

    for name, values in hostvars.items():
        for group in groups.values():
            if name in group["hosts"]:
                group["hosts"][name] = values  # the same dict: YAML writes it once per host
                break

    tenants = {
        t.id: {
            "name": t.name,
            "subscriptions": list(t.subscriptions),
            "parameters": inventory.tenant_parameters(t),
            "cutover_status": t.cutover.status,
        }
        for t in inventory.towns
        if t.id in binding.towns
    }
    all_vars = {
        "municloud_environment": binding.name,
        "service_address": str(plan.service_address),
        "service_prefix": str(plan.service_prefix),
        # The designed primary; provisioning overrides it with the recorded one after a failover.
        "db_primary_site": inventory.primary_dc.id,
        # The DCs' time (and syslog) servers: the first app server of each DC, as the routers use.
        "time_servers": [str(address) for address in operations_servers(plan, inventory.datacenters)],
        "business_systems": [{"id": s.id, "tier": s.tier} for s in inventory.systems],
        "replication_mode": inventory.datacenters_file.replication.mode,
        "replication_slot": inventory.datacenters_file.replication.slot_name,
        "tenants": tenants,
        **backup_vars(inventory, binding),
    }
    groups.setdefault("windows_clients", {"hosts": {}})  # production PCs over WinRM; none in the lab
    groups[EXECUTION_NODES_GROUP] = {"hosts": execution_node_hosts(binding)}
    if binding.key_file is not None:
        all_vars["ansible_ssh_private_key_file"] = str(binding.key_file)
    return {"all": {"vars": all_vars, "children": groups}}


def execution_node_hosts(binding: EnvironmentBinding) -> dict[str, dict[str, Any]]:
    """The execution nodes as the group `execution_nodes` holds them (execution_nodes.yml's hosts):
    in no other group, so no other play's pattern (servers, role_*, town_*, site_*) reaches them."""
    return {
        node.name: {
            "ansible_host": str(node.mgmt_address),
            "ansible_user": node.ssh_user,
            "municloud_role": node.role,
            "municloud_site": node.site,
        }
        for node in binding.execution_nodes
    }


def repository_number(inventory: Inventory, site: str) -> int:
    """pgBackRest's index of a site's repository: the sites in the inventory's order, from 1 (the
    same on every host, so that `--repo=N` means one repository wherever it is given)."""
    return 1 + [dc.id for dc in inventory.datacenters].index(site)


def backup_vars(inventory: Inventory, binding: EnvironmentBinding) -> dict[str, Any]:
    """What every host of the backups needs: the repositories (site by site) and the database
    servers they back up, with the addresses they speak TLS on; the retention and WAL timeout."""
    policy = inventory.datacenters_file.database_backup
    servers = binding.servers()

    def on(role: str) -> list[dict[str, Any]]:
        return [
            {"host": h.name, "site": h.site, "address": str(h.data_address.ip)}
            for h in servers
            if h.role == role and h.data_address is not None
        ]

    repos = [{**r, "index": repository_number(inventory, r["site"])} for r in on("backup")]
    return {
        "pgbackrest_stanza": BACKUP_STANZA,
        "pgbackrest_repos": repos,
        "pgbackrest_db_hosts": on("db"),
        "pgbackrest_retention_full": policy.retention_full,
        "pgbackrest_archive_timeout_s": policy.archive_timeout_s,
    }


def repository_vars(inventory: Inventory, site: str) -> dict[str, Any]:
    """A backup server's own: its repository's index and when its backups run (systemd OnCalendar,
    in Japan's time; each later site starts `stagger_minutes` after the one before)."""
    policy = inventory.datacenters_file.database_backup
    number = repository_number(inventory, site)
    hours, minutes = (int(x) for x in policy.at.split(":"))
    # A start pushed past midnight moves to the next day's weekday.
    shift, start = divmod(hours * 60 + minutes + (number - 1) * policy.stagger_minutes, 24 * 60)
    at = f"{start // 60:02d}:{start % 60:02d}:00"

    def days(names: list[str]) -> str:
        return ",".join(WEEKDAYS[(WEEKDAYS.index(d) + shift) % 7] for d in names)  # type: ignore[arg-type]

    return {
        "pgbackrest_repo": number,
        "pgbackrest_full_calendar": f"{days([policy.full_weekday])} *-*-* {at} {ZONE}",
        "pgbackrest_diff_calendar": f"{days(policy.differential_weekdays())} *-*-* {at} {ZONE}",
    }
