"""The Ansible inventory (YAML) of an environment: groups per role, per town and per site, host
variables from the inventory. The playbooks read nothing else about the world."""

from __future__ import annotations

from typing import Any

from inventory.address_plan import operations_servers
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory


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
    }
    groups.setdefault("windows_clients", {"hosts": {}})  # production PCs over WinRM; none in the lab
    if binding.key_file is not None:
        all_vars["ansible_ssh_private_key_file"] = str(binding.key_file)
    return {"all": {"vars": all_vars, "children": groups}}
