"""The external services' stand-ins: a process of ours per target (lab/standin_server.py) in the
target's namespace, on the port the policy reaches it on. Recorded in the lab's state like every
process the lab starts, so `lab down` stops it by pid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lab import names
from lab.probes import Probe, in_netns, probe_from
from lab.state import LabState
from lab.topology import StandinSpec, Topology
from lab.util import LabError
from toolkit.processes import ProcRef, stop_processes, wait_until

SERVER = Path(__file__).resolve().parent / "standin_server.py"


def _key(standin: StandinSpec) -> str:
    return f"standin:{standin.name}:{standin.port}"


class Standins:
    def __init__(self, state: LabState, topo: Topology) -> None:
        self.state = state
        self.topo = topo

    def ref(self, standin: StandinSpec) -> ProcRef | None:
        rec = self.state.data["processes"].get(_key(standin))
        ref = ProcRef.from_json(rec) if rec else None
        return ref if ref is not None and ref.alive() else None

    def listening(self, standin: StandinSpec) -> bool:
        ns = names.client_ns(self.topo.prefix, standin.client)
        probe = Probe("tcp", str(self.topo.client(standin.client).address.ip), standin.port)
        return probe_from(in_netns(ns), [probe], timeout=0.5)[probe.key] == "open"

    def ensure(self, standin: StandinSpec) -> bool:
        """Start the stand-in unless it runs; True if it was started."""
        if self.ref(standin):
            return False
        client = self.topo.client(standin.client)
        ns = names.client_ns(self.topo.prefix, standin.client)
        log = self.state.dir / "log" / f"standin-{standin.name}.log"
        command = [
            "ip", "netns", "exec", ns, sys.executable, str(SERVER),
            "--name", standin.name, "--address", str(client.address.ip), "--port", str(standin.port),
        ]  # fmt: skip
        with open(log, "w") as out:
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        ref = ProcRef.of(proc.pid)
        if ref is None:
            raise LabError(f"stand-in {standin.name}: exited at once (see {log})")
        self.state.set_process(_key(standin), {**ref.to_json(), "what": f"stand-in {standin.name} in {ns}"})
        if not wait_until(lambda: self.listening(standin), 10, 0.1):
            raise LabError(f"stand-in {standin.name}: not listening on {client.address.ip}:{standin.port} (see {log})")
        return True

    def stop(self, standin: StandinSpec) -> None:
        ref = self.ref(standin)
        if ref is not None:
            stop_processes([ref], grace=3.0)
        self.state.set_process(_key(standin), None)


__all__ = ["Standins"]
