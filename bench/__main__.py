"""`make bench`: run every benchmark and print one table: figure, target, measured, met or missed.

A missed target is shown as missed, and makes the exit code 1 so a script notices.
"""

from __future__ import annotations

import sys
import traceback

from rich.console import Console
from rich.table import Table

from . import inventory_1700

BENCHMARKS = [inventory_1700]


def main() -> int:
    console = Console()
    table = Table(title="municloud benchmarks")
    for col in ("figure", "target", "measured", "result", "profile"):
        table.add_column(col)
    missed = 0
    for bench in BENCHMARKS:
        name = bench.__name__.rsplit(".", 1)[-1]
        console.print(f"running {name} ...")
        try:
            row = bench.run()
        except Exception as exc:  # a broken benchmark is a missed figure, not a crash of the table
            traceback.print_exc()
            row = {"figure": name, "target": "-", "measured": f"failed: {exc}", "met": False, "profile": "-"}
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
