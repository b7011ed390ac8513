"""The containers' base image: a Debian bookworm rootfs built once with debootstrap and cached.

The cache lives outside the repo (default /var/cache/municloud/base/<hash>/rootfs), keyed by a hash
of the recipe below: change the recipe (packages, customisation script) and the next `up` rebuilds.
Containers are overlayfs clones of the cached rootfs, which is never modified once built.
The image knows nothing of a lab: addresses, keys, hostnames and the apt proxy are written into each
clone's own overlay layer (see containers.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.apt_sources import DebianMirrors, debian_mirrors
from lab.util import LabError, run
from toolkit.processes import ProcRef, wait_until

SUITE = "bookworm"
DEFAULT_CACHE = Path("/var/cache/municloud/base")

# debootstrap's own set: what is needed to boot with systemd and to run apt in the chroot.
BOOTSTRAP_PACKAGES = ("systemd", "systemd-sysv", "dbus", "ifupdown", "iproute2", "ca-certificates")

# Baked in so that the roles provision fast: what Ansible needs on a host, and the roles' packages.
PACKAGES = (
    "openssh-server",
    "sudo",
    "python3",
    "python3-apt",
    "python3-venv",  # an execution node builds its venv from it (playbooks/roles/execution_node)
    "acl",
    "python3-yaml",
    "python3-prometheus-client",
    "python3-psycopg2",
    "postgresql",
    "pgbackrest",
    "prometheus-node-exporter",
    "systemd-timesyncd",
    "iputils-ping",
    "procps",
    "less",
)

# Run in the chroot after the packages are installed. Keep it idempotent-free: it runs once per build.
CUSTOMIZE = r"""
set -eu
# SSH host keys are generated on each container's first boot, never shared through the base.
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/10-municloud-hostkeys.conf <<'X'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
X
# key-only SSH for root (the lab writes its public key into each clone)
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/10-municloud.conf <<'X'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
X
# no background apt in a lab
for unit in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer; do
  ln -sf /dev/null /etc/systemd/system/$unit
