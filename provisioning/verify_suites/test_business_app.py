"""The business-systems service on each DC app server: running, on the DC service address, using
the primary database, serving every tenant with the inventory's parameters."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest
import yaml

pytestmark = pytest.mark.roles("app")


def test_service_runs_on_the_service_address(server, verify_plan) -> None:
    service = server.host.service("municloud-business-app")
    assert service.is_running and service.is_enabled
    port = verify_plan["business_app_port"]
    assert server.host.socket(f"tcp://{verify_plan['service_address']}:{port}").is_listening


def test_it_uses_the_primary_database(server, verify_plan) -> None:
    """Asked from the operations center over the management network, with its certificate."""
    ca, identity = verify_plan["tls"]["operations"]
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(identity)
    url = f"https://{server.spec['mgmt']}:{verify_plan['business_app_port']}/healthz"
    with urllib.request.urlopen(url, timeout=5, context=context) as answer:
        assert answer.status == 200
        assert json.loads(answer.read())["database"] == "primary"


def test_every_tenant_and_its_parameters_are_configured(server, verify_plan) -> None:
    config = yaml.safe_load(server.host.file("/etc/municloud/business_app.yaml").content_string)
    for town, tenant in verify_plan["tenants"].items():
        assert town in config["tenants"], f"{town} is not configured"
        assert config["tenants"][town]["systems"] == tenant["systems"], town
        assert config["tenants"][town]["parameters"] == tenant["parameters"], town
