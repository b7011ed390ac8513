"""A town's hand-over package: its exported files, their manifest and the 納品書 (the delivery note a
person signs), in one archive encrypted to the receiving town's public key with age (X25519, through
pyrage). Never a password sent beside the file: only the town's private key opens it.

Per town, beside each other in <packages>/<fiscal year>/:
    <town>-FY<year>.tar.gz.age          the encrypted package (files, manifest.json, 納品書)
    <town>-FY<year>.manifest.json       the manifest in the clear (counts and checksums, no records)
    <town>-FY<year>.nouhinsho.pdf|html  the 納品書 in the clear, to print and sign
    <town>-FY<year>.tar.gz.age.sha256   the package's checksum

The towns' public keys are the environment's (`<state>/handover/keys/<env>/<town>.pub`, one age
recipient per file). The lab plays the towns: it makes each town's key pair there on first use (the
private key, `<town>.key`, mode 0600, stands for what the town keeps); in production the towns hand
in their public keys and the operations center never holds a town's private key. A missing or
malformed key is named before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import x25519

from pki.authority import write_secret
from toolkit.documents import DocumentError, templates, write_html_and_pdf
from toolkit.settings import state_dir

from .export import GAIJI_FILE, MANIFEST
from .layouts import Layout, Record
from .reading import read_gaiji_list, read_records
from .records import RecordValueError

_TEMPLATES = templates("handover")
ERAS = ((2019, "令和"), (1989, "平成"))


class TownKeyError(ValueError):
    """A town's key that is missing or malformed: the file and the reason."""


@dataclass(frozen=True)
class Package:
    town: str
    path: Path
    sha256: str
    manifest: Path
    nouhinsho_pdf: Path
    recipient: str


def packages_dir(environment: str, year: int) -> Path:
    """Where a fiscal year's packages are made (and delivered from)."""
    return state_dir() / "handover" / f"{environment}-packages" / str(year)


def keys_dir(state: Path, environment: str) -> Path:
    return state / "handover" / "keys" / environment


def recipient(folder: Path, town: str, make_if_missing: bool) -> x25519.Recipient:
    """The town's public key (age recipient); in the lab (`make_if_missing`) its key pair is made
    on first use."""
    public = folder / f"{town}.pub"
    if not public.exists() and make_if_missing:
        identity = x25519.Identity.generate()
        write_secret(folder / f"{town}.key", f"{identity}\n".encode())
        public.write_text(str(identity.to_public()) + "\n")
    try:
        text = public.read_text().strip()
    except FileNotFoundError:
        raise TownKeyError(f"{public}: missing: the town's age public key (age1...) goes there") from None
    try:
        return x25519.Recipient.from_str(text)
    except (ValueError, pyrage.RecipientError):
        raise TownKeyError(f"{public}: not an age X25519 public key (age1...)") from None


def identity(path: Path) -> x25519.Identity:
    try:
        return x25519.Identity.from_str(path.read_text().strip())
    except FileNotFoundError:
        raise TownKeyError(f"{path}: missing") from None
    except (ValueError, pyrage.IdentityError):
        raise TownKeyError(f"{path}: not an age X25519 private key (AGE-SECRET-KEY-1...)") from None


def wareki_year(year: int) -> str:
    for first, era in ERAS:
        if year >= first:
            n = year - first + 1
            return f"{era}{'元' if n == 1 else n}年度"
    return f"{year}年度"


def package_town(export_folder: Path, town_key: x25519.Recipient, out_dir: Path) -> Package:
    """Package one town's export (its folder with manifest.json): the 納品書, the encrypted archive,
    the clear manifest and the checksum. The clear archive exists only in a private temp folder."""
    manifest = json.loads((export_folder / MANIFEST).read_text(encoding="utf-8"))
    town, year = manifest["town"], manifest["fiscal_year"]
    stem = f"{town}-FY{year}"
    out_dir.mkdir(parents=True, exist_ok=True)
    package = out_dir / f"{stem}.tar.gz.age"
    with tempfile.TemporaryDirectory(prefix="municloud-handover-") as tmp:
        archive = Path(tmp) / f"{stem}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(export_folder.iterdir()):
                tar.add(path, arcname=f"{stem}/{path.name}")
        partial = package.with_name(package.name + ".partial")
        pyrage.encrypt_file(str(archive), str(partial), [town_key])
        partial.replace(package)
    digest = _sha256(package)
    (out_dir / f"{package.name}.sha256").write_text(f"{digest}  {package.name}\n")
    clear_manifest = out_dir / f"{stem}.manifest.json"
    shutil.copyfile(export_folder / MANIFEST, clear_manifest)
    html, pdf = out_dir / f"{stem}.nouhinsho.html", out_dir / f"{stem}.nouhinsho.pdf"
    page = _TEMPLATES.get_template("nouhinsho.html.j2").render(
        m=manifest,
        wareki_year=wareki_year(year),
        recipient=str(town_key),
        package_name=package.name,
        package_sha256=digest,
        total=sum(f["records"] for f in manifest["files"]),
    )
    write_html_and_pdf(page, html, pdf)
    return Package(town, package, digest, clear_manifest, pdf, str(town_key))


