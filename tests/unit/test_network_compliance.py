"""Network compliance and its report without a lab: the real comparison (`check_compliance`, which
is `net plan`'s), with the routers' running configs handed over by a fake fleet in place of SSH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inventory.check import load_inventory
from inventory.environment import bind_environment
from municloud.cli.main import app
from network import plan as plan_module
from network.compliance import check_compliance
from network.drivers.device import DeviceError
from network.plan import intended_configs
from network.report import render_compliance

TOWNS = ("ina", "ogose", "namegawa")  # ina's router differs, ogose's is unreachable, namegawa's is compliant
SECRET = "s3cret-never-shown"


class _FakeDriver:
    def __init__(self, running: str | Exception) -> None:
        self.running = running

    def __enter__(self) -> _FakeDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def get_running_config(self) -> str:
        if isinstance(self.running, Exception):
            raise self.running
        return self.running


class FakeFleet:
    """What each router's SSH session would answer to `show running-config`."""

    def __init__(self, running: dict[str, str | Exception]) -> None:
        self.running = running

    def driver(self, name: str) -> _FakeDriver:
        return _FakeDriver(self.running[name])


@pytest.fixture(scope="module")
def inventory():
    return load_inventory()


@pytest.fixture
def binding(inventory, tmp_path: Path):
    return bind_environment(inventory, "lab", tmp_path / "no-binding.yaml")


def _running(inventory, binding) -> dict[str, str | Exception]:
    """ina-ce1 with one BFD timer changed by hand and a BGP password nobody asked for; ogose-ce1
    not answering; namegawa-ce1 exactly as intended."""
    names = [inventory.town(t).router.name for t in TOWNS]
    _, rendered, _ = intended_configs(inventory, binding, names)
    ina = rendered["ina-ce1"].replace("transmit-interval 100", "transmit-interval 300")
    assert ina != rendered["ina-ce1"], "the FRR template no longer writes 'transmit-interval 100'"
    neighbor = next(line.split()[1] for line in ina.splitlines() if line.strip().startswith("neighbor "))
    ina = ina.replace(
        f" neighbor {neighbor} remote-as", f" neighbor {neighbor} password {SECRET}\n neighbor {neighbor} remote-as", 1
    )
    return {
        "ina-ce1": ina,
        "ogose-ce1": DeviceError("ogose-ce1: TCP connection to device failed"),
        "namegawa-ce1": rendered["namegawa-ce1"],
    }


def test_each_router_is_compliant_differs_or_unreachable(inventory, binding) -> None:
    names = [inventory.town(t).router.name for t in TOWNS]
    report = check_compliance(inventory, binding, names, fleet=FakeFleet(_running(inventory, binding)))
    by_name = {r.device: r for r in report.routers}
    assert [r.device for r in report.routers] == names
    assert by_name["namegawa-ce1"].status == "compliant" and not by_name["namegawa-ce1"].differs
    ina = by_name["ina-ce1"]
    assert ina.status == "differs" and ina.site_name == "伊奈町"
    assert "    transmit-interval 100" in ina.differs
    assert any(line.endswith("password <masked>") and line.strip().startswith("no neighbor") for line in ina.differs)
    assert SECRET not in json.dumps(report.to_json(), ensure_ascii=False) and SECRET not in ina.diff
    assert by_name["ogose-ce1"].status == "unreachable" and "TCP connection" in (by_name["ogose-ce1"].error or "")
    assert not report.compliant
    counts = report.counts()
    assert counts == {"compliant": 1, "differs": 1, "unreachable": 1, "no template": 0, "routers": 3}


