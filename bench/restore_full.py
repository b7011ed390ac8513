"""Point-in-time recovery on the full lab, with the residents' data in place (350,779 synthetic
residents in 18 tenants), after provisioning_full's drills:

- one town: the data-destruction drill on the town with the most residents (its tables dropped on
  the primary, restored from the WAL archive to 1 s before): the town served again, from the damage
  (target: within 5 minutes of the decision), the RPO from the heartbeats, the other towns' outages;
- the whole cluster: `municloud db restore --to <a moment>`, the primary restored in place and the
  standby rebuilt: how long until the service has its database again (target: 5 minutes).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable

from inventory.loader import Inventory

from .lab_figures import row

TARGET_SECONDS = 300.0
JST = dt.timezone(dt.timedelta(hours=9))

Drill = Callable[..., dict]
Municloud = Callable[..., tuple[float, subprocess.CompletedProcess[str]]]


def restore_rows(
    inventory: Inventory, env: dict[str, str], shape: str, drill: Drill, municloud: Municloud
) -> list[dict[str, object]]:
    town = max(inventory.towns, key=lambda t: t.population)
    record = drill(env, "data-destruction", "--town", town.id)
    rpo = record.get("rpo") or {}
    restore = rpo.get("restore") or {}
    served_ms = record["outage_ms_by_town"].get(town.id)
    others = [ms for t, ms in record["outage_ms_by_town"].items() if t != town.id and ms is not None]
    one = row(
        f"PITR of one town ({town.id}, {town.population:,} residents): served again from the damage",
        "< 5 min, other towns no outage",
        (
            f"{served_ms / 1000:.0f} s (restore {restore.get('seconds', '?')} s), RPO "
            f"{(rpo.get('lost_span_ms') or 0) / 1000:.1f} s, other towns' outages: {len(others)}; {record['verdict']}"
        )
        if served_ms is not None
        else f"not measured ({record['verdict']}: {record['observations'][:2]})",
        served_ms is not None and served_ms < TARGET_SECONDS * 1000 and not others and record["verdict"] == "passed",
        shape,
    )
    moment = dt.datetime.now(JST).replace(microsecond=0)
    time.sleep(2)  # the moment is behind the archive's newest commit
    seconds, result = municloud(env, "db", "restore", "--to", moment.isoformat(), "--yes", "--json")
    summary = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None
    steps = ", ".join(f"{s['step']} {s['seconds']:.0f} s" for s in summary["steps"]) if summary else ""
    cluster = row(
        "PITR of the whole cluster (primary in place, standby rebuilt)",
        "< 5 min",
        f"{seconds:.0f} s ({steps})" if summary else f"failed: {result.stderr[-300:]}",
        summary is not None and seconds < TARGET_SECONDS,
        shape,
    )
    return [one, cluster]
