"""The order of stacks and their parallelism: dc, then wan, then the towns in parallel (destroy:
the reverse), each stack in its own worker process and work directory.

A stack whose operation fails stops the later waves of `up` and `destroy` (a town needs the DC and
WAN outputs; the DC must outlive the towns); `preview` and `outputs` run every wave regardless.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..naming import DC_SCOPE, WAN_SCOPE, StackId
from .worker import NO_CLI

OPERATIONS = ("preview", "up", "destroy", "outputs")
STOP_ON_FAILURE = ("up", "destroy")
REPO = Path(__file__).resolve().parents[2]
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


class NoPulumiCli(RuntimeError):
    """No `pulumi` executable on PATH."""


class NotConfigured(ValueError):
    """The state backend or the secrets passphrase is not set: nothing was run."""


@dataclass
class StackResult:
    stack: str
    op: str
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False


def waves(op: str, env: str, scopes: Sequence[str]) -> list[list[StackId]]:
    """The stacks of `scopes` in the order they run; the stacks of one wave run in parallel."""
    ordered = [
        [StackId(env, s) for s in scopes if s == DC_SCOPE],
        [StackId(env, s) for s in scopes if s == WAN_SCOPE],
        [StackId(env, s) for s in scopes if s not in (DC_SCOPE, WAN_SCOPE)],
    ]
    if op == "destroy":
        ordered.reverse()
    return [w for w in ordered if w]


def require_cli(search_path: str | None = None) -> str:
    path = shutil.which("pulumi", path=search_path)
    if path is None:
        raise NoPulumiCli(NO_CLI)
    return path


def require_settings(environ: dict[str, str]) -> None:
    if not environ.get("PULUMI_BACKEND_URL"):
        raise NotConfigured(
            "no state backend: set PULUMI_BACKEND_URL (e.g. file:///var/lib/municloud/pulumi-state or an "
            "s3:// bucket), or pass --backend"
        )
    if not any(environ.get(v) for v in PASSPHRASE_VARS):
        raise NotConfigured("no secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE")


def make_work_dir(root: Path, stack: StackId, repo: Path = REPO) -> Path:
    """A directory of the stack's own: the project file, and links to the program and the venv.

    Pulumi.yaml names `stacks/` and `.venv` relative to itself, so links keep them valid; the
    stack's config (stackConfigDir: stacks/config) stays the repository's own.
    """
    work = root / stack.name
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "Pulumi.yaml", work / "Pulumi.yaml")
    for name in ("stacks", ".venv", "inventory"):
        link = work / name
        if not link.exists():
            link.symlink_to(repo / name)
    return work


def run_stacks(
    op: str,
    env: str,
    scopes: Sequence[str],
    *,
    parallel: int = 4,
    policy_pack: Path | None = REPO / "stacks" / "policy",
    environ: dict[str, str] | None = None,
    on_done: Callable[[StackResult], None] = lambda _: None,
) -> list[StackResult]:
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation '{op}' (one of {', '.join(OPERATIONS)})")
    environ = dict(os.environ if environ is None else environ)
    require_cli(environ.get("PATH"))  # the PATH the workers will have
    require_settings(environ)
    results: list[StackResult] = []
    with tempfile.TemporaryDirectory(prefix="municloud-stacks-") as tmp:
        failed = False
        for wave in waves(op, env, scopes):
            if failed and op in STOP_ON_FAILURE:
                for stack in wave:
                    skipped = StackResult(stack.name, op, False, error="skipped: an earlier stack failed", skipped=True)
                    results.append(skipped)
                    on_done(skipped)
                continue

            def one(stack: StackId) -> StackResult:
                result = _run_worker(op, stack, Path(tmp), policy_pack if op in ("preview", "up") else None, environ)
                on_done(result)
                return result

            with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
                done = list(pool.map(one, wave))
            results += done
            failed = failed or not all(r.ok for r in done)
    return results


def _run_worker(op: str, stack: StackId, tmp: Path, policy_pack: Path | None, environ: dict[str, str]) -> StackResult:
    work = make_work_dir(tmp / "work", stack)
    result_file = tmp / f"{stack.name}.{op}.json"
    argv = [sys.executable, "-m", "stacks.automation.worker", op, stack.name, str(work), str(result_file)]
    if policy_pack is not None:
        argv.append(str(policy_pack))
    log = tmp / f"{stack.name}.{op}.log"
    with log.open("wb") as out:
        code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=environ, cwd=REPO, check=False).returncode
    if not result_file.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        return StackResult(stack.name, op, False, error=f"worker exited {code}: " + " | ".join(tail))
    data = json.loads(result_file.read_text(encoding="utf-8"))
    return StackResult(stack.name, op, bool(data["ok"]), data["changes"], data["outputs"], data["error"])
