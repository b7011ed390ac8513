"""What every command shares: exit codes, consoles, and turning errors into messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from inventory.environment import EnvironmentBinding, bind_environment
from inventory.loader import Inventory
from inventory.problems import InventoryError

from ..checks import load_inventory


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # an operation failed (a device, a host, a service)
    INVALID = 2  # the input is wrong: nothing was changed


def _console(stderr: bool = False) -> Console:
    # Piped output (logs, CI) gets room for the tables instead of the 80 columns rich assumes.
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=160)


out = _console()
err = _console(stderr=True)


def fail(message: str, code: Exit = Exit.INVALID) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(int(code))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_problems(error: InventoryError) -> None:
    for problem in error.problems:
        err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    err.print(f"[bold red]{len(error.problems)} problem(s)[/] in the inventory; nothing was changed.")


@contextmanager
def invalid_input_exits() -> Iterator[None]:
    """Bad inventory or an unknown name: the problems on stderr, exit 2."""
    try:
        yield
    except InventoryError as error:
        print_problems(error)
        raise typer.Exit(int(Exit.INVALID)) from None
    except KeyError as error:
        fail(str(error.args[0]) if error.args else str(error))


def inventory_or_exit() -> Inventory:
    with invalid_input_exits():
        return load_inventory()
    raise AssertionError("unreachable")


def binding_or_exit(environment: str) -> tuple[Inventory, EnvironmentBinding]:
    """The inventory and its binding to `environment`; a bad inventory, binding file or name is
    invalid input (exit 2)."""
    with invalid_input_exits():
        inventory = load_inventory()
        return inventory, bind_environment(inventory, environment)
    raise AssertionError("unreachable")


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr; yields `update(what, done, total)` for engines that report progress."""
    with Progress(
        TextColumn(f"[bold]{title}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update
