"""Writing the cost allocation report: HTML (Jinja2), PDF (weasyprint, Japanese font), and the
records `cost allocate --json` and `--csv` print, as files. Every figure comes from one `Allocation`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from toolkit.documents import png_data_uri, templates, write_html_and_pdf

from ..allocation import Allocation
from ..records import ROUNDING_RULE, allocation_csv_rows, allocation_record
from ..tables import StepTable, allocation_steps, summary_text
from .charts import share_chart

_TEMPLATES = templates("costs.report")


def allocation_stem(a: Allocation, whole_period: bool) -> str:
    """cost-allocation (the whole period) or cost-allocation-FY2027 (one fiscal year)."""
    return "cost-allocation" if whole_period else f"cost-allocation-{a.input.span}"


def render_allocation(a: Allocation, out_dir: Path, whole_period: bool = True) -> dict[str, Path]:
    """The report in `out_dir` (made if missing): {'html', 'pdf', 'json', 'csv'} -> path. The CSV has
    a byte-order mark, so that a spreadsheet opens the towns' Japanese names as UTF-8."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = allocation_stem(a, whole_period)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("html", "pdf", "json", "csv")}
    paths["json"].write_text(json.dumps(allocation_record(a), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with paths["csv"].open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(allocation_csv_rows(a))
    page = _TEMPLATES.get_template("allocation.html.j2").render(
        a=a,
        steps=allocation_steps(a),
        summary=summary_text(a),
        rounding=ROUNDING_RULE,
        chart=png_data_uri(share_chart(a)),
        is_table=lambda step: isinstance(step, StepTable),
    )
    write_html_and_pdf(page, paths["html"], paths["pdf"])
    return paths
