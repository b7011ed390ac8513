"""The playbooks as code: clean under ansible-lint's production profile, every play file passes
`ansible-playbook --syntax-check`, and the Windows clients play (which cannot run here) with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.runner import PLAYBOOKS, scrub_artifacts

BIN = Path(sys.executable).parent
PLAYS = sorted(p.name for p in PLAYBOOKS.glob("*.yml"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_HOME": str(tmp_path / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
    }


def test_every_play_file_is_known() -> None:
    assert {"site.yml", "dc_failover.yml", "dc_failback.yml", "clients.yml"} <= set(PLAYS)


@pytest.mark.parametrize("play", PLAYS)
def test_syntax_check(play: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", play],
        cwd=PLAYBOOKS,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_ansible_lint_production_profile(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor", "-q"],
        cwd=PLAYBOOKS,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=280,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_scrubbed_artifacts_keep_no_environment_secret(tmp_path: Path) -> None:
    (tmp_path / "command").write_text(
        '{"command": ["ansible-playbook"], "cwd": "/", "env": {"PATH": "/bin", "ANSIBLE_HOME": "/x", '
        '"AWS_SECRET_ACCESS_KEY": "s3cret", "MUNICLOUD_SSH_KEY": "/k", "PULUMI_CONFIG_PASSPHRASE": "pw"}}'
    )
    scrub_artifacts(tmp_path)
    text = (tmp_path / "command").read_text()
    assert "s3cret" not in text and "PULUMI" not in text and "MUNICLOUD_SSH_KEY" not in text
    assert '"PATH"' in text and "ANSIBLE_HOME" in text
