"""`make bench`: run every benchmark and print one table: figure, target, measured, met or missed.

A missed target is shown as missed, and makes the exit code 1 so a script notices.
"""

from __future__ import annotations

import sys
import traceback

from rich.console import Console
from rich.table import Table

from . import (
    cost_allocation_1700,
    inventory_1700,
    lab_figures,
    net_full_lab,
    net_render_2000,
    provisioning_full,
    scale_plan_1700,
    sla_1700,
    sla_figures,
    stacks_mocked,
    tenant_tls,
)

BENCHMARKS = [
    inventory_1700,
    cost_allocation_1700,
    scale_plan_1700,
    lab_figures,
    stacks_mocked,
    provisioning_full,
    net_render_2000,
    net_full_lab,
    sla_figures,
    sla_1700,
    tenant_tls,
]


def main() -> int:
    console = Console()
    table = Table(title="municloud benchmarks")
    for col in ("figure", "target", "measured", "result", "profile"):
        table.add_column(col)
    missed = 0
    for bench in BENCHMARKS:  # each module's run() returns a row dict or a list of them
        name = bench.__name__.rsplit(".", 1)[-1]
        console.print(f"running {name} ...")
        try:
            result = bench.run()  # one row, or several figures from one run
            rows = result if isinstance(result, list) else [result]
        except Exception as exc:  # a broken benchmark is a missed figure, not a crash of the table
            traceback.print_exc()
            rows = [{"figure": name, "target": "-", "measured": f"failed: {exc}", "met": False, "profile": "-"}]
        for row in rows:
            missed += not row["met"]
            table.add_row(
                str(row["figure"]),
                str(row["target"]),
                str(row["measured"]),
                "[green]met[/]" if row["met"] else "[red]missed[/]",
                str(row["profile"]),
            )
    console.print(table)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
