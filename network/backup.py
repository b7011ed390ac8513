"""Backups: every device's running config in a git repository outside the source tree (Oxidized's
idea), one commit per run. The files hold the configs as they are (a rollback needs them whole);
every diff shown is masked (`mask_secrets`)."""

from __future__ import annotations

import threading
from pathlib import Path

import git

from .config import mask_secrets
from .store import backups_dir

PRE_CHANGE = "pre-change"
_lock = threading.Lock()


class BackupError(RuntimeError):
    pass


class BackupRepo:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or backups_dir()
        with _lock:
            if (self.path / ".git").is_dir():
                self.repo = git.Repo(self.path)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self.path.chmod(0o700)
                self.repo = git.Repo.init(self.path)
                with self.repo.config_writer() as cfg:
                    cfg.set_value("user", "name", "municloud")
                    cfg.set_value("user", "email", "municloud@localhost")

    def file(self, device: str) -> Path:
        return self.path / f"{device}.cfg"

    def commit(self, configs: dict[str, str], message: str, always: bool = False) -> str | None:
        """Write the configs and commit them, naming the devices in the message; None when nothing
        changed since the last commit (unless `always`: a pre-change backup is a commit even then)."""
        with _lock:
            for device, text in configs.items():
                self.file(device).write_text(text)
                self.file(device).chmod(0o600)
            self.repo.index.add([self.file(d).name for d in configs])
            if not always and self.repo.head.is_valid() and not self.repo.index.diff("HEAD"):
                return None
            body = "devices: " + " ".join(sorted(configs))
            return self.repo.index.commit(f"{message}\n\n{body}\n").hexsha

    def read(self, device: str, rev: str = "HEAD") -> str:
        try:
            return str(self.repo.git.show(f"{rev}:{device}.cfg"))
        except git.GitCommandError:
            raise BackupError(f"no backup of {device} at '{rev}' in {self.path}") from None

    def latest_pre_change(self, device: str) -> str:
        """The newest commit that saved `device` before a change."""
        for commit in self.repo.iter_commits() if self.repo.head.is_valid() else []:
            message = str(commit.message)
            devices = message.rsplit("devices: ", 1)[-1].split() if "devices: " in message else []
            if message.startswith(PRE_CHANGE) and device in devices:
                return commit.hexsha
        raise BackupError(f"no pre-change backup of {device} in {self.path}")

    def masked_diff(self, rev: str) -> str:
        """What the commit `rev` changed, secrets masked."""
        commit = self.repo.commit(rev)
        if not commit.parents:
            return ""
        return mask_secrets(str(self.repo.git.diff(commit.parents[0].hexsha, commit.hexsha)))

    def log(self, limit: int = 20) -> list[tuple[str, str]]:
        if not self.repo.head.is_valid():
            return []
        return [(c.hexsha[:10], str(c.message).splitlines()[0]) for c in self.repo.iter_commits(max_count=limit)]
