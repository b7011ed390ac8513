"""Subcommands imported only when they run.

Importing every command module up front (network, provisioning, the reports with matplotlib) cost
about 2 CPU-seconds on every `municloud` call, `--help` included. A `LazyGroup` knows each
subcommand by name, the module and attribute that define it, and the one-line help the command list
shows; the module is imported when the subcommand is resolved to run it (or to complete its
arguments), never to list it. tests/unit/test_cli_lazy.py checks that each listed help is the one
the command itself carries.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import click
import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A subcommand defined by `module`'s `attribute`: a `typer.Typer` (a group of commands) or a
    function (one command)."""

    module: str
    attribute: str
    help: str  # as the command list shows it

    def load(self, name: str) -> click.Command:
        target = getattr(importlib.import_module(self.module), self.attribute)
        if isinstance(target, typer.Typer):
            command: click.Command = typer.main.get_group(target)
        else:
            single = typer.Typer()
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        return command


class LazyGroup(TyperGroup):
    """A Typer group whose `lazy` subcommands (name -> Lazy, listed in this order after the eager
    ones) are imported on first use. Subclass it with the table as `lazy`."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in self.lazy if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """For the command list: a stand-in that carries the help only (nothing imported)."""
        loaded = super().get_command(ctx, cmd_name)
        if loaded is not None or cmd_name not in self.lazy:
            return loaded
        return click.Command(cmd_name, help=self.lazy[cmd_name].help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """To run the subcommand (or complete its arguments): the real one, imported now."""
        name, command, rest = super().resolve_command(ctx, args)
        if name in self.lazy:
            command = self.load(name)
        return name, command, rest

    def load(self, name: str) -> click.Command:
        """The real subcommand `name`, imported if not yet (for tests and tools)."""
        if name not in self.commands:
            self.commands[name] = self.lazy[name].load(name)
        return self.commands[name]
