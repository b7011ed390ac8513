"""Benchmarks of provisioning on the full lab (18 towns, 22 routers, 29 servers): from bare
containers (target < 5 min on 2 cores), the idempotent re-run (< 90 s), and `verify` (< 60 s).

Brings up its own full lab (prefix `mcb`, like the lab figures), routes it with `net plan` and
`net apply`, then times the commands as an operator runs them, each in its own process, and takes
the lab down at the end, also on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from inventory.loader import load_inventory
from lab.derive import profile_towns
from municloud.environment import BINDING_ENV_VAR
from municloud.lab_binding import write_lab_binding

from .lab_figures import STATE_DIR, bench_lab, row, topology

OPS_STATE_DIR = STATE_DIR.with_name(STATE_DIR.name + "-ops")
TARGETS = {"provision": 300.0, "rerun": 90.0, "verify": 60.0}


def municloud(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "municloud.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    return time.monotonic() - started, result


def run() -> list[dict[str, object]]:
    inventory = load_inventory()
    full = topology(inventory, "full")
    shape = f"full: {len(full.routers)} routers, {len(full.containers)} servers"
    shutil.rmtree(OPS_STATE_DIR, ignore_errors=True)
    with bench_lab() as lab:
        lab.up(full)
        binding = STATE_DIR / "binding.yaml"
        write_lab_binding(lab, [t.id for t in profile_towns(inventory, "full")], binding)
        env = {**os.environ, BINDING_ENV_VAR: str(binding), "MUNICLOUD_STATE_DIR": str(OPS_STATE_DIR)}
        _, planned = municloud(env, "net", "plan", "--json")
        if planned.returncode != 0:
            raise RuntimeError(f"net plan failed: {planned.stderr[-1000:]}")
        _, applied = municloud(env, "net", "apply", json.loads(planned.stdout)["path"], "--yes")
        if applied.returncode != 0:
            raise RuntimeError(f"net apply failed: {applied.stdout[-1000:]}")
        first, provisioned = municloud(env, "provision", "--json")
        if provisioned.returncode != 0:
            raise RuntimeError(f"provision failed: {provisioned.stdout[-2000:]}{provisioned.stderr[-1000:]}")
        rerun, again = municloud(env, "provision", "--json")
        changed = json.loads(again.stdout)["changed"] if again.stdout.strip() else "?"
        verify_s, verified = municloud(env, "verify", "--json")
        checks = json.loads(verified.stdout)["checks"] if verified.stdout.strip() else []
        passed = sum(c["passed"] for c in checks)
    return [
        row("provision full lab from bare", "< 5 min", f"{first:.0f} s", first < TARGETS["provision"], shape),
        row(
            "provision re-run (idempotent)",
            "< 90 s",
            f"{rerun:.0f} s, changed={changed}",
            rerun < TARGETS["rerun"] and again.returncode == 0 and changed == 0,
            shape,
        ),
        row(
            "verify full lab",
            "< 60 s",
            f"{verify_s:.0f} s, {passed}/{len(checks)} checks passed",
            verify_s < TARGETS["verify"] and verified.returncode == 0,
            shape,
        ),
    ]
