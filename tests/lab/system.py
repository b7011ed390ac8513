"""What is on the system, read with the system's own tools (ip, nft, lxc-ls, /proc), independently
of the lab engine and its state file: the lab tests judge `down()` with these."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def sh(*cmd: str, timeout: float = 30, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def lab_objects(prefix: str, state_dir: Path) -> list[str]:
    """Every trace of a lab with this prefix: empty after a good `down()`."""
    found: list[str] = []
    dash = f"{prefix}-"
    for line in sh("ip", "netns", "list").stdout.splitlines():
        if line.split() and line.split()[0].startswith(dash):
            found.append(f"netns {line.split()[0]}")
    for link in json.loads(sh("ip", "-j", "link", "show").stdout or "[]"):
        if link["ifname"].startswith(dash):
            found.append(f"link {link['ifname']}")
    for line in sh("nft", "list", "tables").stdout.splitlines():
        if line.split()[-1].startswith(f"{prefix}_"):
            found.append(line)
    for name in sh("lxc-ls", "-1").stdout.split():
        if name.startswith(dash):
            found.append(f"container {name}")
    for d in (Path("/var/lib/lxc"), Path("/etc/frr"), Path("/var/run/frr")):
        if d.is_dir():
            found += [f"dir {p}" for p in d.iterdir() if p.name.startswith(dash)]
    markers = [f"-N {prefix}-r-".encode(), f"{state_dir}/".encode(), f" {prefix}-c-".encode()]
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                continue  # exited, waiting for its parent to reap it: not running
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
            cgroup = Path(f"/proc/{entry.name}/cgroup").read_text()
        except (OSError, ValueError):
            continue
        if any(m in cmd for m in markers) or f".{prefix}-c-" in cgroup:
            found.append(f"process {entry.name}: {cmd.decode(errors='replace')[:100]}")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mnt = line.split()[4]
        if f"/{dash}" in mnt or f".{dash}" in mnt:
            found.append(f"mount {mnt}")
    cg = Path("/sys/fs/cgroup")
    for ctrl in cg.iterdir():
        if ctrl.is_dir():
            found += [f"cgroup {p}" for p in ctrl.glob(f"lxc.*.{dash}*")]
            found += [f"cgroup {p}" for p in ctrl.glob(f"lxc.pivot/*{dash}*")]
    return found


def ping(ns: str, address: str, count: int = 1, wait: float = 1.0) -> bool:
    proc = sh(
        "ip",
        "netns",
        "exec",
        ns,
        "ping",
        "-n",
        "-q",
        "-c",
        str(count),
        "-W",
        str(wait),
        address,
        timeout=count * wait + 10,
    )
    return proc.returncode == 0


def ping_until(ns: str, address: str, timeout: float = 10.0) -> bool:
    """True as soon as one ping gets through (routes may take a moment to settle)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(ns, address, wait=0.5):
            return True
    return False


def link_flags(ns: str, ifname: str) -> list[str]:
    out = sh("ip", "-n", ns, "-j", "link", "show", "dev", ifname).stdout
    info = json.loads(out or "[]")
    return info[0]["flags"] if info else []
