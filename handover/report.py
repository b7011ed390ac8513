"""The 年度末データ納品報告書 (fiscal-year hand-over report): what a delivery run handed over, town by
town, as HTML, PDF (through toolkit.documents: the templates, the Japanese font, weasyprint) and JSON
(the same content as data).

Built from what the run already holds: each town's clear manifest beside its package (the files, their
record counts, sizes and SHA-256, the snapshot, who exported it and when), the package's checksum file,
the delivery's results (every file sent, its size and SHA-256, what was done, whether the far side's
copy was read back and matched, when) and the towns that failed before delivery (at export or
package) with why. A summary across towns first, then the towns, those that failed first, each
failure's reason first.

Written into `<root>/FY<year>/handover-FY<year>.{html,pdf,json}`, or for a run over some of the
environment's towns only `handover-FY<year>-<towns>.*`, so that re-delivering one town never
overwrites the whole year's report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inventory.model.sla import CONTRACT_TZ
from toolkit.documents import figure_png, japanese_chart, png_data_uri, templates, write_html_and_pdf
from toolkit.settings import state_dir

from .delivery import TownDelivery
from .package import wareki_year

_TEMPLATES = templates("handover")
KIND = "municloud fiscal-year hand-over report"
TITLE = "年度末データ納品報告書"
STAGES = {"export": "抽出 export", "package": "梱包 package", "delivery": "納品 delivery"}


@dataclass(frozen=True)
class Failure:
    stage: str  # export | package | delivery
    reason: str


@dataclass(frozen=True)
class DataFile:
    """One file inside the package, as its manifest lists it."""

    file: str
    layout: str
    record: str
    format: str
    encoding: str
    records: int
    bytes: int | None  # None: a manifest from before sizes were recorded
    sha256: str


@dataclass(frozen=True)
class SentFile:
    """One file put on the town's server: `verified` when the far side's copy was read back and its
    SHA-256 matched."""

    file: str
    bytes: int
    sha256: str
    action: str
    verified: bool


@dataclass
class TownLine:
    town: str
    name: str
    failure: Failure | None = None
    snapshot: dict[str, str] = field(default_factory=dict)  # host, lsn, time
    exported_at: str | None = None
    exported_by: str | None = None
    layouts: list[dict[str, str]] = field(default_factory=list)  # id, name, follows
    files: list[DataFile] = field(default_factory=list)
    gaiji: int = 0
    package: str | None = None  # the encrypted package's file name
    package_sha256: str | None = None
    package_bytes: int | None = None
    server: str | None = None
    delivered: list[SentFile] = field(default_factory=list)
    delivered_at: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def data_bytes(self) -> int | None:
        sizes = [f.bytes for f in self.files]
        return None if any(b is None for b in sizes) else sum(b for b in sizes if b is not None)

    @property
    def bytes_delivered(self) -> int:
        return sum(f.bytes for f in self.delivered if f.verified)

    @property
    def verification(self) -> str:
        """The far side's result in words."""
        checked, sent = sum(f.verified for f in self.delivered), len(self.delivered)
        if not self.delivered:
            return "未納品 not delivered"
        if self.ok and checked == sent:
            return f"受信側で全{checked}ファイルのSHA-256一致 / all {checked} files' SHA-256 matched on the far side"
        return (
            f"受信側で一致 {checked}/{sent} ファイル、納品未完了 / {checked} of the {sent} file(s) sent matched "
            "on the far side; the delivery did not complete"
        )


