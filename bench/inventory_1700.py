"""Benchmark: load and validate an inventory of 1,700 towns (every municipality of Japan) in under 2 s.

The generated inventory reuses the shipped systems, data centers, WAN and SLA, and writes 1,700
towns in the shipped towns' shape, with a production environment big enough for them (the lab's
198.18.0.0/15 cannot hold 1,700 town blocks, and says so). The towns are spread over Japan's 47
prefectures, each cut into 3 to 7 regions of consecutive towns (regions.yaml): 232 regions of
uneven size, 2 to 17 towns, which the execution plan packs onto nodes (`municloud scale plan`).
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
PREFECTURES = (  # noqa: SIM905  (JIS X 0401 order)
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 "
    "石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 "
    "岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split()


def regions(count: int = TOWNS) -> tuple[list[dict[str, str]], list[str]]:
    """The generated regions, and the region of each of `count` towns in order: the towns split
    evenly over the prefectures, each prefecture's into 3 to 7 regions of uneven size (the k-th of
    n regions weighs k + 1), so a plan has big and small regions to pack."""
    declared: list[dict[str, str]] = []
    of_town: list[str] = []
    for p, prefecture in enumerate(PREFECTURES):
        towns = count * (p + 1) // len(PREFECTURES) - count * p // len(PREFECTURES)
        n = 3 + p % 5
        weights = [k + 2 for k in range(n)]
        bounds = [towns * sum(weights[:k]) // sum(weights) for k in range(n + 1)]
        for k in range(n):
            rid = f"p{p + 1:02d}-r{k + 1}"
            declared.append({"id": rid, "name": f"{prefecture}第{k + 1}地域", "prefecture": prefecture})
            of_town += [rid] * (bounds[k + 1] - bounds[k])
    return declared, of_town


def generate(root: Path, count: int = TOWNS) -> None:
    shutil.copytree(
        DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "model", "rules", "environments")
    )
    shipped = yaml.load((DEFAULT_ROOT / "towns.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    declared, region_of = regions(count)
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
            "region": region_of[n - 1],
            "servers": [{**s, "name": f"{tid}-{s['name'].rsplit('-', 1)[1]}"} for s in base["servers"]],
            "router": {**base["router"], "name": f"{tid}-ce1", "asn": 4_200_000_000 + n},
            "circuits": {role: {**c, "id": f"C-{n:05d}-{role}"} for role, c in base["circuits"].items()},
        }
        towns.append(town)
    (root / "towns.yaml").write_text(
        yaml.safe_dump({"towns": towns}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    (root / "regions.yaml").write_text(
        yaml.safe_dump({"regions": declared}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    # Each generated town's current cost is its model town's, so the cost rules have every town.
    costs = yaml.load((DEFAULT_ROOT / "costs.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    current = {t["id"]: t for t in costs["towns"]}
    costs["towns"] = [{**current[t["id"].rsplit("-", 1)[0]], "id": t["id"]} for t in towns]
    (root / "costs.yaml").write_text(yaml.safe_dump(costs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # Each generated town's IT officers are its model town's, at an address of its own.
    contacts = yaml.load((DEFAULT_ROOT / "contacts.yaml").read_text(encoding="utf-8"), Loader=InventoryLoader)
    officers = contacts["towns"]
    contacts["towns"] = {
        t["id"]: {
            "it_officers": [
                {**person, "email": person["email"].replace("@", f"@{t['id']}.", 1)}
                for person in officers[t["id"].rsplit("-", 1)[0]]["it_officers"]
            ]
        }
        for t in towns
    }
    (root / "contacts.yaml").write_text(yaml.safe_dump(contacts, allow_unicode=True, sort_keys=False), encoding="utf-8")
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
