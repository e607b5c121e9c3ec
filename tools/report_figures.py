#!/usr/bin/env python3
"""Redraws docs/figures/report_grid.png and report_panel.png.

Cuts 48 patches of 96 × 96 pixels out of assets/ihc.png (a 64-pixel
stride, row by row), explains them with `mslime batch` and the bundled CNN
at the defaults, and photographs the report in headless Chromium
(tools/browser.py, 1200 × 720): the grid sorted by uncertainty, high first;
patch_07's panel with level 3 and its outlines shown and the pointer on
pixel (59, 38).

usage: python tools/report_figures.py [WORK_DIR]    (default target/report_figures)

Needs pillow (tools/requirements.txt) and a release build of mslime
(`cargo build --release -p mslime`).
"""

import json
import pathlib
import shutil
import subprocess
import sys

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
PATCH, STRIDE, COUNT = 96, 64, 48

# Waits (up to 10 s) for a condition, then returns a value.
AFTER = (
    "(async () => {{ for (let i = 0; i < 200; i++) {{ if ({cond}) return {value}; "
    "await new Promise(r => setTimeout(r, 50)); }} return null; }})()"
)


def browse(url, shot, *evals):
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "browser.py"), url, "--size", "1200", "720",
         "--settle", "500", "--screenshot", str(shot)]
        + [arg for e in evals for arg in ("--eval", e)],
        check=True, capture_output=True, text=True,
    )
    report = json.loads(out.stdout)
    if report["errors"] or None in report["evals"]:
        sys.exit(f"{url}: {report}")


def main():
    work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target" / "report_figures")
    shutil.rmtree(work, ignore_errors=True)
    patches, out = work / "patches", work / "out"
    patches.mkdir(parents=True)
    ihc = Image.open(ROOT / "assets" / "ihc.png").convert("RGB")
    corners = [(y, x) for y in range(0, ihc.height - PATCH + 1, STRIDE)
               for x in range(0, ihc.width - PATCH + 1, STRIDE)][:COUNT]
    for k, (y, x) in enumerate(corners, 1):
        ihc.crop((x, y, x + PATCH, y + PATCH)).save(patches / f"patch_{k:02d}.png")
    mslime = ROOT / "target" / "release" / "mslime"
    subprocess.run([str(mslime), "batch", str(patches), "--model",
                    str(ROOT / "assets" / "models" / "ihc_dab_cnn.onnx"),
                    "--class-names", "DAB-poor,DAB-rich", "--out", str(out)], check=True)
    subprocess.run([str(mslime), "report", str(out), "--title", f"{COUNT} IHC patches"], check=True)
    page = (out / "report.html").as_uri()

    browse(page, FIGURES / "report_grid.png",
           "(() => { const s = document.getElementById('sort'); s.value = '-uncertainty'; "
           "s.dispatchEvent(new Event('input')); return 1; })()",
           AFTER.format(cond="[...document.querySelectorAll('#grid img')].slice(0, 21)"
                             ".every(i => i.complete && i.naturalWidth > 0)", value="1"))
    browse(page + "#panel=patch_07", FIGURES / "report_panel.png",
           AFTER.format(cond="document.getElementById('stage') && [...document.querySelectorAll("
                             "'#stage img')].every(i => i.complete && i.naturalWidth > 0)", value="1"),
           "(() => { document.querySelectorAll('#layers input')[3].click(); "
           "document.getElementById('edges').click(); return 1; })()",
           "(() => { const s = document.getElementById('stage'); const r = s.getBoundingClientRect(); "
           "s.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + 59.5 * r.width / 96, "
           "clientY: r.top + 38.5 * r.height / 96, bubbles: true })); "
           "return document.querySelectorAll('#hover-table tbody tr').length; })()")
    print(f"wrote {FIGURES / 'report_grid.png'} and {FIGURES / 'report_panel.png'}")


if __name__ == "__main__":
    main()
