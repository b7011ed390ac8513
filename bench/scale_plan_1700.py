"""Benchmark: the execution plan of 1,700 towns (every municipality of Japan), as an operator gets it,
in under 60 s: `municloud scale plan --env prod --inventory DIR`, a process of its own that loads and
validates the generated inventory (`inventory_1700`: 232 regions), binds production, derives every
town's load from the monitoring configuration, packs the regions onto nodes and renders the tables;
then the same with --json, whose plan is checked (every town served once, nodes within capacity).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .inventory_1700 import TOWNS, generate

TARGET_SECONDS = 60.0


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="municloud-bench-scale-") as tmp:
        root = Path(tmp) / "inventory"
        generate(root)
        command = [sys.executable, "-m", "municloud.cli.main", "scale", "plan", "--env", "prod"]
        command += ["--inventory", str(root)]
        table, _ = _timed(command)
        as_json, printed = _timed([*command, "--json"])
    plan = json.loads(printed)
    served = [t for region in plan["regions"] for t in region["towns"]]
    if len(served) != TOWNS or len(set(served)) != TOWNS or not plan["fits"]:
        raise RuntimeError(f"the plan serves {len(set(served))} of {TOWNS} towns, fits: {plan['fits']}")
    hosts = [n["load"]["hosts"] for n in plan["nodes"]]
    return {
        "figure": f"scale plan of {TOWNS:,} towns ({len(plan['regions'])} regions on {len(hosts)} nodes, "
        f"hosts per node {min(hosts)}-{max(hosts)}; load, validate, plan, tables)",
        "target": f"< {TARGET_SECONDS:.0f} s",
        "measured": f"{table:.1f} s (--json {as_json:.1f} s)",
        "met": table < TARGET_SECONDS and as_json < TARGET_SECONDS,
        "profile": "generated inventory (no lab)",
    }


def _timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "MUNICLOUD_BINDING"}  # production's, not a lab's
    done = subprocess.run(command, capture_output=True, text=True, timeout=10 * TARGET_SECONDS, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:5])} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return seconds, done.stdout
