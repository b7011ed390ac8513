"""Where `verify --isolation` probes from in the lab (network/isolation.py's `Prober`): each town's
client namespaces stand in for the PCs of its three segments (`<town>-pcs`, `<town>-lgw-pc`,
`<town>-inet-pc`) and its first server for the town hall LAN. The probes run inside each
(lab/probes.py); a server is entered by its network namespace only (`nsenter --net`), so that
nothing is installed in it and its management interface, which the probes do not address, stays
out of the picture. The tenant requests go from the town's マイナンバー利用事務系 namespace with the
town's certificate from the environment's PKI."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from lab import names
from lab.derive import SEGMENT_LAB_NAMES
from lab.home import LabHome
from lab.probes import Probe, in_netns, probe_from
from lab.util import LabError, run
from network.isolation import ProbePoint, Target, TenantRequest
from pki.authority import Authority


class LabProber:
    def __init__(self, home: LabHome, towns: Sequence[str], pki: Authority, timeout: float = 2.0) -> None:
        topo = home.topology()
        if topo is None:
            raise LabError("no lab is up (run `lab up` first)")
        self.topo = topo
        self.towns = list(towns)
        self.pki = pki
        self.timeout = timeout
        self._entry: dict[ProbePoint, list[str]] = {}

    def points(self) -> list[ProbePoint]:
        found: list[ProbePoint] = []
        for town in self.towns:
            for segment, (_, client) in SEGMENT_LAB_NAMES.items():
                spec = self.topo.client(f"{town}-{client}")
                point = ProbePoint(town, segment, spec.address.ip, spec.name)
                self._entry[point] = in_netns(names.client_ns(self.topo.prefix, spec.name))
                found.append(point)
            server = next((c for c in self.topo.containers if c.site == town), None)
            if server is not None:
                point = ProbePoint(town, "lan", server.address.ip, server.name)
                self._entry[point] = ["nsenter", f"--net=/proc/{self._init_pid(server.name)}/ns/net"]
                found.append(point)
        return found

    def _init_pid(self, container: str) -> int:
        name = names.container_name(self.topo.prefix, container)
        pid = run(["lxc-info", "-n", name, "-p", "-H"], check=False, timeout=15).stdout.strip()
        if not pid.isdigit():
            raise LabError(f"container {container} is not running: cannot probe from the town hall LAN")
        return int(pid)

    def probe(self, point: ProbePoint, targets: Sequence[Target]) -> dict[str, str]:
        probes = [Probe(t.protocol, str(t.address), t.port, str(point.address)) for t in targets]
        outcomes = probe_from(self._entry[point], probes, self.timeout)
        return {t.key: outcomes[p.key] for t, p in zip(targets, probes, strict=True)}

    def ask_as(self, town: str, service: tuple[IPv4Address, int], requests: Sequence[TenantRequest]) -> dict[str, int]:
        point = next(p for p in self._entry if p.town == town and p.segment == "mynumber")
        ca, identity = str(self.pki.ca_cert_path), str(self.pki.town_identity(town))
        address, port = service
        probes = [
            Probe("https", str(address), port, str(point.address), r.method, r.path, ca, identity) for r in requests
        ]
        outcomes = probe_from(self._entry[point], probes, self.timeout)
        return {
            r.key: int(outcomes[p.key][5:]) if outcomes[p.key].startswith("http ") else 0
            for r, p in zip(requests, probes, strict=True)
        }