def package_towns(
    exports: Path,
    recipients: dict[str, x25519.Recipient],
    out_dir: Path,
    progress: Callable[[str, int, int], None] = lambda what, done, total: None,
) -> tuple[list[Package], dict[str, str]]:
    """Every town of `recipients` in turn, from its export in `exports/<town>/`: the packages made, and
    per town that failed why (a file that could not be read or written, a 納品書 that would not
    render); the others go on."""
    packages: list[Package] = []
    failed: dict[str, str] = {}
    towns = list(recipients)
    for i, town in enumerate(towns):
        progress(town, i, len(towns))
        try:
            packages.append(package_town(exports / town, recipients[town], out_dir))
        except (OSError, DocumentError) as error:
            failed[town] = str(error)
        except (ValueError, KeyError) as error:  # a manifest that is not the export's
            failed[town] = f"{exports / town / MANIFEST}: unreadable: {error!r}"
    progress("done", len(towns), len(towns))
    return packages, failed


@dataclass
class Verified:
    package: Path
    folder: Path | None = None  # where it was opened
    town: str = ""
    fiscal_year: int = 0
    files: int = 0
    records: int = 0
    problems: list[str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(package: Path, key: x25519.Identity, layouts: dict[str, Layout], into: Path) -> Verified:
    """Open `package` with the town's key into `into`, then check it: the manifest, every file's
    SHA-256 and record count, and every record read back against its layout (its fields, or its
    fixed width, in the layout's encoding)."""
    result = Verified(package, problems=[])
    problems = result.problems
    assert problems is not None
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "package.tar.gz"
    try:
        pyrage.decrypt_file(str(package), str(archive), [key])
    except (pyrage.DecryptError, OSError) as error:
        problems.append(f"cannot be opened with this key: {error}")
        return result
    with tarfile.open(archive, "r:gz") as tar:
        # Only plain files and folders inside `into` (Debian's Python 3.11.2 has no extraction filter).
        root = into.resolve()
        unsafe = [
            m.name
            for m in tar.getmembers()
            if not (m.isfile() or m.isdir()) or not (root / m.name).resolve().is_relative_to(root)
        ]
        if unsafe:
            problems.append(f"refused: archive members that are not plain files inside it: {unsafe[:5]}")
            return result
        tar.extractall(into)
    archive.unlink()
    folders = [p for p in into.iterdir() if p.is_dir()]
    if len(folders) != 1 or not (folders[0] / MANIFEST).exists():
        problems.append("no town folder with a manifest.json in the package")
        return result
    folder = result.folder = folders[0]
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    result.town, result.fiscal_year = manifest["town"], manifest["fiscal_year"]
    for entry in manifest["files"]:
        path = folder / entry["file"]
        if not path.exists():
            problems.append(f"{entry['file']}: listed in the manifest, not in the package")
            continue
        if _sha256(path) != entry["sha256"]:
            problems.append(f"{entry['file']}: SHA-256 differs from the manifest's")
        layout = layouts.get(entry["layout"])
        record = next((r for r in layout.records if r.id == entry["record"]), None) if layout else None
        if layout is None or record is None:
            problems.append(f"{entry['file']}: layout {entry['layout']} / record {entry['record']} unknown here")
            continue
        count, bad = read_back(path, layout, record, folder / GAIJI_FILE)
        if count != entry["records"]:
            problems.append(f"{entry['file']}: {count} records, the manifest says {entry['records']}")
        problems += [f"{entry['file']}: {b}" for b in bad[:10]]
        result.files += 1
        result.records += count
    return result


def read_back(path: Path, layout: Layout, record: Record, gaiji_list: Path) -> tuple[int, list[str]]:
    """Records in a file, every one parsed against its layout (reading.py), and what does not fit."""
    count = 0
    try:
        for _ in read_records(layout, record, path, read_gaiji_list(gaiji_list)):
            count += 1
    except RecordValueError as error:
        return count, [str(error)]
    except UnicodeDecodeError as error:
        return count, [f"not {layout.encoding}: {error}"]
    return count, []


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
