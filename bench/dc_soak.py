"""The DC drill run after run on the full lab (issue 19's soak): `dc-site-loss` ten times on one
lab, nothing reset in between, counting the runs that passed clean ("passed", no finding), with the
worst figures over the runs: reads from DC2, writes accepted again, further outages after a town's
first recovery. Target: 10 of 10. MUNICLOUD_BENCH_SOAK_RUNS sets another count (1 to 50)."""

from __future__ import annotations

import os
from collections.abc import Callable

from .lab_figures import row

Drill = Callable[..., dict]
DEFAULT_RUNS = 10


def soak_rows(env: dict[str, str], shape: str, drill: Drill) -> list[dict[str, object]]:
    runs = max(1, min(50, int(os.environ.get("MUNICLOUD_BENCH_SOAK_RUNS", DEFAULT_RUNS))))
    records = [drill(env, "dc-site-loss") for _ in range(runs)]
    clean = sum(r["verdict"] == "passed" for r in records)
    reads = [ms for r in records for ms in r["outage_ms_by_town"].values() if ms is not None]
    writes = [(r.get("rpo") or {}).get("writes_refused_ms") for r in records]
    writes_ms = [w for w in writes if w is not None]
    further = [sum((r.get("further_outages_by_town") or {}).values()) for r in records]
    verdicts = ", ".join(
        "clean" if r["verdict"] == "passed" else f"{r['verdict']} ({len(r['observations'])} finding(s))"
        for r in records
    )
    detail = (
        f"{clean} of {runs} clean; reads from DC2 worst {max(reads, default=0) / 1000:.1f} s, writes back worst "
        f"{max(writes_ms, default=0) / 1000:.1f} s, further outages per run {further}; runs: {verdicts}"
    )
    return [row("dc-site-loss soak: runs that passed clean", f"{runs} of {runs}", detail, clean == runs, shape)]