def test_a_platform_without_templates_is_named_not_unreachable(
    inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network import compliance, render

    without_rtx = tuple(p for p in render.PLATFORMS if p != "yamaha_rtx")
    monkeypatch.setattr(render, "PLATFORMS", without_rtx)
    monkeypatch.setattr(compliance, "PLATFORMS", without_rtx)
    prod = bind_environment(inventory, "prod", tmp_path / "no-binding.yaml")
    report = check_compliance(inventory, prod, ["namegawa-ce1"], fleet=FakeFleet({}))
    (router,) = report.routers
    assert router.status == "no template" and "yamaha_rtx" in (router.error or "")


def test_an_rtx_router_is_compared_as_show_config_prints_it(inventory, tmp_path: Path) -> None:
    """Yamaha RTX has a template: its `show config` (the # header, secrets as *) is compliant when it
    carries the intended configuration, and differs by the RTX lines when it does not."""
    prod = bind_environment(inventory, "prod", tmp_path / "no-binding.yaml")
    _, rendered, errors = intended_configs(inventory, prod, ["namegawa-ce1"])
    assert not errors
    shown = (
        "# RTX1220 Rev.14.00.32 (Thu Oct 30 10:34:13 2025)\n# Reporting Date: Dec 4 14:05:13 2026\n\n"
        f"administrator password *\nlogin password *\n{rendered['namegawa-ce1']}"
    )
    drifted = shown.replace(" hold-time=3 local-address=10.64.139.193", " hold-time=180 local-address=10.64.139.193")
    assert drifted != shown
    report = check_compliance(inventory, prod, ["namegawa-ce1"], fleet=FakeFleet({"namegawa-ce1": shown}))
    assert [(r.status, r.platform) for r in report.routers] == [("compliant", "yamaha_rtx")]
    report = check_compliance(inventory, prod, ["namegawa-ce1"], fleet=FakeFleet({"namegawa-ce1": drifted}))
    (router,) = report.routers
    assert router.status == "differs"
    assert router.differs == ("bgp neighbor 1 64600 10.64.139.192 hold-time=3 local-address=10.64.139.193",)


def test_the_report_files_say_what_the_check_found(inventory, binding, tmp_path: Path) -> None:
    names = [inventory.town(t).router.name for t in TOWNS]
    report = check_compliance(inventory, binding, names, fleet=FakeFleet(_running(inventory, binding)))
    paths = render_compliance(report, tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {
        "html": "compliance.html",
        "pdf": "compliance.pdf",
        "json": "compliance.json",
    }
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(report.to_json()))
    assert data["environment"] == "lab" and data["unreachable"] == ["ogose-ce1"]
    assert data["non_compliant"] == ["ina-ce1", "ogose-ce1"]
    assert data["summary"]["differs"] == 1 and data["compliant"] is False
    html = paths["html"].read_text(encoding="utf-8")
    for text in ("ネットワーク構成準拠報告", "伊奈町", "越生町", "滑川町", "ogose-ce1", "transmit-interval 100"):
        assert text in html
    assert SECRET not in html
    assert paths["pdf"].read_bytes().startswith(b"%PDF")


def test_cli_out_writes_the_report_and_keeps_exit_1(
    inventory, binding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeFleet(_running(inventory, binding))
    monkeypatch.setattr(plan_module, "Fleet", lambda _binding: fake)
    monkeypatch.setenv("MUNICLOUD_BINDING", str(tmp_path / "no-binding.yaml"))
    out = tmp_path / "reports"
    args = ["net", "compliance", *(a for t in TOWNS for a in ("--town", t)), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "ogose-ce1" in result.output and "compliance.pdf" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["compliance.html", "compliance.json", "compliance.pdf"]
    with_files = CliRunner().invoke(app, [*args, "--json"])
    assert with_files.exit_code == 1
    data = json.loads(with_files.stdout)  # the report's JSON and the files written
    assert data["non_compliant"] == ["ina-ce1", "ogose-ce1"] and data["unreachable"] == ["ogose-ce1"]
    assert data["files"] == {kind: str(out / f"compliance.{kind}") for kind in ("html", "pdf", "json")}
    rows = json.loads(CliRunner().invoke(app, [*args[:-2], "--json"]).stdout)  # without --out: as before
    assert [(r["device"], r["compliant"]) for r in rows] == [
        ("ina-ce1", False),
        ("ogose-ce1", False),
        ("namegawa-ce1", True),
    ]
    assert SECRET not in with_files.stdout and SECRET not in json.dumps(rows)