done
# units that make no sense in a container
for unit in systemd-timesyncd.service; do ln -sf /dev/null /etc/systemd/system/$unit; done
# PostgreSQL is baked in but only the database roles enable it
systemctl disable postgresql.service >/dev/null 2>&1 || true
# the lab configures the addresses (lxc.net.*): ifupdown only brings up lo
printf 'auto lo\niface lo inet loopback\n' > /etc/network/interfaces
rm -f /etc/network/interfaces.d/* 2>/dev/null || true
# no DNS in the lab
: > /etc/resolv.conf
# each clone gets its own machine-id
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
passwd -l root >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log /var/cache/debconf/*-old
rm -f /usr/sbin/policy-rc.d
"""

RECIPE_VERSION = 1


def recipe() -> dict[str, object]:
    return {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "bootstrap": list(BOOTSTRAP_PACKAGES),
        "packages": list(PACKAGES),
        "customize": CUSTOMIZE,
    }


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BaseImage:
    rootfs: Path
    recipe_hash: str
    built_seconds: float | None  # None when it came from the cache


def _sources_list(m: DebianMirrors) -> str:
    return f"deb {m.mirror} {SUITE} main\ndeb {m.mirror} {SUITE}-updates main\ndeb {m.security} {SUITE}-security main\n"


def _chroot(rootfs: Path, script: str, timeout: float) -> None:
    """Run a shell script in the chroot, with /proc, /sys and /dev mounted in a private mount
    namespace: the mounts vanish with the process, even if it is killed."""
    wrapper = (
        'set -eu; R="$1"; shift\n'
        "mount --make-rprivate /\n"
        'mount -t proc proc "$R/proc"; mount -t sysfs sysfs "$R/sys"\n'
        'mount --rbind /dev "$R/dev"\n'
        'exec chroot "$R" /bin/sh -c "$0"\n'
    )
    run(
        ["unshare", "--mount", "--fork", "sh", "-c", wrapper, script, str(rootfs)],
        timeout=timeout,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"},
    )


def cached_base_image(cache_dir: Path = DEFAULT_CACHE) -> BaseImage | None:
    h = recipe_hash()
    final = cache_dir / h
    if (final / "recipe.json").is_file() and (final / "rootfs" / "usr/sbin/sshd").exists():
        return BaseImage(final / "rootfs", h, None)
    return None


BUILDER_FILE = "builder.json"
BUILD_TIMEOUT = 3000.0


def stop_builders(cache_dir: Path = DEFAULT_CACHE) -> list[int]:
    """Stop any base-image build in progress (its whole process group: debootstrap, chroot apt)
    and remove its unfinished directory. Returns the builders' pids."""
    stopped = []
    for marker in cache_dir.glob(f"*.building/{BUILDER_FILE}") if cache_dir.is_dir() else []:
        try:
            ref = ProcRef.from_json(json.loads(marker.read_text()))
        except (OSError, ValueError, KeyError):
            ref = None
        if ref is not None:
            _kill_group(ref.pid)
            stopped.append(ref.pid)
        _safe_rmtree(marker.parent)
    return stopped


def _safe_rmtree(path: Path) -> None:
    """Remove a build directory, but never through a mount point (a bind-mounted /dev...)."""
    prefix = str(path.resolve()) + "/"
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mnt in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        run(["umount", "-l", mnt], check=False)
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    if any(m.startswith(prefix) for m in mounts):
        raise LabError(f"{path} still has mounts under it; not removing it")
    shutil.rmtree(path, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    """SIGKILL every process of a process group (a builder is its own session leader)."""

    def members() -> list[int]:
        out = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    fields = stat[stat.rindex(")") + 2 :].split()
                    if int(fields[2]) == pgid and fields[0] != "Z":
                        out.append(int(entry.name))
        return out

    for _ in range(3):
        pids = members()
        if not pids:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        wait_until(lambda: not members(), 5.0, 0.05)


def ensure_base_image(
    cache_dir: Path = DEFAULT_CACHE,
    log: Callable[[str], None] = lambda _msg: None,
) -> BaseImage:
    """Return the cached base image for the current recipe, building it first if it is missing.

    The build runs in its own process (a session leader): an interrupted `lab up` does not leave a
    half-killed debootstrap behind, and `lab down` stops a build in progress (`stop_builders`).
    A build already running (started by an earlier, interrupted `up`) is waited for."""
    cached = cached_base_image(cache_dir)
    if cached:
        return cached
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    marker = cache_dir / f"{recipe_hash()}.building" / BUILDER_FILE
    ref = None
    with contextlib.suppress(OSError, ValueError, KeyError):
        ref = ProcRef.from_json(json.loads(marker.read_text()))
    if ref is None or not ref.alive():
        stop_builders(cache_dir)
        log("building the base image (debootstrap)")
        repo = Path(__file__).resolve().parents[1]
        out = open(cache_dir / "build.log", "w")  # noqa: SIM115 (handed to the child)
        with out:
            # in a private mount namespace: debootstrap's mounts (proc, sys, dev) vanish with it
            proc = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    sys.executable,
                    "-m",
                    "lab.base_image",
                    str(cache_dir),
                ],
                cwd=repo,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(repo)},
            )
        ref = ProcRef.of(proc.pid)
    else:
        log(f"waiting for the base-image build already running (pid {ref.pid})")
    if ref is not None and not wait_until(
        lambda: not ref.alive() or cached_base_image(cache_dir) is not None, BUILD_TIMEOUT, 0.5
    ):
        stop_builders(cache_dir)
        raise LabError(f"base image build did not finish in {BUILD_TIMEOUT:.0f} s (see {cache_dir / 'build.log'})")
    wait_until(lambda: ref is None or not ref.alive(), 30, 0.1)
    cached = cached_base_image(cache_dir)
    if cached is None:
        tail = (
            (cache_dir / "build.log").read_text(errors="replace")[-2000:] if (cache_dir / "build.log").exists() else ""
        )
        raise LabError(f"base image build failed (log {cache_dir / 'build.log'}):\n{tail}")
    return BaseImage(cached.rootfs, cached.recipe_hash, time.monotonic() - started)


def build_base_image(
    cache_dir: Path = DEFAULT_CACHE,
    log: Callable[[str], None] = lambda _msg: None,
) -> BaseImage:
    """Build the base image in this process (what the builder process runs)."""
    h = recipe_hash()
    final = cache_dir / h
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = cache_dir / f"{h}.building"
    if work.exists():
        _safe_rmtree(work)
    rootfs = work / "rootfs"
    rootfs.mkdir(parents=True)
    me = ProcRef.of(os.getpid())
    assert me is not None
    (work / BUILDER_FILE).write_text(json.dumps(me.to_json()))
    mirrors = debian_mirrors()
    try:
        log(f"debootstrap {SUITE} from {mirrors.mirror}")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BOOTSTRAP_PACKAGES)}",
                SUITE,
                str(rootfs),
                mirrors.mirror,
            ],
            timeout=1500,
        )
        (rootfs / "etc/apt/sources.list").write_text(_sources_list(mirrors))
        policy = rootfs / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        log(f"installing {len(PACKAGES)} packages into the base image")
        _chroot(
            rootfs,
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends " + " ".join(PACKAGES),
            timeout=1500,
        )
        log("customising the base image")
        _chroot(rootfs, CUSTOMIZE, timeout=300)
        (work / "recipe.json").write_text(json.dumps({**recipe(), "hash": h}, indent=2))
        (work / BUILDER_FILE).unlink()
    except BaseException:
        _safe_rmtree(work)
        raise
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    if not (final / "rootfs" / "usr/sbin/sshd").exists():
        raise LabError(f"base image at {final} has no sshd after the build")
    return BaseImage(final / "rootfs", h, time.monotonic() - started)


if __name__ == "__main__":  # the builder process started by ensure_base_image()
    image = build_base_image(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE, log=print)
    print(f"built {image.rootfs} in {image.built_seconds:.0f} s", flush=True)
