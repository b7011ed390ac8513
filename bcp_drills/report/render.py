"""Writing the drill reports: HTML (Jinja2), PDF (weasyprint, Japanese font), JSON, and the chart."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.documents import png_data_uri, templates, write_html_and_pdf

from ..journal import Journal, validate_journal
from ..verdicts import VERDICT_JA, verdict_label
from .charts import annual_chart, drill_chart
from .figures import (
    RESULT_LABEL,
    AnnualFigures,
    DrillFigures,
    annual_figures,
    drill_figures,
    duration_text,
    local_time,
)

_TEMPLATES = templates("bcp_drills.report")
_TEMPLATES.filters["ms"] = duration_text
_TEMPLATES.filters["jst"] = local_time
_TEMPLATES.globals.update(verdict_label=verdict_label, result_label=RESULT_LABEL, verdict_ja=VERDICT_JA)


def drill_stem(journal: Journal) -> str:
    """The reports' file name: drill-<scenario>-<start in Japan time>[-dry-run]."""
    record = journal.municloud
    started = local_time(record.started).replace("-", "").replace(":", "").replace(" ", "T")[:15]
    return f"drill-{record.scenario}-{started}" + ("-dry-run" if record.dry_run else "")


def _write(out_dir: Path, stem: str, page: str, chart: bytes, data: Any) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{ext}" for kind, ext in (("html", "html"), ("pdf", "pdf"), ("json", "json"))}
    paths["chart"] = out_dir / f"{stem}-outage.png"
    paths["chart"].write_bytes(chart)
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    write_html_and_pdf(page, paths["html"], paths["pdf"])
    return paths


def render_drill(
    journal: dict[str, Any],
    out_dir: Path,
    system_names: Mapping[str, str] | None = None,
    stem: str | None = None,
) -> dict[str, Path]:
    """One drill's report in `out_dir`: {'html', 'pdf', 'json' (the journal itself), 'chart'} -> path.
    `system_names` maps system ids to their Japanese names (the inventory's); `stem` names the files
    (default: `drill_stem`). JournalError when the journal is not valid."""
    model = validate_journal(journal)
    figures = drill_figures(model, system_names)
    chart = drill_chart(figures.towns, model.municloud.dry_run)
    page = _drill_page(figures, png_data_uri(chart))
    return _write(out_dir, stem or drill_stem(model), page, chart, journal)


def _drill_page(figures: DrillFigures, chart_uri: str) -> str:
    return _TEMPLATES.get_template("drill.html.j2").render(
        f=figures, r=figures.record, j=figures.journal, chart=chart_uri
    )


def annual_record(figures: AnnualFigures) -> dict[str, Any]:
    """The annual report as data (its JSON)."""
    return {
        "kind": "municloud annual drill report",
        "first_drill": figures.first.isoformat(),
        "last_drill": figures.last.isoformat(),
        "verdict": figures.verdict,
        "verdict_ja": VERDICT_JA[figures.verdict],
        "notes": figures.notes,
        "runs": [
            {
                "journal": run.label,
                "scenario": run.record.scenario,
                "started": run.record.started.isoformat(),
                "environment": run.record.environment,
                "operator": run.record.operator,
                "dry_run": run.record.dry_run,
                "verdict": run.record.verdict,
                "stop_condition": run.record.stop_condition.name if run.record.stop_condition else None,
            }
            for run in figures.runs
        ],
        "scenarios": [
            {
                "scenario": s.scenario,
                "title_ja": s.title_ja,
                "title_en": s.title_en,
                "runs": len(s.runs),
                "real_runs": len(s.real_runs),
                "verdict": s.verdict,
                "rto_targets": s.targets,
            }
            for s in figures.scenarios
        ],
        "towns": [
            {
                "town": t.town,
                "name": t.name,
                "drills_measured": len(t.outages),
                "worst_outage_ms": t.worst_ms,
                "median_outage_ms": t.median_ms,
                "unrecovered": t.unrecovered,
                "rto_pass": t.rto_pass,
                "rto_fail": t.rto_fail,
                "rto_no_data": t.rto_no_data,
                "rto_targets": t.targets,
                "outages": [{"journal": label, "outage_ms": ms, "recovered": ok} for label, ms, ok in t.outages],
            }
            for t in figures.towns
        ],
        "observations": [{"journal": label, "source": o.source, "text": o.text} for label, o in figures.observations],
    }


def render_annual(
    journals: Sequence[dict[str, Any]],
    out_dir: Path,
    system_names: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
) -> dict[str, Path]:
    """The annual drill's report over `journals` in `out_dir`: {'html', 'pdf', 'json', 'chart'} -> path.
    `labels` name each journal in the report (its file name, say); by default its drill's stem."""
    models = [
        validate_journal(data, label) for data, label in zip(journals, labels or [""] * len(journals), strict=True)
    ]
    names = list(labels) if labels else [drill_stem(model) for model in models]
    figures = annual_figures(list(zip(names, models, strict=True)), system_names)
    chart = annual_chart(figures.towns)
    page = _TEMPLATES.get_template("annual.html.j2").render(a=figures, chart=png_data_uri(chart))
    stem = f"drill-annual-{figures.first:%Y%m%d}-{figures.last:%Y%m%d}"
    return _write(out_dir, stem, page, chart, annual_record(figures))
