"""The isolation check as the commands run it (`verify --isolation`, the deploy's last stage): the
environment's probe points (the lab's segment namespaces and town servers), the check against the
policy (network/isolation.py) and the セキュリティ分離検証報告 written beside the other reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from inventory.environment import EnvironmentBinding
from inventory.loader import Inventory
from inventory.model.sla import CONTRACT_TZ
from lab.engine import Lab
from lab.isolation import LabProber
from network.isolation import IsolationReport, check_isolation
from pki.authority import Authority, PkiError
from toolkit.settings import state_dir

NO_PROBE_POINTS = (
    "no probe points: the isolation check probes from the lab's segment namespaces; production "
    "needs a probe host in each segment, which is not built yet"
)


class IsolationUnavailable(Exception):
    """The environment has nowhere to probe from, or the probes could not run."""


def has_probe_points(binding: EnvironmentBinding) -> bool:
    return binding.lab is not None


def run_isolation(
    inventory: Inventory, binding: EnvironmentBinding, towns: list[str], out_dir: Path | None = None
) -> tuple[IsolationReport, dict[str, Path]]:
    """Probe, compare, write the report (HTML, PDF, JSON; by default under the state directory's
    reports/isolation/<time>). IsolationUnavailable when it cannot run; DocumentError or OSError when
    the report cannot be written."""
    # the report's documents bring matplotlib and weasyprint: imported when a report is written
    from network.report import render_isolation

    if binding.lab is None:
        raise IsolationUnavailable(f"environment '{binding.name}' has {NO_PROBE_POINTS}")
    started = datetime.now(CONTRACT_TZ)
    try:
        lab = Lab(state_dir=binding.lab.state_dir, prefix=binding.lab.prefix)
        prober = LabProber(lab, towns, Authority(binding.name))
        report = check_isolation(inventory, binding, prober, started)
    except (RuntimeError, OSError, PkiError) as error:  # LabError is a RuntimeError
        raise IsolationUnavailable(f"the isolation check could not run: {error}") from error
    folder = out_dir or state_dir() / "reports" / "isolation" / started.strftime("%Y%m%dT%H%M%S")
    return report, render_isolation(report, folder)
