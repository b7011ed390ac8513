"""The fiscal-year hand-over on the full lab (350,779 synthetic residents in 18 tenants), run on the
lab provisioning_full brought up and provisioned (the residents are seeded by provisioning):

- `handover export`, `package` and `deliver` of all 18 towns, each timed in its own process as an
  operator runs them, with the peak memory of the largest process (target: under 2 minutes together,
  under 500 MB);
- beside them, the reference a user would compare with: `pg_dump -Fc` of the same 18 schemas on the
  primary, on the same run;
- the synthetic residents' generation (the dataset's files that provisioning loads with COPY),
  timed into a scratch folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from handover.database import DATABASE, Primary
from inventory.environment import BINDING_ENV_VAR, EnvironmentBinding, bind_environment
from inventory.loader import Inventory
from provisioning.residents import APP_ROLE, REMOTE_ROOT, synthetic_dataset
from residents.seeding import dataset_files, schema_of
from toolkit.settings import STATE_DIR_VARIABLE

from .lab_figures import row

TARGET_SECONDS = 120.0
TARGET_MB = 500.0


def measured(env: dict[str, str], *args: str) -> tuple[float, float, int, str]:
    """Run `municloud *args`: (seconds, peak RSS in MB of its largest process, exit code, its output).
    Its own process, its output in a file, reaped with wait4 for its resource usage (communicate()
    would reap it and lose it)."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "municloud.cli.main", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        output.seek(0)
        return seconds, usage.ru_maxrss / 1024, process.returncode, output.read()[-2000:]


def handover_rows(inventory: Inventory, env: dict[str, str], shape: str) -> list[dict[str, object]]:
    steps = []
    for step in ("export", "package", "deliver"):
        seconds, mb, code, output = measured(env, "handover", step, "--fiscal-year", "current", "--json")
        if code != 0:
            raise RuntimeError(f"handover {step} exited {code}: {output}")
        steps.append((step, seconds, mb))
    total = sum(s for _, s, _ in steps)
    peak = max(mb for _, _, mb in steps)
    binding = bind_environment(inventory, "lab", Path(env[BINDING_ENV_VAR]))
    dump_s, dump_bytes = pg_dump_reference(inventory, binding, env)
    generation_s, residents = generation(inventory, binding, env)
    detail = ", ".join(f"{step} {s:.0f} s {mb:.0f} MB" for step, s, mb in steps)
    return [
        row(
            "hand-over: export + package + deliver, 18 towns",
            "< 2 min, < 500 MB",
            f"{total:.0f} s ({detail}), peak {peak:.0f} MB; pg_dump -Fc of the same schemas "
            f"{dump_s:.0f} s ({dump_bytes / 1e6:.0f} MB)",
            total < TARGET_SECONDS and peak < TARGET_MB,
            f"{shape}, {residents:,} residents",
        ),
        row(
            "synthetic residents generated (the files provisioning loads)",
            "-",
            f"{generation_s:.1f} s",
            True,
            f"{residents:,} residents",
        ),
    ]


def pg_dump_reference(inventory: Inventory, binding: EnvironmentBinding, env: dict[str, str]) -> tuple[float, int]:
    """`pg_dump -Fc` of the 18 towns' schemas on the primary, counted in bytes on the far side (a
    user compares the hand-over with the dump they would otherwise take)."""
    with tempfile.TemporaryDirectory() as workdir, _state_dir(env):
        primary = Primary(inventory, binding, Path(workdir))
        schemas = " ".join(f"-n {schema_of(t)}" for t in binding.towns)
        command = f"cd / && runuser -u postgres -- pg_dump -Fc {schemas} {DATABASE} | wc -c"
        started = time.monotonic()
        done = subprocess.run([*primary.remote.argv, command], capture_output=True, text=True, timeout=900)
        seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump on {primary.host.name} failed: {done.stderr[-500:]}")
    return seconds, int(done.stdout.strip())


def generation(inventory: Inventory, binding: EnvironmentBinding, env: dict[str, str]) -> tuple[float, int]:
    with _state_dir(env):
        data = synthetic_dataset(inventory, binding)
    if data is None:
        raise RuntimeError("the bench lab's environment has no synthetic residents")
    scratch = Path(tempfile.mkdtemp(prefix="municloud-bench-residents-"))
    try:
        started = time.monotonic()
        dataset_files(data, scratch, APP_ROLE, REMOTE_ROOT)
        return time.monotonic() - started, sum(t.residents for t in data.towns)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def _state_dir(env: dict[str, str]) -> Iterator[None]:
    """The bench's state directory for code run in this process (the lab's SSH keys, known hosts)."""
    saved = os.environ.get(STATE_DIR_VARIABLE)
    os.environ[STATE_DIR_VARIABLE] = env[STATE_DIR_VARIABLE]
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(STATE_DIR_VARIABLE, None)
        else:
            os.environ[STATE_DIR_VARIABLE] = saved
