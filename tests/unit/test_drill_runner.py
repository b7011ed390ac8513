"""The drills' logic without a lab: scenario validation, outages from a probe stream, the fast
probe against a local listener, the experiment handed to chaostoolkit-lib."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest

from bcp_drills.drill import Drill
from bcp_drills.fastprobe import main as fastprobe
from bcp_drills.probes import Outage, PlannedOutage, Stream, planned_during
from bcp_drills.runner import _failover_target_ms, _planned_outages, build_experiment
from bcp_drills.scenario import load_scenario, scenarios
from inventory.check import load_inventory
from inventory.environment import bind_environment
from inventory.problems import InventoryError
from pki.authority import Authority


def _stream(tmp_path: Path, lines: list[str]) -> Stream:
    path = tmp_path / "t.probe"
    path.write_text("".join(line + "\n" for line in lines))
    stream = Stream("ina", "tcp", path)
    stream.read()
    return stream


def test_outages_start_at_the_first_failure_and_end_at_the_next_good_probe(tmp_path: Path) -> None:
    stream = _stream(
        tmp_path,
        ["10.00 1", "10.02 1", "10.04 0 TimeoutError", "10.06 0 TimeoutError", "10.50 1", "11.00 0 x", "11.02 1"],
    )
    runs = stream.outages(since=10.01)
    assert [(r.start, r.end, r.failures) for r in runs] == [(10.04, 10.50, 2), (11.00, 11.02, 1)]
    assert runs[0].ms == pytest.approx(460.0)
    assert stream.outages(since=10.6)[0].start == 11.00


def test_an_outage_that_never_ends_has_no_end(tmp_path: Path) -> None:
    stream = _stream(tmp_path, ["1.0 1", "2.0 0 x", "3.0 0 x"])
    [run] = stream.outages(since=0)
    assert run.end is None and run.ms is None
    assert stream.failing_for(now=4.0) == pytest.approx(2.0)


def test_recovery_counts_only_after_the_fault(tmp_path: Path) -> None:
    stream = _stream(tmp_path, [f"{t / 10:.2f} 1" for t in range(0, 31)])  # 0.0 .. 3.0 all good
    assert stream.good_since(1.0, now=3.0)
    assert not stream.good_since(1.0, now=3.0, after=2.5)  # good probes from before the fault prove nothing
    assert stream.good_since(0.4, now=3.0, after=2.5)


def test_a_partial_last_line_waits_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "t.probe"
    path.write_text("1.0 1\n2.0 0 Tim")
    stream = Stream("ina", "tcp", path)
    assert len(stream.read()) == 1
    with path.open("a") as f:
        f.write("eoutError\n")
    assert [s.detail for s in stream.read()] == ["TimeoutError"]


def test_fast_probe_records_every_probe_in_order(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                server.accept()[0].close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    out = tmp_path / "probe"
    try:
        fastprobe(
            [
                "--mode",
                "tcp",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--interval",
                "0.02",
                "--duration",
                "0.5",
                "--out",
                str(out),
            ]
        )
    finally:
        stop.set()
        thread.join()
        server.close()
    samples = Stream("local", "tcp", out).read()
    assert 15 <= len(samples) <= 30 and all(s.ok for s in samples)
    assert [s.at for s in samples] == sorted(s.at for s in samples)


def test_shipped_scenarios_are_valid_and_destructive() -> None:
    found = scenarios()
    assert set(found) == {
        "wan-primary-circuit-loss",
        "carrier-edge-loss",
        "dc-site-loss",
        "town-server-loss",
        "data-destruction",
    }
    assert found["data-destruction"].towns_at_most == 1
    assert all(s.destructive and s.rollbacks for s in found.values())


def test_a_broken_scenario_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad-drill.yaml"
    path.write_text(
        "name: bad-drill\ntitle: {ja: 試験, en: Test}\ndescription: x\naffects: all-towns\n"
        "steady_state: [no_fault_in_force]\nmethod:\n  - {name: boom, do: detonate}\n"
    )
    with pytest.raises(InventoryError) as error:
        load_scenario(path)
    text = str(error.value.problems[0])
    assert "bad-drill.yaml:7" in text and "unknown activity 'detonate'" in text


def test_the_experiment_runs_rollbacks_through_chaostoolkit_with_a_stop_on_failure_control() -> None:
    experiment = build_experiment(scenarios()["dc-site-loss"], dry_run=False)
    assert [p["provider"]["func"] for p in experiment["steady-state-hypothesis"]["probes"]] == [
        "no_fault_in_force",
        "replication_streaming",
        "every_town_reaches_every_system",
    ]
    assert experiment["method"][0]["provider"] == {
        "type": "python",
        "module": "bcp_drills.activities",
        "func": "isolate_site",
        "arguments": {"site": "dc1"},
    }
    assert experiment["controls"][0]["provider"]["module"] == "bcp_drills.controls"
    assert "dry" in build_experiment(scenarios()["dc-site-loss"], dry_run=True)


def test_an_outage_during_a_step_that_plans_one_is_planned_only_within_its_allowance() -> None:
    switch = PlannedOutage("fail back", start=100.0, end=140.0, seconds=15)
    within = Outage(start=120.0, end=126.0, failures=60)  # 6 s, begun during the step
    too_long = Outage(start=120.0, end=136.5, failures=160)  # 16.5 s
    never_back = Outage(start=120.0, end=None, failures=9)
    before = Outage(start=99.9, end=100.5, failures=3)  # began before the step
    assert planned_during(within, [switch]) is switch and switch.covers(within)
    assert planned_during(too_long, [switch]) is switch and not switch.covers(too_long)
    assert not switch.covers(never_back)
    assert planned_during(before, [switch]) is None and not switch.covers(before)


def test_the_steps_that_may_stop_the_service_are_read_from_the_journal() -> None:
    experiment = build_experiment(scenarios()["dc-site-loss"], dry_run=False)
    by_name = {a["name"]: a for a in experiment["method"]}
    fail_back = by_name["fail back to DC1 (dc_failback.yml)"]
    assert fail_back["municloud"]["planned_outage_seconds"] == 15
    journal = {
        "run": [
            {
                "activity": by_name["cut DC1 off (WAN and interconnect)"],
                "start": "2026-11-27T10:00:00",
                "end": "2026-11-27T10:00:01",
            },
            {"activity": fail_back, "start": "2026-11-27T10:05:00", "end": "2026-11-27T10:05:40"},
            {"activity": fail_back, "start": "2026-11-27T10:06:00"},  # never ended: no window
        ]
    }
    [window] = _planned_outages(journal)
    assert (window.step, window.end - window.start, window.seconds) == ("fail back to DC1 (dc_failback.yml)", 40.0, 15)


@pytest.mark.parametrize(
    ("env", "town", "target_ms"),
    [("prod", "ina", 1000), ("prod", "namegawa", 5000), ("prod", "hatoyama", 5000), ("lab", "namegawa", 1000)],
)
def test_a_circuit_drill_holds_each_town_to_what_its_routers_platform_can_reach(
    tmp_path: Path, env: str, town: str, target_ms: int
) -> None:
    # ina runs IOS-XE (BFD); namegawa Yamaha RTX and hatoyama NEC IX (no BFD: short BGP timers),
    # except in the lab, where every router is FRR with BFD
    inventory = load_inventory()
    drill = Drill(
        scenarios()["wan-primary-circuit-loss"],
        inventory,
        bind_environment(inventory, env, Path("/nonexistent")),
        [town],
        [town],
        "test",
        True,
        tmp_path,
        None,
        Authority(env, tmp_path / "pki"),
    )
    assert _failover_target_ms(drill, town) == target_ms
    drill.scenario = scenarios()["carrier-edge-loss"]  # holds no town to a circuit's failover
    assert _failover_target_ms(drill, town) is None


def test_http_probes_keep_their_connections_alive(tmp_path: Path) -> None:
    """The drills' HTTP probe on HTTP/1.1: a request per probe, a connection only when none is idle
    (with TLS: a handshake only then), every probe still recorded."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: set[tuple[str, int]] = set()

    class Service(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.add(self.client_address)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "probe"
    try:
        where = ["--host", "127.0.0.1", "--port", str(server.server_address[1]), "--town", "ina", "--systems", "a,b"]
        fastprobe(["--mode", "http", *where, "--interval", "0.02", "--duration", "0.5", "--out", str(out)])
    finally:
        server.shutdown()
        server.server_close()
    samples = Stream("local", "http", out).read()
    assert 15 <= len(samples) <= 30 and all(s.ok for s in samples), [s.detail for s in samples if not s.ok]
    assert len(seen) <= 3  # kept alive: a connection or so, not one per probe


def test_probe_intervals_widen_with_the_towns_so_the_drill_does_not_load_the_service_it_measures() -> None:
    from bcp_drills.probes import MAX_REQUESTS_PER_SECOND, stream_interval_ms

    assert stream_interval_ms("http", 100, 4) == 100  # the small lab: as the scenario asks
    assert stream_interval_ms("http", 100, 18) == 180  # the full lab: 100 requests a second in all
    assert stream_interval_ms("write", 200, 18) == 450
    assert stream_interval_ms("tcp", 20, 18) == 20  # a connection, not a request: never widened
    for towns in (1, 7, 18, 1700):
        for kind in ("http", "write"):
            assert towns * 1000 / stream_interval_ms(kind, 50, towns) <= MAX_REQUESTS_PER_SECOND[kind]
