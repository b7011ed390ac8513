"""The containers' apt proxy: an apt-cacher-ng process that the lab starts and stops itself,
listening only on the operations center's management address, fetching from the Debian mirror this
machine is configured with (/etc/apt/sources.list*). Its cache outlives the lab (outside the repo)."""

from __future__ import annotations

import socket
import subprocess
from ipaddress import IPv4Address
from pathlib import Path

from lab.apt_sources import debian_mirrors
from lab.state import LabState
from lab.util import LabError
from toolkit.processes import ProcRef, stop_processes, wait_until

ACNG = "/usr/sbin/apt-cacher-ng"
DEFAULT_CACHE = Path("/var/cache/municloud/apt-cacher-ng")
PROCESS_KEY = "apt-proxy"


def _host(uri: str) -> str:
    return uri.split("://", 1)[-1].rstrip("/")


class AptProxy:
    def __init__(self, state: LabState, address: IPv4Address, port: int, cache_dir: Path = DEFAULT_CACHE):
        self.state = state
        self.address = address
        self.port = port
        self.cache_dir = cache_dir
        self.conf_dir = state.dir / "apt-cacher-ng"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def ref(self) -> ProcRef | None:
        rec = self.state.data["processes"].get(PROCESS_KEY)
        if rec:
            ref = ProcRef.from_json(rec)
            if ref.alive():
                return ref
        return None

    def _write_config(self) -> None:
        m = debian_mirrors()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "backends_debian").write_text(m.mirror.rstrip("/") + "/\n")
        (self.conf_dir / "backends_debian_security").write_text(m.security.rstrip("/") + "/\n")
        log_dir = self.state.dir / "log" / "apt-cacher-ng"
        log_dir.mkdir(parents=True, exist_ok=True)
        sec_aliases = " ".join(
            sorted({_host(m.security), "security.debian.org", "deb.debian.org/debian-security", "/debian-security"})
        )
        (self.conf_dir / "acng.conf").write_text(
            f"CacheDir: {self.cache_dir}\n"
            f"LogDir: {log_dir}\n"
            "SupportDir: /usr/lib/apt-cacher-ng\n"
            f"Port: {self.port}\n"
            f"BindAddress: {self.address}\n"
            f"SocketPath: {self.conf_dir / 'socket'}\n"
            f"PidFile: {self.conf_dir / 'pid'}\n"
            "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian\n"
            f"Remap-secdeb: {sec_aliases} ; file:backends_debian_security\n"
            "ReportPage: acng-report.html\n"
            "ExThreshold: 4\n"
            "ForeGround: 1\n"
            "PassThroughPattern: ^$\n"  # no CONNECT tunnels: the containers reach nothing else
        )

    def listening(self) -> bool:
        try:
            with socket.create_connection((str(self.address), self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def ensure(self) -> None:
        if self.ref() and self.listening():
            return
        self.stop()
        self._write_config()
        log = self.state.dir / "log" / "apt-cacher-ng.out"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [ACNG, "-c", str(self.conf_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ref = ProcRef.of(proc.pid)
        if ref is None:
            raise LabError(f"apt-cacher-ng exited at once (see {log})")
        self.state.set_process(PROCESS_KEY, {**ref.to_json(), "what": f"apt-cacher-ng -c {self.conf_dir}"})
        if not wait_until(self.listening, 10, 0.05):
            raise LabError(f"apt-cacher-ng is not listening on {self.url} (see {log})")

    def stop(self) -> None:
        ref = self.ref()
        if ref:
            stop_processes([ref], grace=3.0)
        self.state.set_process(PROCESS_KEY, None)
