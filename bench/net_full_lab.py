"""Benchmarks of network changes on the full lab (22 routers: 18 towns, 2 carrier edges, 2 DC edges):
`net plan` of every router, `net apply` of that plan from day-0 (target < 15 s), and `net rollback`
of one device (target < 5 s).

Brings up its own full lab (prefix `mcb`, state directory and management region of the lab figures)
and takes it down at the end, also on failure. Plan and rollback are timed as an operator runs them,
each command in its own process. The apply is the call `net apply` makes (`apply_plan`, the CLI's
workers and post-check timeout), in this process so that every phase can be timed: a missed target
then shows what the time went to (backups, pre-checks, the canary, the other routers, the final
verification, the save). The rollback follows a one-line change applied to the device (its
description), as after a change that went wrong, and is checked: the device's running config must
equal the backup again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from unittest.mock import patch

from inventory.check import load_inventory
from inventory.environment import BINDING_ENV_VAR, bind_environment
from lab.binding import write_lab_binding
from lab.derive import profile_towns
from network.apply import apply_plan
from network.config import same_config
from network.fleet import Fleet
from network.plan import Plan, make_plan

from .lab_figures import STATE_DIR, bench_lab, row, topology
from .provisioning_full import municloud

OPS_STATE_DIR = STATE_DIR.with_name(STATE_DIR.name + "-net")
TARGETS = {"apply": 15.0, "rollback": 5.0}
WORKERS = 8  # as `net apply`
CHECK_TIMEOUT = 30.0  # as `net apply`


def phases(marks: list[tuple[float, str]], canary: str | None) -> str:
    """Where the apply's time went, from its progress marks (seconds since the start, what): the
    end of each phase, as the difference from the end of the one before."""

    def last(*whats: str) -> float:
        return max((t for t, what in marks if what.startswith(whats)), default=0.0)

    mine = (f"push {canary}", f"check {canary}")
    others = tuple(what for _, what in marks if what.startswith(("push ", "check ")) and what not in mine)
    ends = [
        ("backups", last("backup ")),
        ("pre-checks and reachability, canary push", last(f"push {canary}")),
        (f"canary {canary} post-checks", last(f"check {canary}")),
        (f"other {len(others) // 2} (push, post-checks)", last(*others) if others else 0.0),
        ("final verification, save", last("save ")),
        ("post-change backup", last("done")),
    ]
    parts, previous = [], 0.0
    for name, end in ends:
        if end:
            parts.append(f"{name} {end - previous:.1f}")
            previous = end
    return ", ".join(parts)


def run() -> list[dict[str, object]]:
    inventory = load_inventory()
    full = topology(inventory, "full")
    shape = f"full: {len(full.routers)} routers"
    town = profile_towns(inventory, "full")[0]
    device = town.router.name
    shutil.rmtree(OPS_STATE_DIR, ignore_errors=True)
    with bench_lab() as lab:
        lab.up(full)
        binding_file = STATE_DIR / "binding.yaml"
        write_lab_binding(lab, [t.id for t in profile_towns(inventory, "full")], binding_file, "full")
        updates = {BINDING_ENV_VAR: str(binding_file), "MUNICLOUD_STATE_DIR": str(OPS_STATE_DIR)}
        env = {**os.environ, **updates}

        plan_s, planned = municloud(env, "net", "plan", "--json")
        if planned.returncode != 0:
            raise RuntimeError(f"net plan failed: {planned.stderr[-1000:]}")
        data = json.loads(planned.stdout)
        changed = sum(bool(d["remediation"]) for d in data["devices"])
        lines = sum(len(d["remediation"]) for d in data["devices"])

        with patch.dict(os.environ, updates):  # the apply runs here, against this lab
            binding = bind_environment(inventory, "lab")
            plan = Plan.load(Path(data["path"]))
            marks: list[tuple[float, str]] = []
            started = time.monotonic()
            result = apply_plan(
                plan,
                inventory,
                binding,
                workers=WORKERS,
                check_timeout=CHECK_TIMEOUT,
                progress=lambda what, _done, _total: marks.append((time.monotonic() - started, what)),
            )
            apply_s = time.monotonic() - started
            applied = sum(r.status == "applied" for r in result.results.values())
            if not result.ok:
                failed = {n: f"{r.status}: {r.detail}" for n, r in result.results.items() if r.status != "applied"}
                raise RuntimeError(f"net apply from day-0 failed: {failed}")

            # a one-line change on one device, then its rollback to the pre-change backup
            with Fleet(binding).driver(device) as drv:
                before = drv.get_running_config()
            intended = make_plan(inventory, binding, [device]).device(device).intended
            old = f" description {town.id} client segment"
            new = f" description {town.id} client segment (changed)"
            change = make_plan(inventory, binding, [device], intended_override={device: intended.replace(old, new)})
            changed_ok = apply_plan(change, inventory, binding, workers=WORKERS, check_timeout=CHECK_TIMEOUT)
            if not changed_ok.ok:
                raise RuntimeError(f"the one-line change on {device} did not apply: {changed_ok.results[device]}")
            rollback_s, rolled = municloud(env, "net", "rollback", "--device", device, "--yes")
            with Fleet(binding).driver(device) as drv:
                back = same_config("frr", drv.get_running_config(), before)

    return [
        row(
            f"net plan, every router of the full lab (day-0, {changed} to change, {lines:,} lines)",
            "-",
            f"{plan_s:.1f} s",
            len(data["devices"]) == len(full.routers),
            shape,
        ),
        row(
            "net apply from day-0, every router",
            "< 15 s",
            f"{apply_s:.1f} s ({applied} applied; {phases(marks, result.canary)})",
            apply_s < TARGETS["apply"],
            shape + f", {WORKERS} workers",
        ),
        row(
            f"net rollback of one device ({device}, after a one-line change)",
            "< 5 s",
            f"{rollback_s:.1f} s" + ("" if back else ", running config NOT equal to the backup"),
            rollback_s < TARGETS["rollback"] and rolled.returncode == 0 and back,
            shape,
        ),
    ]
