"""An environment's PKI made whole from the inventory and its binding: which addresses the
service's certificate must name, and everything issued that the service and its clients need
(provisioning calls it before it installs the certificates; `municloud pki issue` too)."""

from __future__ import annotations

from ipaddress import IPv4Address

from inventory.address_plan import AddressPlan
from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory

from .authority import DEFAULT_DAYS, Authority

BACKUP_TLS_ROLES = ("db", "backup")


def service_addresses(
    inventory: Inventory, plan: AddressPlan, binding: EnvironmentBinding | None = None
) -> list[IPv4Address]:
    """Every address the service answers on: the service address (the towns), each app server's
    data address (the other data center) and, where the binding knows them, its management
    address (the operations center's drills read heartbeat ids there)."""
    apps = [plan.dc_hosts[name].ip for dc in inventory.datacenters for name in dc.server_names("app")]
    mgmt = [h.mgmt_address for h in binding.servers() if h.role == "app"] if binding is not None else []
    return list(dict.fromkeys([plan.service_address, *apps, *mgmt]))


def ensure_environment(
    inventory: Inventory, binding: EnvironmentBinding, days: int = DEFAULT_DAYS
) -> tuple[Authority, list[str]]:
    """The environment's CA and the certificates of its towns, its service and its operations
    center, issued where missing or unusable (`Authority.ensure_issued`); the subjects issued."""
    authority = Authority(binding.name)
    towns = {t: inventory.town(t).name for t in binding.towns}
    issued = authority.ensure_issued(towns, service_addresses(inventory, binding.plan, binding), days)
    return authority, issued + authority.ensure_hosts(backup_tls_hosts(binding), days)


def backup_tls_hosts(binding: EnvironmentBinding) -> dict[str, list[IPv4Address]]:
    """The servers that speak pgBackRest's TLS (the database and the backup servers) and the
    addresses each answers on: its data address (the peers) and its management address."""
    return {
        h.name: [a for a in (h.data_address.ip if h.data_address else None, h.mgmt_address) if a is not None]
        for h in binding.servers()
        if h.role in BACKUP_TLS_ROLES
    }


def watched_hosts(inventory: Inventory, authority: Authority) -> list[str]:
    """The servers whose certificates `pki status` and the exporter watch: every database and backup
    server of the inventory once provisioning has issued any of theirs (a missing one is a problem
    then), none before (nothing issued yet is nothing to watch)."""
    names = [name for dc in inventory.datacenters for name, _role in dc.servers(BACKUP_TLS_ROLES)]
    return names if any(authority.host_path(name).exists() for name in names) else []
