"""The containers' base image: a Debian bookworm rootfs built once with debootstrap and cached.

The cache lives outside the repo (default /var/cache/municloud/base/<hash>/rootfs), keyed by a hash
of the recipe below: change the recipe (packages, customisation script) and the next `up` rebuilds.
Containers are overlayfs clones of the cached rootfs, which is never modified once built.
The image knows nothing of a lab: addresses, keys, hostnames and the apt proxy are written into each
clone's own overlay layer (see containers.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.apt_sources import DebianMirrors, debian_mirrors
from lab.util import LabError, run

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
    "acl",
    "python3-yaml",
    "python3-prometheus-client",
    "python3-psycopg2",
    "postgresql",
    "prometheus-node-exporter",
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


def ensure_base_image(
    cache_dir: Path = DEFAULT_CACHE,
    log: Callable[[str], None] = lambda _msg: None,
) -> BaseImage:
    """Return the cached base image for the current recipe, building it first if it is missing."""
    h = recipe_hash()
    final = cache_dir / h
    if (final / "recipe.json").is_file() and (final / "rootfs" / "usr/sbin/sshd").exists():
        return BaseImage(final / "rootfs", h, None)
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = cache_dir / f"{h}.building"
    if work.exists():
        shutil.rmtree(work)
    rootfs = work / "rootfs"
    rootfs.mkdir(parents=True)
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
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    if not (final / "rootfs" / "usr/sbin/sshd").exists():
        raise LabError(f"base image at {final} has no sshd after the build")
    return BaseImage(final / "rootfs", h, time.monotonic() - started)
