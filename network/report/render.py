"""Writing the compliance report: compliance.html, compliance.pdf (weasyprint, the Japanese font) and
compliance.json (the same content as data)."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.documents import templates, write_html_and_pdf

from ..compliance import STATUS_LABELS, ComplianceReport

_TEMPLATES = templates("network.report")
_TEMPLATES.globals["status_label"] = STATUS_LABELS

STEM = "compliance"


def render_compliance(report: ComplianceReport, out_dir: Path) -> dict[str, Path]:
    """The report in `out_dir` (made if missing): {'html', 'pdf', 'json'} -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{STEM}.{kind}" for kind in ("html", "pdf", "json")}
    data = report.to_json()
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    page = _TEMPLATES.get_template("compliance.html.j2").render(
        r=report, checked_at=report.checked_at.strftime("%Y-%m-%d %H:%M:%S JST"), summary=data["summary"]
    )
    write_html_and_pdf(page, paths["html"], paths["pdf"])
    return paths
