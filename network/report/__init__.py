"""The network's reports: the compliance report (ネットワーク構成準拠報告) and the security separation
verification report (セキュリティ分離検証報告), each as HTML, PDF (Japanese font) and JSON."""

from .render import render_compliance, render_isolation

__all__ = ["render_compliance", "render_isolation"]