@dataclass
class HandoverReport:
    fiscal_year: int
    environment: str
    started: dt.datetime
    finished: dt.datetime
    made_by: str
    towns: list[TownLine]  # failed first
    every_town: bool = True  # the run covered every town of the environment

    @property
    def delivered(self) -> list[TownLine]:
        return [t for t in self.towns if t.ok]

    @property
    def failed(self) -> list[TownLine]:
        return [t for t in self.towns if not t.ok]

    @property
    def records(self) -> int:
        return sum(t.records for t in self.delivered)

    @property
    def bytes_delivered(self) -> int:
        return sum(t.bytes_delivered for t in self.delivered)

    @property
    def layouts(self) -> list[dict[str, str]]:
        """Every layout and the version it follows, as the towns' manifests name them."""
        seen = {(lay["id"], lay["name"], lay["follows"]) for t in self.towns for lay in t.layouts}
        return [{"id": i, "name": n, "follows": f} for i, n, f in sorted(seen)]

    @property
    def ok(self) -> bool:
        return bool(self.towns) and not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "title": TITLE,
            "fiscal_year": self.fiscal_year,
            "fiscal_year_wareki": wareki_year(self.fiscal_year),
            "environment": self.environment,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds"),
            "made_by": self.made_by,
            "every_town": self.every_town,
            "ok": self.ok,
            "summary": {
                "towns": len(self.towns),
                "delivered": len(self.delivered),
                "failed": len(self.failed),
                "failed_towns": [
                    {"town": t.town, "name": t.name, **asdict(t.failure)} for t in self.failed if t.failure
                ],
                "records": self.records,
                "bytes_delivered": self.bytes_delivered,
                "layouts": self.layouts,
            },
            "towns": [
                {
                    **asdict(t),
                    "ok": t.ok,
                    "records": t.records,
                    "data_bytes": t.data_bytes,
                    "bytes_delivered": t.bytes_delivered,
                    "verification": t.verification,
                }
                for t in self.towns
            ],
        }


def _manifest(packages: Path, town: str, year: int) -> dict[str, Any] | None:
    path = packages / f"{town}-FY{year}.manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def town_line(
    town: str,
    name: str,
    year: int,
    packages: Path,
    delivery: TownDelivery | None,
    failure: Failure | None,
) -> TownLine:
    """One town's part of the report: its manifest and checksum from `packages` unless it failed
    before it was packaged, its delivery's result, and its failure (the delivery's when it has one)."""
    line = TownLine(town, name, failure)
    if failure is not None and failure.stage in ("export", "package"):
        return line  # what lies in `packages` is an earlier run's, not this one's
    manifest = _manifest(packages, town, year)
    if manifest is not None:
        line.name = manifest.get("town_name") or name
        line.snapshot = dict(manifest.get("snapshot") or {})
        line.exported_at, line.exported_by = manifest.get("made_at"), manifest.get("made_by")
        line.layouts = [{"id": i, "name": n, "follows": f} for i, n, f in manifest.get("layouts", [])]
        line.files = [
            DataFile(
                file=f["file"],
                layout=f["layout"],
                record=f["record"],
                format=f["format"],
                encoding=f["encoding"],
                records=f["records"],
                bytes=f.get("bytes"),
                sha256=f["sha256"],
            )
            for f in manifest.get("files", [])
        ]
        line.gaiji = (manifest.get("gaiji") or {}).get("characters", 0)
    package = packages / f"{town}-FY{year}.tar.gz.age"
    line.package = package.name
    checksum = packages / f"{package.name}.sha256"
    if checksum.exists():
        line.package_sha256 = checksum.read_text().split()[0]
    if package.exists():
        line.package_bytes = package.stat().st_size
    if delivery is not None:
        line.server = delivery.host
        line.delivered = [SentFile(f.name, f.size, f.sha256, f.action, f.verified) for f in delivery.files]
        sent = next((f for f in line.delivered if f.file == package.name), None)
        if sent is not None:  # what was read back on the far side
            line.package_sha256, line.package_bytes = sent.sha256, sent.bytes
        line.delivered_at = delivery.finished_at.isoformat(timespec="seconds") if delivery.finished_at else None
        line.seconds = round(delivery.seconds, 1)
        if not delivery.ok and line.failure is None:
            unverified = [f.file for f in line.delivered if not f.verified]
            line.failure = Failure(
                "delivery", delivery.error or f"not verified on the far side: {', '.join(unverified) or 'no file sent'}"
            )
    if manifest is None and line.failure is None:
        line.failure = Failure("package", f"no manifest {town}-FY{year}.manifest.json in {packages}")
    if delivery is None and line.failure is None:
        line.failure = Failure("delivery", "not delivered")
    return line


