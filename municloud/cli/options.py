"""The options many commands take, each defined once: the same names and help wherever it appears.

A command gives its own default (`env: EnvOption = "lab"`), since those differ: `stack` runs
production's stacks, `net plan` works on 16 routers at once and `net apply` on 8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment (inventory/environments/): lab or prod.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
# A command that prints its result and, given a folder, also writes it as a report.
ReportFolderOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also write the report there (its files: see above).")
]
TownOption = Annotated[str | None, typer.Option("--town", help="Only this town (its id).")]
TownsOption = Annotated[list[str] | None, typer.Option("--town", "-t", help="Only this town (its id; repeatable).")]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, max=64, help="Routers or hosts worked on at once.")]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Run every playbook on this machine, not on the environment's execution nodes "
        "(environments/<env>.yaml execution_nodes; `municloud scale plan` says which node runs which towns).",
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", help="Really change routers or servers (required).")]
PortOption = Annotated[int, typer.Option("--port", help="Prometheus' port on 127.0.0.1.")]
WanPortOption = Annotated[int, typer.Option("--wan-port", help="The WAN exporter's port on 127.0.0.1.")]
AlertmanagerPortOption = Annotated[
    int, typer.Option("--alertmanager-port", help="Alertmanager's port on 127.0.0.1 (0: no Alertmanager).")
]
MailPortOption = Annotated[int, typer.Option("--mail-port", help="The lab mail server's port on 127.0.0.1.")]
