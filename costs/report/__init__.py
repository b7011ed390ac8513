"""The cost allocation report (費用按分): the four steps' tables, each town's total and saving, a chart
of each town's share against its current cost; as HTML, PDF (Japanese font), JSON and CSV."""

from .render import render_allocation

__all__ = ["render_allocation"]
