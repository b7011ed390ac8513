"""Benchmark: render and remediation (hier_config) for 2,000 generated routers, no SSH, under 30 s.

A generated inventory of 1,996 towns (their CE routers alternate FRR and IOS-XE) plus the 2 carrier
edges and 2 DC edges; each router's "running" config is its intended one with the BGP timers and the
BFD profile changed, so every remediation has work to do.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from inventory.check import load_inventory
from inventory.environment import bind_environment
from inventory.source import InventoryLoader
from network.config import remediation
from network.intent import build_intents
from network.render import render

from .inventory_1700 import generate

ROUTERS = 2_000
TARGET_SECONDS = 30.0


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="municloud-bench-net-") as tmp:
        root = Path(tmp) / "inventory"
        generate(root, ROUTERS - 4)
        towns = yaml.load((root / "towns.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
        for i, town in enumerate(towns["towns"]):
            town["router"]["platform"] = "cisco_ios" if i % 2 else "frr"
        (root / "towns.yaml").write_text(yaml.safe_dump(towns, allow_unicode=True, sort_keys=False), encoding="utf-8")
        inventory = load_inventory(root)
        binding = bind_environment(inventory, "prod", Path("/nonexistent"))
        started = time.perf_counter()
        intents = build_intents(inventory, binding)
        lines = 0
        for intent in intents.values():
            intended = render(intent)
            running = intended.replace(" timers 3 9", " timers 10 30").replace("interval 100", "interval 300")
            lines += len(remediation(intent.platform, running, intended))
        seconds = time.perf_counter() - started
    return {
        "figure": f"render + remediation, {len(intents):,} routers (FRR and IOS-XE), {lines:,} lines, no SSH",
        "target": f"< {TARGET_SECONDS:.0f} s",
        "measured": f"{seconds:.1f} s",
        "met": seconds < TARGET_SECONDS and len(intents) == ROUTERS,
        "profile": "generated inventory (no lab)",
    }
