"""The verification suites' wiring: hosts from the verification plan ($MUNICLOUD_VERIFY_PLAN),
reached over SSH by testinfra with the plan's ssh_config. Every test takes `server` (one host of
the role it names), so test ids read `test_<check>[<host>]`."""

from __future__ import annotations

import json
import os
import shlex
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
        # One xdist group per host (`--dist loadgroup`): a host's checks run in one worker, which
        # probes the host's tools (service manager, ss) once and reuses its testinfra backend,
        # instead of every worker doing so for every host.
        params = [pytest.param(h, id=h["name"], marks=pytest.mark.xdist_group(h["name"])) for h in hosts_of(*roles)]
        metafunc.parametrize("server", params, indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "roles(*roles): run the test on the hosts of these roles")


class Server:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.name = spec["name"]
        self.host = testinfra.get_host(f"ssh://{self.name}", ssh_config=plan()["ssh_config"])

    def http_get_many(
        self, urls: list[str], timeout: float = 5, parallel: int = 4, tls: list[str] | None = None
    ) -> list[tuple[int, str]]:
        """Several GETs from the host in one python3 run, a few at a time (one interpreter start
        and one SSH round trip for all of them; each still has its own timeout). In `urls` order.
        `tls`: the CA and the key-and-certificate file on the host (HTTPS with that identity)."""
        script = (
            "import json,ssl,sys,urllib.request,urllib.error\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "c=None\n"
            "if len(sys.argv)>2:\n"
            " c=ssl.create_default_context(cafile=sys.argv[2]); c.load_cert_chain(sys.argv[3])\n"
            "def get(u):\n"
            " try:\n"
            f"  r=urllib.request.urlopen(u,timeout={timeout},context=c); return [r.status, r.read().decode()]\n"
            " except urllib.error.HTTPError as e: return [e.code, e.read().decode()]\n"
            " except Exception as e: return [0, str(e)]\n"
            f"with ThreadPoolExecutor({parallel}) as pool:\n"
            " print(json.dumps(list(pool.map(get, json.loads(sys.argv[1])))))\n"
        )
        args = [json.dumps(urls), *(tls or [])]
        answers = json.loads(self.host.check_output("python3 -c %s" + " %s" * len(args), script, *args))
        return [(int(status), body) for status, body in answers]

    def reachable(self, addresses: list[str]) -> set[str]:
        """The addresses that answer one ping from the host (1 s each), all pinged at once."""
        pings = " ".join(
            f"(ping -n -q -c 1 -W 1 {shlex.quote(a)} >/dev/null 2>&1 && echo {shlex.quote(a)}) &" for a in addresses
        )
        return set(self.host.check_output(f"{pings} wait").split())

    def sql(self, query: str, database: str = "postgres") -> str:
        return self.host.check_output("cd / && runuser -u postgres -- psql -XtA -d %s -c %s", database, query).strip()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Server:
    return Server(request.param)


@pytest.fixture
def verify_plan() -> dict[str, Any]:
    return plan()
