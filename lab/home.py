"""Where one lab lives on this machine: its state directory (the state file, the SSH keys, the logs),
the caches it shares with other labs (base image, apt proxy), its default prefix, and the parts
every job on it (build, teardown, status, faults, binding) opens from there."""

from __future__ import annotations

from pathlib import Path

from lab.apt_proxy import DEFAULT_CACHE as APT_CACHE
from lab.apt_proxy import AptProxy
from lab.base_image import DEFAULT_CACHE as BASE_CACHE
from lab.containers import Containers
from lab.routers import Routers
from lab.state import DEFAULT_STATE_DIR, LabState
from lab.topology import DEFAULT_PREFIX, Topology


class LabHome:
    """A lab's places. Creating one touches nothing: the jobs need root, this does not."""

    def __init__(
        self,
        state_dir: Path | str = DEFAULT_STATE_DIR,
        base_cache: Path | str = BASE_CACHE,
        apt_cache: Path | str = APT_CACHE,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.base_cache = Path(base_cache)
        self.apt_cache = Path(apt_cache)
        self.default_prefix = prefix  # until a topology is recorded: `down` after a lost state file
        self.keys_dir = self.state_dir / "keys"
        self.private_key = self.keys_dir / "id_ed25519"  # `netops` on every router, `root` on every container
        self.known_hosts = self.keys_dir / "known_hosts"

    def state(self) -> LabState:
        """The state file as it is now (read afresh: another process may have changed it)."""
        return LabState(self.state_dir)

    def topology(self) -> Topology | None:
        data = self.state().data.get("topology")
        return Topology.from_dict(data) if data else None

    def routers(self, state: LabState, topo: Topology) -> Routers:
        return Routers(state, topo, self.keys_dir, state.dir / "log")

    def apt_proxy(self, state: LabState, topo: Topology) -> AptProxy:
        return AptProxy(state, topo.ops_address.ip, topo.apt_proxy_port, self.apt_cache)

    def containers(self, state: LabState, topo: Topology) -> Containers:
        return Containers(state, topo, self.keys_dir, self.apt_proxy(state, topo).url)
