"""Servers: privileged LXC system containers (Debian bookworm, systemd as init, sshd), each an
overlayfs clone of the cached base image.

eth0 is on the management bridge (root namespace); eth1 is on a LAN: LXC creates its veth in the
root namespace and the container's `script.up` hook moves the host end into the LAN's namespace and
onto its switch at once, so the root namespace never carries data-plane traffic. The hook runs at
every start, whoever starts the container.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import uuid
from pathlib import Path

from lab import names
from lab.base_image import BaseImage
from lab.state import LabState
from lab.topology import ContainerSpec, Topology
from lab.util import LabError, run
from toolkit.processes import wait_until

LXC_PATH = Path("/var/lib/lxc")


def lxc_state(name: str) -> str:
    """RUNNING, STOPPED, STARTING, ... or ABSENT."""
    if not (LXC_PATH / name / "config").exists():
        return "ABSENT"
    proc = run(["lxc-info", "-n", name, "-s", "-H"], check=False, timeout=15)
    return proc.stdout.strip() or "ABSENT"


def list_containers(prefix: str) -> list[str]:
    out = run(["lxc-ls", "-1"], check=False, timeout=20).stdout.split()
    start = f"{prefix}-" if prefix else ""
    found = {n for n in out if n.startswith(start)}
    if LXC_PATH.is_dir():
        found |= {p.name for p in LXC_PATH.iterdir() if p.name.startswith(start) and (p / "config").exists()}
    return sorted(found)


def ssh_banner(address: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


class Containers:
    def __init__(self, state: LabState, topo: Topology, keys_dir: Path, proxy_url: str) -> None:
        self.state = state
        self.topo = topo
        self.prefix = topo.prefix
        self.keys_dir = keys_dir
        self.proxy_url = proxy_url
        self.log_dir = state.dir / "log"

    def name(self, spec: ContainerSpec) -> str:
        return names.container_name(self.prefix, spec.name)

    def _config(self, spec: ContainerSpec, base: BaseImage, cdir: Path) -> str:
        lines = [
            "# written by municloud lab: an overlayfs clone of the lab's base image",
            "lxc.include = /usr/share/lxc/config/common.conf",
            "lxc.arch = linux64",
            f"lxc.uts.name = {spec.hostname}",
            f"lxc.rootfs.path = overlay:{base.rootfs}:{cdir / 'delta0'}",
            "lxc.apparmor.profile = unconfined",
            "lxc.signal.halt = SIGRTMIN+3",
            "lxc.signal.reboot = SIGTERM",
            "lxc.start.auto = 0",
            "lxc.sysctl.net.ipv6.conf.all.disable_ipv6 = 1",
            "lxc.sysctl.net.ipv6.conf.default.disable_ipv6 = 1",
            "lxc.net.0.type = veth",
            f"lxc.net.0.link = {self.topo.mgmt_bridge}",
            f"lxc.net.0.veth.pair = {names.container_mgmt_port(self.prefix, spec.name)}",
            "lxc.net.0.name = eth0",
            "lxc.net.0.flags = up",
            f"lxc.net.0.ipv4.address = {spec.mgmt_address}",
            f"lxc.net.0.script.up = {cdir / 'mgmt-up'}",
        ]
        if spec.lan is not None:  # a management-only container (an execution node) has eth0 alone
            lines += [
                "lxc.net.1.type = veth",
                f"lxc.net.1.veth.pair = {names.container_lan_port(self.prefix, spec.name)}",
                "lxc.net.1.name = eth1",
                "lxc.net.1.flags = up",
                f"lxc.net.1.ipv4.address = {spec.address}",
                f"lxc.net.1.ipv4.gateway = {self.topo.lan(spec.lan).gateway.ip}",
                f"lxc.net.1.script.up = {cdir / 'lan-up'}",
            ]
        return "\n".join([*lines, ""])

    def _hooks(self, spec: ContainerSpec, cdir: Path) -> None:
        hooks = {
            # args: container section(net) up veth host-ifname
            "mgmt-up": '#!/bin/sh\nh="${5:-$LXC_NET_PEER}"\n'
            'echo 1 > "/proc/sys/net/ipv6/conf/$h/disable_ipv6" 2>/dev/null\nexit 0\n',
        }
        if spec.lan is not None:
            lan_ns = names.lan_ns(self.prefix, spec.lan)
            bridge = names.lan_bridge(self.prefix, spec.lan)
            hooks["lan-up"] = (
                '#!/bin/sh\nset -e\nh="${5:-$LXC_NET_PEER}"\n'
                f'ip link set dev "$h" netns {lan_ns}\n'
                f'ip -n {lan_ns} link set dev "$h" master {bridge} up\n'
            )
        for fname, text in hooks.items():
            path = cdir / fname
            path.write_text(text)
            path.chmod(0o755)

    def _write_delta(self, spec: ContainerSpec, base: BaseImage, delta: Path) -> None:
        """The clone's own files, in its overlay's upper layer (the base is never written)."""
        pub = (self.keys_dir / "id_ed25519.pub").read_text()
        files = {
            "etc/hostname": (f"{spec.hostname}\n", 0o644),
            "etc/hosts": (f"127.0.0.1 localhost\n127.0.1.1 {spec.hostname}\n", 0o644),
            "etc/machine-id": (uuid.uuid4().hex + "\n", 0o444),
            "root/.ssh/authorized_keys": (pub, 0o600),
            "etc/apt/apt.conf.d/01municloud-proxy": (f'Acquire::http::Proxy "{self.proxy_url}";\n', 0o644),
        }
        for rel, (text, mode) in files.items():
            target = delta / rel
            _mkdirs_like(base.rootfs, delta, Path(rel).parent)
            target.write_text(text)
            target.chmod(mode)

    def ensure_defined(self, spec: ContainerSpec, base: BaseImage) -> bool:
        """Create the container's directory, config, hooks and overlay layer if missing. True if new."""
        name = self.name(spec)
        cdir = LXC_PATH / name
        self.state.add("containers", name)
        cfg = cdir / "config"
        if cfg.exists() and (cdir / "delta0").is_dir():
            want = self._config(spec, base, cdir)
            if cfg.read_text() != want and lxc_state(name) == "STOPPED":
                cfg.write_text(want)  # e.g. the base image was rebuilt: point at the new one
            self._hooks(spec, cdir)
            return False
        cdir.mkdir(parents=True, exist_ok=True)
        cdir.chmod(0o770)
        delta = cdir / "delta0"
        delta.mkdir(exist_ok=True)
        os.chmod(delta, stat.S_IMODE(base.rootfs.stat().st_mode))
        self._write_delta(spec, base, delta)
        self._hooks(spec, cdir)
        cfg.write_text(self._config(spec, base, cdir))
        return True

    def start(self, spec: ContainerSpec) -> None:
        name = self.name(spec)
        st = lxc_state(name)
        if st == "RUNNING":
            return
        log = self.log_dir / f"lxc-{spec.name}.log"
        run(["lxc-start", "-n", name, "-d", "-o", str(log), "-l", "INFO"], timeout=60)
        if not wait_until(lambda: lxc_state(name) == "RUNNING", 30, 0.2):
            raise LabError(f"container {spec.name}: not RUNNING after lxc-start (see {log})")

    def wait_ssh(self, spec: ContainerSpec, timeout: float = 60) -> None:
        addr = str(spec.mgmt_address.ip)
        if not wait_until(lambda: ssh_banner(addr), timeout, 0.25):
            raise LabError(f"container {spec.name}: no SSH on {addr}:22 after {timeout:.0f} s")

    def stop(self, spec: ContainerSpec, kill: bool = False) -> None:
        stop_container(self.name(spec), kill=kill)

    @staticmethod
    def destroy(name: str) -> None:
        """Remove a stopped container's directory (config, hooks, its overlay layer). Never the base."""
        cdir = LXC_PATH / name
        if cdir.is_dir() and not cdir.is_symlink():
            shutil.rmtree(cdir)


def stop_container(name: str, kill: bool = False, timeout: int = 20) -> None:
    """Stop a container: a clean shutdown (systemd halts on SIGRTMIN+3) or `kill`."""
    if lxc_state(name) in ("ABSENT", "STOPPED"):
        return
    cmd = ["lxc-stop", "-n", name, *(["-k"] if kill else ["-t", str(timeout)])]
    run(cmd, check=False, timeout=timeout + 30)
    if lxc_state(name) not in ("ABSENT", "STOPPED"):
        run(["lxc-stop", "-n", name, "-k"], check=False, timeout=30)


def _mkdirs_like(lower: Path, upper: Path, rel: Path) -> None:
    """Create `rel` under `upper`, each level with the mode and owner it has in `lower`."""
    current = Path()
    for part in rel.parts:
        current = current / part
        target = upper / current
        if target.is_dir():
            continue
        target.mkdir()
        src = lower / current
        if src.is_dir():
            st = src.stat()
            os.chmod(target, stat.S_IMODE(st.st_mode))
            os.chown(target, st.st_uid, st.st_gid)
