"""The lab engine: bring a `Topology` up on this machine, report its status, inject and heal
faults, and take everything down again, from any state.

    from lab.engine import Lab
    lab = Lab()                       # state in /var/lib/municloud/lab
    report = lab.up(topology, progress=lambda what, done, total: ...)
    lab.fault_cut_link("t1-primary")  # silent: nftables drop, link stays up
    lab.heal()
    lab.status().to_dict()
    lab.down()

Every method needs root (NotRootError otherwise) and holds the lab's lock while it changes things.
`Lab` is the one handle callers keep; each job is a module of its own: `lab.build` (up),
`lab.teardown` (down), `lab.status`, `lab.faults`, `lab.leftovers` (what is on the system), and
`lab.binding` (the environment binding written from the lab).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lab import build, teardown
from lab import faults as fx
from lab.build import UpReport
from lab.home import LabHome
from lab.status import LabStatus, NodeStatus, lab_status
from lab.teardown import DownReport
from lab.topology import Topology
from lab.util import LabError, Progress


class Lab(LabHome):
    """A lab's places (`LabHome`: state directory, keys, caches) with every job on it."""

    def up(self, topology: Topology, progress: Progress | None = None, with_containers: bool = True) -> UpReport:
        """Build the lab, or repair what is missing in a running one (touching nothing else).
        Faults in force stay in force (`heal()` removes them)."""
        return build.up(self, topology, progress, with_containers)

    def down(self, progress: Progress | None = None) -> DownReport:
        """Remove everything of the lab's, found from the state file AND on the system by prefix."""
        return teardown.down(self, progress)

    def status(self) -> LabStatus:
        return lab_status(self)

    # ---- faults (lab.faults) ------------------------------------------------------------------------
    def faults(self) -> list[dict[str, Any]]:
        return fx.in_force(self)

    def fault_cut_link(self, link: str, hard: bool = False) -> dict[str, Any]:
        return fx.cut_link(self, link, hard)

    def fault_isolate_site(
        self, site: str | None = None, links: Sequence[str] | None = None, hard: bool = False
    ) -> dict[str, Any]:
        return fx.isolate_site(self, site, links, hard)

    def fault_stop_router(self, router: str) -> dict[str, Any]:
        return fx.stop_router(self, router)

    def fault_stop_container(self, container: str, kill: bool = False) -> dict[str, Any]:
        return fx.stop_container(self, container, kill)

    def fault_start_router(self, router: str) -> None:
        fx.start_router(self, router)

    def fault_start_container(self, container: str) -> None:
        fx.start_container(self, container)

    def restore(self, fault_id: str) -> None:
        fx.restore(self, fault_id)

    def restore_link(self, link: str) -> None:
        fx.restore_link(self, link)

    def heal(self) -> list[dict[str, Any]]:
        return fx.heal(self)


__all__ = ["DownReport", "Lab", "LabError", "LabStatus", "NodeStatus", "Progress", "UpReport"]
