"""An `up` interrupted anywhere (killed, or Ctrl-C) followed by `down()` leaves nothing."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from lab.base_image import ensure_base_image
from lab.engine import Lab
from tests.lab.conftest import INTERRUPTED_MGMT_SUBNET, INTERRUPTED_PREFIX, INTERRUPTED_STATE_DIR
from tests.lab.system import lab_objects

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]  # the first may build the base image

PREFIX, MGMT, STATE_DIR = INTERRUPTED_PREFIX, INTERRUPTED_MGMT_SUBNET, INTERRUPTED_STATE_DIR  # per test slot

UP_SCRIPT = f"""
import sys
from lab.base_image import ensure_base_image
from lab.engine import Lab
from lab.topology import sample_topology
lab = Lab(state_dir={str(STATE_DIR)!r}, prefix={PREFIX!r})
lab.up(sample_topology({PREFIX!r}, {MGMT!r}), progress=lambda what, d, n: print(what, flush=True))
print("UP-DONE", flush=True)
"""


@pytest.fixture(scope="module", autouse=True)
def base_image() -> None:
    """Interrupting a cold base-image build is tested on its own; here the base must be there."""
    if os.geteuid() == 0:
        ensure_base_image()


def _run_up_until(marker: str, sig: int, whole_group: bool) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", UP_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                continue
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if marker in line:
                break
        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return seen


@pytest.mark.parametrize(
    ("marker", "sig", "whole_group"),
    [
        ("router pe1: namespace", signal.SIGKILL, False),
        ("link t1-backup", signal.SIGKILL, False),
        ("FRR and sshd", signal.SIGKILL, False),
        ("apt proxy", signal.SIGINT, True),  # Ctrl-C: the whole foreground group gets SIGINT
        ("defined", signal.SIGKILL, False),  # while containers are being started
        ("started", signal.SIGKILL, True),  # a container booting
    ],
)
def test_interrupted_up_then_down_leaves_nothing(marker: str, sig: int, whole_group: bool) -> None:
    if os.geteuid() != 0:
        pytest.skip("lab tests need root")
    lab = Lab(state_dir=STATE_DIR, prefix=PREFIX)
    lab.down()
    seen = _run_up_until(marker, sig, whole_group)
    assert any(marker in s for s in seen), f"up never reached {marker!r}: {seen}"
    assert "UP-DONE" not in seen, "up finished before it could be interrupted"
    assert lab_objects(PREFIX, STATE_DIR) != [], "positive control: the interrupted up left something"
    report = lab.down()
    assert lab_objects(PREFIX, STATE_DIR) == []
    assert report.leftovers == []
