"""The demo's own logic: how a failing command's result becomes the stage and the nodes named, and the
failover figures read from the drills' results (the chain itself runs in tests/lab/test_whole_demo.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from municloud.demo import Demo, DemoFailed, DemoTarget, drill_figures


class CannedDemo(Demo):
    """A demo whose commands answer from a table instead of running: only the stages' reading of them."""

    def __init__(self, tmp_path: Path, answers: dict[str, tuple[int, object]]) -> None:
        target = DemoTarget(lab=None, topology=None, towns=["ina"], binding_path=tmp_path / "b", state_dir=tmp_path)  # type: ignore[arg-type]
        super().__init__(target, "small", tmp_path, announce=lambda _: None)
        self.answers = answers
        tmp_path.mkdir(exist_ok=True)

    def cli(self, stage: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        code, data = self.answers[" ".join(args[:2])]
        return subprocess.CompletedProcess(args, code, json.dumps(data) if data is not None else "")


def test_a_failed_deploy_names_its_stage_and_failing_hosts(tmp_path: Path) -> None:
    stages = [
        {"stage": "network", "ok": True, "seconds": 3.0, "summary": "3 routers", "failing": []},
        {
            "stage": "provisioning",
            "ok": False,
            "seconds": 9.0,
            "summary": "2 hosts failed",
            "failing": ["ina-srv1", "dc2-db"],
        },
    ]
    demo = CannedDemo(tmp_path, {"nodes setup": (0, None), "deploy --yes": (1, {"ok": False, "stages": stages})})
    with pytest.raises(DemoFailed) as failed:
        demo.stage_deploy()
    assert failed.value.stage == "deploy/provisioning"
    assert failed.value.failing == ["ina-srv1", "dc2-db"]
    assert "ina-srv1" in str(failed.value)


def test_a_deploy_that_printed_nothing_still_names_the_stage(tmp_path: Path) -> None:
    demo = CannedDemo(tmp_path, {"nodes setup": (0, None), "deploy --yes": (2, None)})
    with pytest.raises(DemoFailed, match="exited 2") as failed:
        demo.stage_deploy()
    assert failed.value.stage == "deploy"


def test_execution_nodes_that_cannot_be_set_up_stop_the_demo_before_its_deploy(tmp_path: Path) -> None:
    demo = CannedDemo(tmp_path, {"nodes setup": (1, None)})  # no deploy answer: it must not be asked
    with pytest.raises(DemoFailed, match="nodes setup") as failed:
        demo.stage_deploy()
    assert failed.value.stage == "deploy/nodes"


def test_a_failed_drill_names_the_towns_that_did_not_recover(tmp_path: Path) -> None:
    record = {
        "journal": str(tmp_path / "j.json"),
        "verdict": "failed",
        "observations": ["ina never came back"],
        "outages": [{"town": "ina", "recovered": False}, {"town": "ogano", "recovered": True}],
    }
    demo = CannedDemo(tmp_path, {"drill run": (1, record)})
    with pytest.raises(DemoFailed) as failed:
        demo.stage_drills()
    assert failed.value.stage == "drills/wan-primary-circuit-loss"
    assert failed.value.failing == ["ina"]
    assert "ina never came back" in failed.value.detail


def test_failover_figures_come_from_the_drills_results() -> None:
    figures = drill_figures(
        {
            "wan-primary-circuit-loss": {"outage_ms_by_town": {"ina": 400.0, "ogano": 600.0}, "outage_ms_p95": 590.0},
            "dc-site-loss": {
                "outage_ms_by_town": {"ina": 2100.0, "ogano": None},
                "rpo": {"writes_refused_ms": 18500.0, "writes_lost": 0, "writes_acked": 812},
            },
        }
    )
    measured = {f["figure"]: f["measured"] for f in figures}
    assert measured["every town's primary circuit cut: recovery"].startswith("median 500 ms, p95 590 ms")
    assert measured["DC1 lost: reads served from DC2 (worst town)"] == "2.1 s"
    assert measured["DC1 lost: writes accepted again"] == "18.5 s"
    assert measured["DC1 lost: committed writes lost"] == "0 of 812"
    assert "carrier edge PE1 lost: every town on its backup" not in measured  # not run: not invented


def test_the_sla_summary_files_are_picked_from_the_report_set(tmp_path: Path) -> None:
    from municloud.demo import sla_summary_files

    folder = tmp_path / "2026-11-27T1200-1230"
    names = ["sla-2026-11-27T1200-1230.html", "sla-2026-11-27T1200-1230.pdf", "sla-2026-11-27T1200-1230.json"]
    names += ["sla-2026-11-27T1200-1230-ina.html", "sla-2026-11-27T1200-1230.csv"]
    files = sla_summary_files({"folder": str(folder), "files": [str(folder / n) for n in names]})
    assert files == {
        "html": str(folder / names[0]),
        "pdf": str(folder / names[1]),
        "json": str(folder / names[2]),
        "csv": str(folder / "sla-2026-11-27T1200-1230.csv"),
        "folder": str(folder),
    }


def test_the_handover_stage_lists_the_handover_report_and_sums_it_up(tmp_path: Path) -> None:
    folder = tmp_path / "demo" / "reports" / "handover" / "FY2026"
    files = {kind: str(folder / f"handover-FY2026.{kind}") for kind in ("html", "pdf", "json")}
    package = str(tmp_path / "lab-packages" / "2026" / "ina-FY2026.tar.gz.age")
    answers = {
        "handover export": (0, {"towns": [{"town": "ina", "files": {"a.csv": {"records": 1200}}}]}),
        "handover package": (0, {"packages": [{"town": "ina", "path": package}]}),
        "handover deliver": (
            0,
            {
                "towns": [{"town": "ina", "ok": True}],
                "report": {"summary": {"bytes_delivered": 5242880}, "files": files},
            },
        ),
        "handover verify": (0, {"records": 1200}),
    }
    asked: list[tuple[str, ...]] = []

    class Recorded(CannedDemo):
        def cli(self, stage: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
            asked.append(args)
            return super().cli(stage, *args, timeout=timeout)

    demo = Recorded(tmp_path / "demo", answers)
    summary = demo.stage_handover()
    deliver = next(a for a in asked if a[:2] == ("handover", "deliver"))
    assert deliver[deliver.index("--out") + 1] == str(tmp_path / "demo" / "reports" / "handover")
    assert demo.result.reports[-1].what == "年度末データ納品報告書 fiscal-year hand-over report"
    assert demo.result.reports[-1].files == files
    assert "delivered to 1 towns' servers (5,242,880 bytes)" in summary
    assert summary.endswith(f"the report: {files['pdf']}")