def build_report(
    *,
    fiscal_year: int,
    environment: str,
    towns: list[tuple[str, str]],
    packages: Path,
    deliveries: list[TownDelivery],
    failures: dict[str, Failure],
    started: dt.datetime,
    finished: dt.datetime,
    made_by: str,
    every_town: bool = True,
) -> HandoverReport:
    """The report of one run over `towns` ((id, Japanese name), in the run's order): failed towns
    first, in that order, then the delivered ones."""
    by_town = {d.town: d for d in deliveries}
    lines = [
        town_line(town, name, fiscal_year, packages, by_town.get(town), failures.get(town)) for town, name in towns
    ]
    lines.sort(key=lambda t: t.ok)  # stable: the run's order within each
    return HandoverReport(fiscal_year, environment, started, finished, made_by, lines, every_town)


def reports_root(environment: str) -> Path:
    """Where the reports' FY<year> folders go unless asked otherwise."""
    return state_dir() / "handover" / f"{environment}-reports"


def report_folder(root: Path, fiscal_year: int) -> Path:
    return root / f"FY{fiscal_year}"


def report_stem(report: HandoverReport) -> str:
    stem = f"handover-FY{report.fiscal_year}"
    if report.every_town:
        return stem
    towns = sorted(t.town for t in report.towns)
    if len(towns) <= 4:
        return f"{stem}-{'-'.join(towns)}"
    digest = hashlib.sha256(" ".join(towns).encode()).hexdigest()[:8]
    return f"{stem}-{len(towns)}-towns-{digest}"


def records_chart(report: HandoverReport) -> bytes | None:
    """Records delivered per town (a town that failed: a red mark at zero); None for fewer than two
    towns, where the summary says it all."""
    if len(report.towns) < 2:
        return None
    # barh draws upwards: the delivered towns by their records, the failed ones on top
    towns = sorted(report.towns, key=lambda t: (t.ok, t.records if t.ok else 0), reverse=True)
    with japanese_chart(7.0, 0.8 + 0.26 * len(towns)) as figure:
        axes = figure.add_subplot()
        values = [t.records if t.ok else 0 for t in towns]
        bars = axes.barh([t.name for t in towns], values, color=["#1f5fa8" if t.ok else "#c62828" for t in towns])
        for bar, t in zip(bars, towns, strict=True):
            label = f"{t.records:,}" if t.ok else "未納品 not delivered"
            axes.annotate(
                label,
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="#1b1b1b" if t.ok else "#c62828",
            )
        axes.set_xlabel("件数 records")
        axes.set_title("団体別納品件数 / records delivered per town", fontsize=9)
        axes.tick_params(labelsize=7)
        axes.set_xlim(0, max([*values, 1]) * 1.18)
        axes.spines[["top", "right"]].set_visible(False)
        return figure_png(figure)


def _jst(moment: str | dt.datetime | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(CONTRACT_TZ).strftime("%Y-%m-%d %H:%M:%S JST")


def render_html(report: HandoverReport) -> str:
    chart = records_chart(report)
    return _TEMPLATES.get_template("report.html.j2").render(
        r=report,
        title=TITLE,
        wareki=wareki_year(report.fiscal_year),
        stages=STAGES,
        jst=_jst,
        chart=png_data_uri(chart) if chart else None,
    )


def write_report(report: HandoverReport, root: Path) -> dict[str, Path]:
    """The report in `<root>/FY<year>/` (made if missing): {'html', 'pdf', 'json'} -> path.
    DocumentError when the Japanese font is missing or the PDF cannot be rendered; OSError when the
    folder cannot be written."""
    folder = report_folder(root, report.fiscal_year)
    folder.mkdir(parents=True, exist_ok=True)
    stem = report_stem(report)
    paths = {kind: folder / f"{stem}.{kind}" for kind in ("html", "pdf", "json")}
    paths["json"].write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_html_and_pdf(render_html(report), paths["html"], paths["pdf"])
    return paths
