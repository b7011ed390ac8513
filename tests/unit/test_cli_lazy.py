"""The subcommands are imported only when they run, and `--help` lists every one of them with the
help the command itself carries."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from municloud.cli.main import SUBCOMMANDS, app


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def test_each_listed_help_is_the_commands_own() -> None:
    group = typer.main.get_group(app)
    for name, lazy in SUBCOMMANDS.items():
        command = group.load(name)  # type: ignore[attr-defined]
        assert command.name == name
        assert first_paragraph(command.help or "") == first_paragraph(lazy.help), name


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in SUBCOMMANDS:
        assert f" {name} " in result.output, name


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from municloud.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.endswith('_cmd') or m.split('.')[0] in ('network', 'matplotlib')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_subcommand_runs_and_an_unknown_one_is_refused() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["inventory", "check"]).exit_code == 0
    unknown = runner.invoke(app, ["nosuch"])
    assert unknown.exit_code == 2
