"""Regional Prometheus servers and the global one (monitoring/federation.py): each regional server
scrapes exactly its towns and records their minutes on the minute, the global one federates what
the SLA report and the cloud's alerts need, every alert is raised by exactly one of them, and
promtool accepts every file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inventory.check import load_inventory
from inventory.environment import bind_environment
from monitoring.federation import FEDERATE_JOB, RegionalServer, write_global_config, write_regional_config
from monitoring.prometheus_config import promtool_check, write_config
from monitoring.rules import PROBE_JOB, evaluation_offset, minute_group_name

SERVERS = (RegionalServer("prom-1", ("ina", "ogose")), RegionalServer("prom-2", ("namegawa", "yorii")))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    inventory = load_inventory()
    binding = bind_environment(inventory, "lab", Path("/nonexistent"))
    root = tmp_path_factory.mktemp("federation")
    am = "127.0.0.1:9093"
    regional = {s.id: write_regional_config(inventory, binding, s, root / s.id, am) for s in SERVERS}
    addresses = {s.id: f"127.0.0.1:{9095 + i}" for i, s in enumerate(SERVERS)}
    global_ = write_global_config(inventory, binding, addresses, root / "global", "127.0.0.1:9470", am)
    single = write_config(inventory, binding, root / "single", "127.0.0.1:9470", am)
    return {"inventory": inventory, "binding": binding, "regional": regional, "global": global_, "single": single}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _targets(config: dict, job: str) -> list[dict]:
    return [sc for j in config["scrape_configs"] if j["job_name"] == job for sc in j["static_configs"]]


def test_promtool_accepts_every_file(written) -> None:
    for files in [*written["regional"].values(), written["global"]]:
        ok, output = promtool_check(files)
        assert ok, output


def test_each_regional_server_scrapes_exactly_its_towns(written) -> None:
    for server in SERVERS:
        config = _load(written["regional"][server.id].config)
        assert {t["labels"]["town"] for t in _targets(config, PROBE_JOB)} == set(server.towns)
        assert {t["labels"]["site"] for t in _targets(config, "node")} == set(server.towns)
        assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def test_the_global_server_federates_the_minutes_and_scrapes_what_is_no_towns(written) -> None:
    config = _load(written["global"].config)
    towns = set(written["binding"].towns)
    assert not _targets(config, PROBE_JOB)
    assert {t["labels"]["site"] for t in _targets(config, "node")}.isdisjoint(towns)
    federate = next(j for j in config["scrape_configs"] if j["job_name"] == FEDERATE_JOB)
    assert federate["honor_labels"] is True and federate["metrics_path"] == "/federate"
    assert any("municloud:sla_minute" in m for m in federate["params"]["match[]"])
    assert sorted(t["labels"]["regional"] for t in federate["static_configs"]) == ["prom-1", "prom-2"]


def test_every_target_of_a_single_server_is_scraped_by_exactly_one_of_them(written) -> None:
    served = {town for s in SERVERS for town in s.towns}
    configs = [_load(written["global"].config), *(_load(f.config) for f in written["regional"].values())]
    split = [str(t) for c in configs for job in ("node", PROBE_JOB) for t in _targets(c, job)]
    single = _load(written["single"].config)
    towns = set(written["binding"].towns)

    def owner(target: dict) -> str:  # a probe's town, a server's site (a town, a data center)
        return target["labels"].get("town") or target["labels"]["site"]

    expected = [
        str(t)
        for job in ("node", PROBE_JOB)
        for t in _targets(single, job)
        if owner(t) in served or owner(t) not in towns
    ]
    assert sorted(split) == sorted(expected)


def test_every_alert_is_raised_by_exactly_one_server(written) -> None:
    def names(files) -> list[tuple[str, str]]:
        rules = [r for g in _load(files.alerting)["groups"] for r in g["rules"]]
        return [(r["alert"], r["labels"].get("town", "")) for r in rules]

    regional = [n for f in written["regional"].values() for n in names(f)]
    global_ = names(written["global"])
    assert not set(regional) & set(global_)
    single = names(written["single"])
    served = {x for s in SERVERS for x in s.towns}
    expected = [n for n in single if not n[1] or n[1] in served]
    # per-town rules exist once per regional server that serves the town; town-less ones once per server
    assert {n for n in regional + global_} == set(expected)


def test_each_regional_servers_minutes_lie_on_the_minute(written) -> None:
    for files in written["regional"].values():
        group = _load(files.recording)["groups"][0]["name"]
        assert group == minute_group_name(str(files.recording))
        assert evaluation_offset(str(files.recording), group) < 0.25
