"""The machine's configured Debian mirrors, read from /etc/apt/sources.list and sources.list.d."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class DebianMirrors:
    mirror: str
    security: str


def _entries(root: Path) -> list[tuple[str, list[str]]]:
    """(uri, suites) of every enabled `deb` entry, one-line and deb822 formats."""
    out: list[tuple[str, list[str]]] = []
    files = [root / "sources.list", *sorted((root / "sources.list.d").glob("*.list"))]
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text(errors="replace").splitlines():
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            if words and words[0].startswith("["):  # options like [signed-by=...]
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 2:
                out.append((words[0], [words[1]]))
    for f in sorted((root / "sources.list.d").glob("*.sources")):
        for stanza in f.read_text(errors="replace").split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            for uri in fields.get("uris", "").split():
                out.append((uri, fields.get("suites", "").split()))
    return out


def debian_mirrors(apt_dir: Path = Path("/etc/apt")) -> DebianMirrors:
    """The Debian (bookworm) mirror and security mirror this machine uses, with Debian's defaults."""
    mirror = security = None
    for uri, suites in _entries(apt_dir):
        uri = uri.rstrip("/")
        if any(s.endswith("-security") for s in suites):
            security = security or uri
        elif any(s.split("-")[0] == "bookworm" for s in suites):
            mirror = mirror or uri
    return DebianMirrors(mirror or DEFAULT_MIRROR, security or DEFAULT_SECURITY)
