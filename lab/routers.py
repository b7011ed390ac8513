"""Routers: one FRRouting instance per router (pathspace `-N <ns>`) in its own network and UTS
namespace, with its own sshd on the management network where the user `netops` lands in vtysh and
`root` in the router's packet filter (lab/router_filter.py: FRR filters routes, not packets), and
nothing else: the two are the router's command lines, as a real router has one.

Day-0 only: hostname, interfaces and their addresses, management access. Routing is pushed later
(e.g. by Netmiko), as on real routers; a running router's saved config is never overwritten.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from lab import names
from lab import netns as nx
from lab.state import LabState
from lab.topology import MGMT_IFNAME, RouterSpec, Topology
from lab.util import LabError, run
from toolkit.processes import ProcRef, read_pidfile, stop_processes, wait_until

FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
FRR_LOG = Path("/var/log/frr")
FRRINIT = "/usr/lib/frr/frrinit.sh"
SSHD = "/usr/sbin/sshd"
VTYSH = "/usr/bin/vtysh"
NETOPS_USER = "netops"
FILTER_USER = "root"  # nftables needs it; sshd's ForceCommand gives it the filter program and nothing else
FILTER_PROGRAM = Path(__file__).resolve().parent / "router_filter.py"
FRR_DAEMONS = ("zebra", "bgpd", "staticd", "bfdd")


def day0_config(topo: Topology, spec: RouterSpec) -> str:
    ns = names.router_ns(topo.prefix, spec.name)
    lines = [
        "frr defaults traditional",
        f"hostname {spec.hostname}",
        f"log file {FRR_LOG / (ns + '.log')}",
        "service integrated-vtysh-config",
        "!",
    ]
    if spec.loopbacks:
        lines += ["interface lo", *(f" ip address {a}" for a in spec.loopbacks), "exit", "!"]
    lines += [f"interface {MGMT_IFNAME}", " description management", f" ip address {spec.mgmt_address}", "exit", "!"]
    for link in topo.links:
        for end in link.endpoints:
            if end.router == spec.name:
                peer = link.b if end is link.a else link.a
                lines += [
                    f"interface {end.ifname}",
                    f" description {link.kind} {link.name} to {peer.router}",
                    f" ip address {end.address}",
                    "exit",
                    "!",
                ]
    for lan in topo.lans:
        if lan.router == spec.name:
            lines += [f"interface {lan.ifname}", f" description lan {lan.name}", f" ip address {lan.gateway}"]
            lines += ["exit", "!"]
    lines += ["line vty", "exit", "!", "end"]
    return "\n".join(lines) + "\n"


def _daemons_file() -> str:
    enabled = {"bgpd", "bfdd", "staticd"}
    lines = [f"{d}={'yes' if d in enabled else 'no'}" for d in ("bgpd", "ospfd", "ospf6d", "ripd", "ripngd")]
    lines += [f"{d}={'yes' if d in enabled else 'no'}" for d in ("isisd", "pimd", "ldpd", "nhrpd", "eigrpd")]
    lines += [f"{d}={'yes' if d in enabled else 'no'}" for d in ("babeld", "sharpd", "pbrd", "staticd", "bfdd")]
    lines += ["fabricd=no", "vrrpd=no", "pathd=no", "vtysh_enable=yes"]
    for d in FRR_DAEMONS:
        lines.append(f'{d}_options="-A 127.0.0.1{" -s 90000000" if d == "zebra" else ""}"')
    return "\n".join(lines) + "\n"


def ensure_netops_user(home: Path) -> None:
    """The login user of the routers' sshd: groups frr and frrvty (vtysh), no password, key only.

    Labs of other slots come up at the same time (parallel tests, a benchmark beside them) and share
    this one host user: without the lock both saw no user and the second `useradd` failed."""
    home.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(home.parent / ".netops-user.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks a few ms at most; the kernel drops it if we die
        _create_netops_user(home)
    finally:
        os.close(fd)


def _create_netops_user(home: Path) -> None:
    try:
        pwd.getpwnam(NETOPS_USER)
    except KeyError:
        run(
            [
                "useradd",
                "--system",
                "--home-dir",
                str(home),
                "--create-home",
                "--shell",
                "/bin/sh",
                "--groups",
                "frr,frrvty",
                NETOPS_USER,
            ]
        )
        run(["usermod", "-p", "*", NETOPS_USER])  # no password, but not locked: key logins work
    groups = {g.gr_name for g in grp.getgrall() if NETOPS_USER in g.gr_mem}
    if not {"frr", "frrvty"} <= groups:
        run(["usermod", "-a", "-G", "frr,frrvty", NETOPS_USER])


class Routers:
    def __init__(self, state: LabState, topo: Topology, keys_dir: Path, log_dir: Path) -> None:
        self.state = state
        self.topo = topo
        self.prefix = topo.prefix
        self.keys_dir = keys_dir
        self.log_dir = log_dir

    def ns(self, router: str) -> str:
        return names.router_ns(self.prefix, router)

    def sshd_dir(self, router: str) -> Path:
        return self.state.dir / "routers" / router

    def filter_command(self, router: str) -> list[str]:
        """The router's packet filter program, with its table and saved filters (kept beside the saved
        FRR config, so both survive the router's restart and go with `lab down`)."""
        ns = self.ns(router)
        table = names.nft_table(self.prefix, "filter")
        saved = FRR_ETC / ns / "filter.conf"
        return [sys.executable, "-I", str(FILTER_PROGRAM), "--table", table, "--saved", str(saved)]

    def boot_filters(self, router: str) -> None:
        """What a router does when it boots: load its saved packet filters (none saved: none)."""
        ns = self.ns(router)
        nx.in_ns(ns, *self.filter_command(router), "boot")
        self.state.add("nft_tables", {"ns": ns, "family": "inet", "name": names.nft_table(self.prefix, "filter")})

    # ---- network plumbing -------------------------------------------------------------------------
    def ensure_namespace(self, spec: RouterSpec) -> None:
        ns = self.ns(spec.name)
        self.state.add("namespaces", ns)
        nx.ensure_ns(ns, forwarding=True)
        port = names.mgmt_port(self.prefix, spec.name)
        self.state.add("links", port)
        nx.ensure_veth(None, port, ns, MGMT_IFNAME)
        nx.set_master(None, port, self.topo.mgmt_bridge)
        nx.set_up(None, port)
        nx.ensure_addresses(ns, MGMT_IFNAME, [spec.mgmt_address])
        nx.set_up(ns, MGMT_IFNAME)
        nx.ensure_addresses(ns, "lo", list(spec.loopbacks))
        self._mgmt_guard(ns)

    def _mgmt_guard(self, ns: str) -> None:
        """The management interface is a management plane only: nothing is forwarded to or from it."""
        table = names.nft_table(self.prefix, "mgmt_guard")
        if nx.in_ns(ns, "nft", "list", "table", "inet", table, check=False):
            return
        rules = (
            f"table inet {table} {{\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0; policy accept;\n"
            f'    iifname "{MGMT_IFNAME}" drop\n'
            f'    oifname "{MGMT_IFNAME}" drop\n'
            "  }\n"
            "}\n"
        )
        nx.in_ns(ns, "nft", "-f", "-", input=rules)
        self.state.add("nft_tables", {"ns": ns, "family": "inet", "name": table})

    # ---- FRR --------------------------------------------------------------------------------------
    def write_config(self, spec: RouterSpec) -> None:
        """Write the day-0 config and daemons file, unless the router already has a config."""
        ns = self.ns(spec.name)
        etc = FRR_ETC / ns
        frr = pwd.getpwnam("frr")
        etc.mkdir(parents=True, exist_ok=True)
        os.chown(etc, frr.pw_uid, frr.pw_gid)
        os.chmod(etc, 0o750)
        files = {
            "daemons": (_daemons_file(), False),
            "vtysh.conf": ("service integrated-vtysh-config\n", False),
            "frr.conf": (day0_config(self.topo, spec), True),
        }
        for fname, (text, keep) in files.items():
            path = etc / fname
            if keep and path.exists() and path.stat().st_size > 0:
                continue
            path.write_text(text)
            os.chown(path, frr.pw_uid, frr.pw_gid)
            os.chmod(path, 0o640)
        FRR_LOG.mkdir(parents=True, exist_ok=True)
        os.chown(FRR_LOG, frr.pw_uid, frr.pw_gid)

    def frr_pids(self, router: str) -> dict[str, ProcRef]:
        out: dict[str, ProcRef] = {}
        run_dir = FRR_RUN / self.ns(router)
        for daemon in ("watchfrr", *FRR_DAEMONS):
            pid = read_pidfile(run_dir / f"{daemon}.pid")
            ref = ProcRef.of(pid) if pid else None
            if ref and _cmd_has(pid, f"{self.ns(router)}"):
                out[daemon] = ref
        return out

    def frr_running(self, router: str) -> bool:
        pids = self.frr_pids(router)
        return all(d in pids for d in ("watchfrr", *FRR_DAEMONS))

    def start_frr(self, spec: RouterSpec) -> bool:
        """Start FRR unless it runs; whether it was started (booted) now."""
        ns = self.ns(spec.name)
        if self.frr_running(spec.name):
            return False
        self.stop_frr(spec.name)  # a half-running instance: start clean
        run_dir = FRR_RUN / ns
        shutil.rmtree(run_dir, ignore_errors=True)
        self.write_config(spec)
        script = f"hostname {spec.hostname} && exec {FRRINIT} start {ns}"
        run(["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script], timeout=60)
        if not wait_until(lambda: self.frr_running(spec.name), 20, 0.1):
            raise LabError(f"router {spec.name}: FRR did not start (see {FRR_LOG / (ns + '.log')})")
        for daemon, ref in self.frr_pids(spec.name).items():
            self.state.set_process(f"frr:{spec.name}:{daemon}", {**ref.to_json(), "what": f"{daemon} -N {ns}"})
        return True

    def stop_frr(self, router: str) -> list[ProcRef]:
        """Stop FRR by pid (watchfrr first, so it does not restart the others); return the refs."""
        refs = self._recorded(f"frr:{router}:") + list(self.frr_pids(router).values())
        refs = sorted(set(refs), key=lambda r: r.pid)
        left = stop_processes(refs, grace=5.0)
        for key in [k for k in self.state.data["processes"] if k.startswith(f"frr:{router}:")]:
            self.state.set_process(key, None)
        if left:
            raise LabError(f"router {router}: FRR processes {[r.pid for r in left]} did not stop")
        shutil.rmtree(FRR_RUN / self.ns(router), ignore_errors=True)
        return refs

    def _recorded(self, key_prefix: str) -> list[ProcRef]:
        out = []
        for key, rec in list(self.state.data["processes"].items()):
            if key.startswith(key_prefix):
                ref = ProcRef.from_json(rec)
                if ref.alive():
                    out.append(ref)
        return out

    # ---- sshd -------------------------------------------------------------------------------------
    def sshd_ref(self, router: str) -> ProcRef | None:
        refs = self._recorded(f"sshd:{router}")
        return refs[0] if refs else None

    def start_sshd(self, spec: RouterSpec) -> None:
        if self.sshd_ref(spec.name):
            return
        zebra = self.frr_pids(spec.name).get("zebra")
        if zebra is None:
            raise LabError(f"router {spec.name}: no zebra to join for sshd")
        d = self.sshd_dir(spec.name)
        d.mkdir(parents=True, exist_ok=True)
        hostkey = d / "ssh_host_ed25519_key"
        if not hostkey.exists():
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"{spec.hostname} lab host key",
                    "-f",
                    str(hostkey),
                ]
            )
        conf = d / "sshd_config"
        conf.write_text(
            f"ListenAddress {spec.mgmt_address.ip}:22\n"
            f"HostKey {hostkey}\n"
            f"PidFile {d / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.keys_dir / 'authorized_keys'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"PermitRootLogin prohibit-password\nAllowUsers {NETOPS_USER} {FILTER_USER}\n"
            "X11Forwarding no\nAllowTcpForwarding no\nPermitTTY no\n"
            "AllowAgentForwarding no\nPrintMotd no\nPrintLastLog no\nUseDNS no\nLoginGraceTime 30\n"
            "MaxStartups 30:30:100\n"
            f"Match User {NETOPS_USER}\n  ForceCommand {VTYSH} -N {self.ns(spec.name)}\n  PermitTTY yes\n"
            f"Match User {FILTER_USER}\n  ForceCommand {' '.join(self.filter_command(spec.name))}\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = self.log_dir / f"sshd-{spec.name}.log"
        proc = subprocess.Popen(
            ["nsenter", "-t", str(zebra.pid), "--uts", "--net", SSHD, "-D", "-f", str(conf), "-E", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ref = ProcRef.of(proc.pid)
        if ref is None:
            raise LabError(f"router {spec.name}: sshd exited at once (see {log})")
        self.state.set_process(f"sshd:{spec.name}", {**ref.to_json(), "what": f"sshd {conf}"})
        ns = self.ns(spec.name)
        listening = wait_until(
            lambda: f"{spec.mgmt_address.ip}:22" in nx.in_ns(ns, "ss", "-Hltn", check=False), 10, 0.05
        )
        if not listening:
            raise LabError(f"router {spec.name}: sshd is not listening on {spec.mgmt_address.ip}:22 (see {log})")

    def stop_sshd(self, router: str) -> None:
        refs = self._recorded(f"sshd:{router}")
        stop_processes(refs, grace=3.0)
        self.state.set_process(f"sshd:{router}", None)

    # ---- whole router -----------------------------------------------------------------------------
    def ensure(self, spec: RouterSpec) -> None:
        self.ensure_namespace(spec)

    def start(self, spec: RouterSpec) -> None:
        if self.start_frr(spec):
            self.boot_filters(spec.name)  # a running router keeps the filters it runs
        self.start_sshd(spec)

    def stop(self, router: str) -> None:
        self.stop_sshd(router)
        self.stop_frr(router)

    def running(self, router: str) -> bool:
        return self.frr_running(router) and self.sshd_ref(router) is not None


def _cmd_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
