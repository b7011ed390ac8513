"""The network compliance report (ネットワーク構成準拠報告): HTML, PDF (Japanese font) and JSON."""

from .render import render_compliance

__all__ = ["render_compliance"]
