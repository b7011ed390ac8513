"""The verification suites' wiring: hosts from the verification plan ($MUNICLOUD_VERIFY_PLAN),
reached over SSH by testinfra with the plan's ssh_config. Every test takes `server` (one host of
the role it names), so test ids read `test_<check>[<host>]`."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import pytest
import testinfra


@cache
def plan() -> dict[str, Any]:
    return json.loads(open(os.environ["MUNICLOUD_VERIFY_PLAN"], encoding="utf-8").read())


def hosts_of(*roles: str) -> list[dict[str, Any]]:
    return [h for h in plan()["hosts"] if not roles or h["role"] in roles]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("roles")
        roles = marker.args if marker else ()
        specs = hosts_of(*roles)
        metafunc.parametrize("server", specs, ids=[h["name"] for h in specs], indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "roles(*roles): run the test on the hosts of these roles")


class Server:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.name = spec["name"]
        self.host = testinfra.get_host(f"ssh://{self.name}", ssh_config=plan()["ssh_config"])

    def http_get(self, url: str, timeout: float = 5) -> tuple[int, str]:
        """An HTTP GET made on the host itself (Debian's python3), so it crosses the network as the
        host's own traffic does. Status 0: no answer."""
        script = (
            "import sys,urllib.request,urllib.error\n"
            "try:\n"
            f" r=urllib.request.urlopen({url!r},timeout={timeout}); print(r.status); print(r.read().decode())\n"
            "except urllib.error.HTTPError as e: print(e.code); print(e.read().decode())\n"
            "except Exception as e: print(0); print(e)\n"
        )
        out = self.host.check_output("python3 -c %s", script)
        status, _, body = out.partition("\n")
        return int(status), body

    def sql(self, query: str, database: str = "postgres") -> str:
        return self.host.check_output("cd / && runuser -u postgres -- psql -XtA -d %s -c %s", database, query).strip()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Server:
    return Server(request.param)


@pytest.fixture
def verify_plan() -> dict[str, Any]:
    return plan()
