"""The README's screenshots, made by headless Chromium from the real reports of a demo run.

    .venv/bin/python docs/make_screenshots.py out/demo/<time>

reads that run's `demo-summary.json`, opens the SLA summary report and the DC-loss drill report
(their HTML files) in headless Chromium, and writes the top of each page, scaled down and palette
quantised so the PNGs stay small, to docs/screenshots/ (sla-report.png, drill-report.png).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent / "screenshots"
WINDOW = (1200, 1500)  # CSS pixels: the width the reports are laid out for, and the first screen and a half
WIDTH = 900  # the PNG's width in the README


def shoot(html: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="municloud-shot-") as tmp:
        raw = Path(tmp) / "raw.png"
        subprocess.run(
            [
                "chromium",
                "--headless=new",
                "--no-sandbox",  # run as root on the lab machine
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={raw}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        image = Image.open(raw).convert("RGB")
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
    print(f"{png} ({png.stat().st_size // 1024} KB) from {html}")


def main(run: Path) -> int:
    summary = json.loads((run / "demo-summary.json").read_text(encoding="utf-8"))
    reports = {r["what"]: r["files"] for r in summary["reports"]}
    sla = reports.get("SLA report (summary)", {}).get("html")
    drill = next((f.get("html") for what, f in reports.items() if what.startswith("drill-dc-site-loss-")), None)
    drill = drill or next(iter(sorted((run / "reports" / "drills").glob("drill-dc-site-loss-*.html"))), None)
    if not sla or not drill:
        print(f"{run}: the demo run has no SLA or dc-site-loss drill report (did it finish?)", file=sys.stderr)
        return 2
    HERE.mkdir(exist_ok=True)
    shoot(Path(sla), HERE / "sla-report.png")
    shoot(Path(drill), HERE / "drill-report.png")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
