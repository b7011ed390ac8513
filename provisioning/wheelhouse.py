"""The execution nodes' wheelhouse: what a node installs in its venv, built on the operations machine.

The nodes reach no package index, so the operations machine builds the wheels (`pip wheel`) of the
very versions it runs itself: ansible-core, ansible-runner and mitogen, and the `ansible` package
whose collections the playbooks use (ansible.posix, community.postgresql, ansible.windows), each
pinned to the version installed here (`node_requirements`), with every dependency pinned to this
machine's version too (`node_constraints`), so that a job runs on a node with the same Ansible as
here. `municloud nodes setup` copies the wheelhouse to the nodes (playbooks/roles/execution_node),
which install from it with `pip install --no-index --find-links`.

A wheelhouse is built once per set of pins and Python (its folder is named by their hash) and is
kept; a build stopped half way has no finished marker and is made again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from toolkit.settings import state_dir

# What a node's venv holds, as installed here (the distributions' names).
NODE_PACKAGES = ("ansible-core", "ansible-runner", "mitogen", "ansible")
FINISHED = ".finished"  # written last: a folder without it is an interrupted build
PIP_TAIL_LINES = 15  # of pip's output, in the error of a failed build


def default_wheelhouse_root() -> Path:
    return state_dir() / "wheelhouse"


def python_tag() -> str:
    """The interpreter the wheels are for (a node's python3 must be the same minor version)."""
    return f"{sys.implementation.name}{sys.version_info.major}.{sys.version_info.minor}-{platform.machine()}"


def python_version() -> str:
    """major.minor of this interpreter, as a node's python3 must report it."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _installed(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            f"{name} is not installed on this machine: a node gets the versions installed here (pip install -e .)"
        ) from None


def node_requirements() -> list[str]:
    """The node's packages pinned to the versions installed here: ["ansible-core==2.17.14", ...]."""
    return [f"{name}=={_installed(name)}" for name in NODE_PACKAGES]


def node_constraints() -> list[str]:
    """Every dependency of the node's packages (recursively, as this interpreter's markers select
    them) pinned to the version installed here, sorted: the wheelhouse gets exactly these."""
    pins: dict[str, str] = {}
    todo = [(name, ()) for name in NODE_PACKAGES]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), tuple(sorted(extras)))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not needed here (another platform's, or an extra nobody asked for)
        pins[canonicalize_name(name)] = dist.version
        for requirement in _requirements(dist.requires or (), extras):
            todo.append((requirement.name, tuple(requirement.extras)))
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _requirements(lines: Iterable[str], extras: Iterable[str]) -> Iterable[Requirement]:
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *extras)):
            yield requirement


def wheelhouse_key(requirements: list[str], constraints: list[str]) -> str:
    """The wheelhouse's folder name: a hash of the pins and the interpreter they are built for."""
    text = "\n".join([python_tag(), *requirements, "--", *constraints])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wheelhouse_path(dest_root: Path | None = None) -> Path:
    """Where the wheelhouse of this machine's versions is (built or not)."""
    root = dest_root if dest_root is not None else default_wheelhouse_root()
    return root / wheelhouse_key(node_requirements(), node_constraints())


def is_built(folder: Path) -> bool:
    return (folder / FINISHED).is_file()


def build_wheelhouse(dest_root: Path | None = None) -> Path:
    """The wheelhouse's folder, built first unless it is already (`pip wheel` of the pinned
    requirements under the pinned constraints, from this machine's package index). RuntimeError with
    pip's last lines when pip fails; the folder is then left unfinished, and the next call rebuilds it."""
    requirements, constraints = node_requirements(), node_constraints()
    root = dest_root if dest_root is not None else default_wheelhouse_root()
    folder = root / wheelhouse_key(requirements, constraints)
    if is_built(folder):
        return folder
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted build: start again
    folder.mkdir(parents=True)
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "constraints.txt").write_text("\n".join(constraints) + "\n")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--disable-pip-version-check",
        "--no-input",
        "--wheel-dir",
        str(folder),
        "--constraint",
        str(folder / "constraints.txt"),
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()[-PIP_TAIL_LINES:]
        raise RuntimeError(
            f"pip wheel failed (exit {done.returncode}) building the execution nodes' wheelhouse in {folder}:\n"
            + "\n".join(lines)
        )
    (folder / FINISHED).write_text("\n".join(requirements) + "\n")
    return folder
