"""The BCP drill reports: one drill's (`render_drill`) and the annual drill's over many journals
(`render_annual`), each as HTML, PDF (Japanese font) and JSON, with a chart of outage per town."""

from .render import render_annual, render_drill

__all__ = ["render_annual", "render_drill"]
