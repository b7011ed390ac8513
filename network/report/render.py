"""Writing the network's reports, each as HTML, PDF (weasyprint, the Japanese font) and JSON (the same
content as data): the compliance report (compliance.*) and the security separation verification
report (isolation.*, セキュリティ分離検証報告)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.documents import templates, write_html_and_pdf

from ..compliance import STATUS_LABELS, ComplianceReport
from ..isolation import SEGMENTS, Cell, IsolationReport

_TEMPLATES = templates("network.report")
_TEMPLATES.globals["status_label"] = STATUS_LABELS

STEM = "compliance"
ISOLATION_STEM = "isolation"


def _paths_with_json(out_dir: Path, stem: str, data: dict[str, Any]) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("html", "pdf", "json")}
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return paths


def render_compliance(report: ComplianceReport, out_dir: Path) -> dict[str, Path]:
    """The report in `out_dir` (made if missing): {'html', 'pdf', 'json'} -> path."""
    data = report.to_json()
    paths = _paths_with_json(out_dir, STEM, data)
    page = _TEMPLATES.get_template("compliance.html.j2").render(
        r=report, checked_at=report.checked_at.strftime("%Y-%m-%d %H:%M:%S JST"), summary=data["summary"]
    )
    write_html_and_pdf(page, paths["html"], paths["pdf"])
    return paths


@dataclass
class _Mark:
    """One cell of a town's matrix: the probes of one row from one segment, summed up."""

    cells: list[Cell]

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.cells}
        return next((v for v in ("breach", "loss") if v in verdicts), "as-policy")

    @property
    def reached(self) -> str:  # all | none | some
        hits = sum(c.reached for c in self.cells)
        return "all" if hits == len(self.cells) else ("none" if hits == 0 else "some")


@dataclass
class _TownMatrix:
    segments: list[str]
    rows: list[tuple[str, dict[str, _Mark]]]  # row label -> segment -> mark


def _row_label(report: IsolationReport, town: str, cell: Cell) -> str:
    """Targets of a kind on one row: every DC server per port, the other towns' segments together, so
    that a town's matrix is a page whatever the number of towns and servers."""
    t = cell.target
    what = t.name.split(" ", 1)[1] if t.group in ("dc", "segment") else t.name
    if t.group == "dc":
        return f"データセンターのサーバ(全台){what}"
    if t.group == "segment" and t.town == town:
        return f"同じ庁舎の{report.segment_names[t.segment or '']} {what.split()[-1]}"
    if t.group == "segment":
        return f"他団体の各区分 {what.split()[-1]}"
    return what


def _matrices(report: IsolationReport) -> dict[str, _TownMatrix]:
    out: dict[str, _TownMatrix] = {}
    for town in report.towns:
        cells = [c for c in report.cells if c.point.town == town]
        segments = [s for s in SEGMENTS if any(c.point.segment == s for c in cells)]
        rows: dict[str, dict[str, _Mark]] = {}
        for c in cells:
            row = rows.setdefault(_row_label(report, town, c), {})
            row.setdefault(c.point.segment, _Mark([])).cells.append(c)
        out[town] = _TownMatrix(segments, list(rows.items()))
    return out


def render_isolation(report: IsolationReport, out_dir: Path) -> dict[str, Path]:
    """セキュリティ分離検証報告 in `out_dir` (made if missing): {'html', 'pdf', 'json'} -> path."""
    data = report.to_json()
    paths = _paths_with_json(out_dir, ISOLATION_STEM, data)
    page = _TEMPLATES.get_template("isolation.html.j2").render(
        r=report,
        checked_at=report.checked_at.strftime("%Y-%m-%d %H:%M:%S JST"),
        summary=data["summary"],
        rows=data["rows"],
        matrix=_matrices(report),
    )
    write_html_and_pdf(page, paths["html"], paths["pdf"])
    return paths
