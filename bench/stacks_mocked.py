"""Benchmark: the mocked Pulumi program for all 20 stacks (prod-dc, prod-wan, 18 towns) in under 60 s.

Each stack runs under fresh mocks, the towns with the DC and WAN outputs as their StackReferences.
"""

from __future__ import annotations

import time

from inventory.check import load_inventory
from stacks.mocked import run_mocked
from stacks.naming import StackId

TARGET_SECONDS = 60.0


def run() -> dict[str, object]:
    inv = load_inventory()
    start = time.perf_counter()
    dc = run_mocked("prod-dc", inv)
    wan = run_mocked("prod-wan", inv)
    refs = {StackId("prod", "dc").reference(): dc.outputs, StackId("prod", "wan").reference(): wan.outputs}
    towns = [run_mocked(f"prod-{t.id}", inv, refs) for t in inv.towns]
    seconds = time.perf_counter() - start
    resources = len(dc.resources) + len(wan.resources) + sum(len(t.resources) for t in towns)
    return {
        "figure": f"mocked program, all {2 + len(towns)} stacks",
        "target": f"< {TARGET_SECONDS:.0f} s",
        "measured": f"{seconds:.1f} s ({resources} resources)",
        "met": seconds < TARGET_SECONDS,
        "profile": "shipped inventory, Pulumi mocks",
    }
