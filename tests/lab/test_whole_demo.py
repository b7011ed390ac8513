"""The demo's chain end to end on the small profile (`make demo` runs it on the full one): lab, deploy,
monitoring, the three drills while the probes run, every report of the demo's period, and the
fiscal-year hand-over of every town.

It runs on the session's small lab (last of the lab tests, so usually on a lab the other tests have
already routed and provisioned: `lab up` then repairs nothing and `deploy` is the idempotent re-run;
alone, it builds everything from day 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from municloud.demo import DRILLS, Demo, DemoTarget

from .conftest import SMALL_SLOT, SmallLab, municloud_cli

pytestmark = pytest.mark.lab
PORT = 19195 + 10 * SMALL_SLOT  # beside the SLA test's ports of the same slot


def _touched(journal_path: str) -> set[tuple[str, str]]:
    """The (town, system) pairs whose fast probes failed during the drill (an outage measured, or one
    that never ended): what the drill touched."""
    record = json.loads(Path(journal_path).read_text(encoding="utf-8"))["municloud"]
    return {(o["town"], o["system"]) for o in record["outages"] if o["outage_ms"] is not None or not o["recovered"]}


def test_the_demo_chain_runs_end_to_end_on_the_small_profile(small_lab: SmallLab, tmp_path: Path) -> None:
    target = DemoTarget(
        lab=small_lab.lab,
        topology=small_lab.topo,
        towns=small_lab.towns,
        binding_path=small_lab.binding_path,
        state_dir=small_lab.ops_state_dir,
        prometheus_port=PORT,
        wan_port=PORT + 1,
        alertmanager_port=PORT + 2,
        mail_port=PORT + 3,
    )
    announced: list[str] = []
    demo = Demo(target, "small", tmp_path / "demo", announce=announced.append)
    try:
        result = demo.run()
    finally:
        down = municloud_cli("monitor", "down")
        small_lab.lab.heal()  # a failed drill's faults must not reach later tests (drills heal them themselves)
    assert down.returncode == 0, down.stdout + down.stderr

    assert [s.key for s in result.stages] == ["lab", "deploy", "monitor", "drills", "reports", "handover"]
    assert any(line.startswith("[6/6]") for line in announced)
    summary = json.loads((tmp_path / "demo" / "demo-summary.json").read_text(encoding="utf-8"))
    assert summary["failure"] is None and summary["seconds"] > 0

    # every drill ran, passed (perhaps with findings), and left no fault behind
    assert set(result.journals) == set(DRILLS)
    for name, journal in result.journals.items():
        record = json.loads(Path(journal).read_text(encoding="utf-8"))["municloud"]
        assert record["verdict"] != "failed", (name, record["observations"])
    assert small_lab.lab.status().faults == []
    # a drill pages nobody: its towns and systems silenced while it ran, removed afterwards, recorded
    # in its journal; its notice told its people it ran and that it ended; no other message was sent
    for name, journal in result.journals.items():
        silence = json.loads(Path(journal).read_text(encoding="utf-8"))["municloud"]["silence"]
        assert silence["status"] == "silenced" and silence["silences"], (name, silence)
        assert all(s["removed_at"] for s in silence["silences"]), (name, silence)
        assert silence["notice"]["status"] == "sent" and silence["notice"]["ended"], (name, silence)
    mail = result.alert_mail
    assert mail is not None and mail["drill_notices"] > 0 and mail["others"] == [], mail
    figures = {f["figure"]: f["measured"] for f in result.figures}
    assert "DC1 lost: committed writes lost" in figures and figures["DC1 lost: committed writes lost"].startswith(
        "0 of"
    )

    # every report written, in every format the summary names
    kinds = {r.what: r.files for r in result.reports}
    assert {"SLA report (summary)", "network compliance", "cost allocation"} <= set(kinds)
    handover = json.loads(Path(kinds["年度末データ納品報告書 fiscal-year hand-over report"]["json"]).read_text("utf-8"))
    assert handover["summary"]["failed"] == 0 and handover["summary"]["delivered"] == len(target.towns), handover
    assert any(what.startswith("drill-annual") for what in kinds), kinds
    for name in DRILLS:  # one report per drill, each with its own files
        assert [w for w in kinds if w.startswith(f"drill-{name}-")], (name, list(kinds))
    for what, files in kinds.items():
        assert {"html", "json"} <= set(files), (what, files)
        for path in files.values():
            assert Path(path).stat().st_size > 0, (what, path)

    # the SLA report of the demo's period shows the drills, for exactly the towns and systems they touched
    sla = json.loads(Path(kinds["SLA report (summary)"]["json"]).read_text(encoding="utf-8"))
    in_report = {d["scenario"]: {(r["town"], r["system"]) for r in d["touched"]} for d in sla["drills"]}
    for name, journal in result.journals.items():
        assert in_report.get(name) == _touched(journal), name
    assert _touched(result.journals["dc-site-loss"]), "the DC loss touched no town: the drill measured nothing"
