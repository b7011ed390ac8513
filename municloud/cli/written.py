"""The table of report files a command wrote (`--out`), after its own output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_written(console: Console, title: str, paths: Mapping[str, Path]) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("kind")
    table.add_column("file")
    for kind, path in paths.items():
        table.add_row(kind, str(path))
    console.print(table)
