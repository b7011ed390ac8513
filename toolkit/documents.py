"""Reports a person reads: HTML from Jinja2 templates, the same page as PDF through weasyprint with
the Japanese font of Debian's fonts-noto-cjk, and matplotlib charts embedded in the page as images.

Shared by every report of the suite (the SLA reports, the drill and annual drill reports, the
network compliance report, the cost allocation report): none sets up a font, encodes an image or
writes a PDF itself. Domain code imports it, never the CLI. Nothing here knows what a report says.
"""

from __future__ import annotations

import base64
import gc
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import jinja2
import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

JAPANESE_FONT = "Noto Sans CJK JP"  # Debian: fonts-noto-cjk
FONT_PACKAGE = "fonts-noto-cjk"


class DocumentError(Exception):
    """A report cannot be produced on this machine (a missing font, a PDF that would not render)."""


def require_japanese_font() -> None:
    """Fail with what to install when the Japanese font is missing: without it every kanji of the
    PDF and the charts would print as empty boxes (tofu), silently."""
    try:
        font_manager.findfont(font_manager.FontProperties(family=JAPANESE_FONT), fallback_to_default=False)
    except ValueError:
        raise DocumentError(
            f"the Japanese font {JAPANESE_FONT!r} is not installed: apt-get install {FONT_PACKAGE} "
            "(make setup installs it)"
        ) from None


def templates(package: str, folder: str = "templates") -> jinja2.Environment:
    """The Jinja2 templates of `package` (its `folder`), HTML-escaped, undefined names an error."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["japanese_font"] = JAPANESE_FONT
    return env


@contextmanager
def japanese_chart(
    width_in: float, height_in: float, *, dpi: int = 150, layout: Literal["constrained"] | None = "constrained"
) -> Iterator[Figure]:
    """A matplotlib figure whose text (titles, ticks, labels) is in the Japanese font. No pyplot:
    draw on the figure inside the block and turn it into PNG there (`figure_png`). `layout=None`
    leaves the axes where they are put (a chart that places its legend below them itself and is
    cropped to what it drew: `figure_png(crop=True)`)."""
    require_japanese_font()
    with matplotlib.rc_context({"font.family": [JAPANESE_FONT, "sans-serif"], "axes.unicode_minus": False}):
        yield Figure(figsize=(width_in, height_in), dpi=dpi, layout=layout)


def figure_png(figure: Figure, *, crop: bool = False) -> bytes:
    """The figure as PNG at its dpi; `crop`: cut to what is drawn (legends outside the axes included)
    instead of the figure's size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight" if crop else None)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """The PNG as a `data:` URI, to embed in the HTML so that the page (and its PDF) stands alone."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_html(html: str, html_path: Path) -> None:
    """The page as HTML alone (UTF-8), its folder made if need be."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")


def write_html_and_pdf(html: str, html_path: Path, pdf_path: Path) -> None:
    """The page as HTML and as PDF (A4, the Japanese font). The page should set its font-family to
    JAPANESE_FONT (templates get it as `japanese_font`) and embed its images as data URIs."""
    require_japanese_font()
    from weasyprint import HTML  # slow to import: only when a PDF is made

    write_html(html, html_path)
    try:
        HTML(string=html, base_url=str(html_path.parent)).write_pdf(pdf_path)
    except Exception as err:  # weasyprint raises many kinds; the report names the file
        raise DocumentError(f"{pdf_path}: the PDF could not be rendered: {err}") from err
    finally:
        # A rendered document leaves some 20 MB in reference cycles that the collector's thresholds
        # reach only much later: a run of PDFs (the hand-over's 18 納品書) grew to 675 MB. Freed here,
        # memory stays at one document's.
        gc.collect()
