"""Benchmark: load and validate an inventory of 1,700 towns (every municipality of Japan) in under 2 s.

The generated inventory reuses the shipped systems, data centers, WAN and SLA, and writes 1,700
towns in the shipped towns' shape, with a production environment big enough for them (the lab's
198.18.0.0/15 cannot hold 1,700 town blocks, and says so).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import yaml

from inventory.check import check_inventory
from inventory.loader import DEFAULT_ROOT
from inventory.source import InventoryLoader

TOWNS = 1_700
TARGET_SECONDS = 2.0


def generate(root: Path, count: int = TOWNS) -> None:
    shutil.copytree(
        DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "model", "rules", "environments")
    )
    shipped = yaml.load((DEFAULT_ROOT / "towns.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    towns = []
    for n in range(1, count + 1):
        base = shipped["towns"][(n - 1) % len(shipped["towns"])]
        tid = f"{base['id']}-{n}"
        town = {
            **base,
            "number": n,
            "id": tid,
            "name": f"{base['name'][:-1]}{n}{base['name'][-1]}",
            "romaji": f"{base['romaji']} {n}",
            "servers": [{**s, "name": f"{tid}-{s['name'].rsplit('-', 1)[1]}"} for s in base["servers"]],
            "router": {**base["router"], "name": f"{tid}-ce1", "asn": 4_200_000_000 + n},
            "circuits": {role: {**c, "id": f"C-{n:05d}-{role}"} for role, c in base["circuits"].items()},
        }
        towns.append(town)
    (root / "towns.yaml").write_text(
        yaml.safe_dump({"towns": towns}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    # Each generated town's current cost is its model town's, so the cost rules have every town.
    costs = yaml.load((DEFAULT_ROOT / "costs.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    current = {t["id"]: t for t in costs["towns"]}
    costs["towns"] = [{**current[t["id"].rsplit("-", 1)[0]], "id": t["id"]} for t in towns]
    (root / "costs.yaml").write_text(yaml.safe_dump(costs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    addressing = yaml.safe_load((DEFAULT_ROOT / "addressing.yaml").read_text(encoding="utf-8"))
    addressing["town_capacity"] = 2048
    (root / "addressing.yaml").write_text(yaml.safe_dump(addressing), encoding="utf-8")
    # Only production here: the lab's exemption from the change windows has no lab to name.
    wan = yaml.load((DEFAULT_ROOT / "wan.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    wan.get("change_control", {})["unrestricted_environments"] = []
    (root / "wan.yaml").write_text(yaml.safe_dump(wan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "environments").mkdir()
    prod = yaml.safe_load((DEFAULT_ROOT / "environments" / "prod.yaml").read_text(encoding="utf-8"))
    prod["supernet"] = "10.0.0.0/8"  # text only: the plan is computed, nothing is sent anywhere
    (root / "environments" / "prod.yaml").write_text(yaml.safe_dump(prod), encoding="utf-8")


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="municloud-bench-") as tmp:
        root = Path(tmp) / "inventory"
        generate(root)
        size_mb = (root / "towns.yaml").stat().st_size / 1e6
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            result = check_inventory(root)
            best = min(best, time.perf_counter() - start)
        if not result.ok:
            raise RuntimeError("the generated inventory is not valid:\n" + "\n".join(map(str, result.problems[:10])))
    return {
        "figure": f"load + validate {TOWNS:,} towns ({size_mb:.1f} MB YAML, all rules, address plan)",
        "target": f"< {TARGET_SECONDS:.0f} s",
        "measured": f"{best:.2f} s (best of 3)",
        "met": best < TARGET_SECONDS,
        "profile": "generated inventory (no lab)",
    }
