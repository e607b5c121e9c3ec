#!/usr/bin/env python3
"""How fast a large batch report opens: `mslime batch` over N patches of the
bundled IHC image (default 500), then report.html opened in headless
Chromium (tools/browser.py), a fresh browser per try, timed by the page's
own clock from navigation start:

  ready   the page has drawn its grid (window.mslimeReady)
  load    the load event (lazy thumbnails out of view do not delay it)
  shown   every thumbnail in view has loaded and decoded
  panel   a click on the first card until its panel shows its image

usage: target/pyenv/bin/python tools/bench_report.py [--images N] [--tries K]
       (needs pillow from tools/requirements.txt and a release build:
        cargo build --release -p mslime)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import browser  # noqa: E402

WAIT = """(async () => {
  const visible = () => [...document.querySelectorAll('#grid img')].filter(i => {
    const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  for (let k = 0; k < 400; k++) {
    const v = visible();
    if (v.length && v.every(i => i.complete && i.naturalWidth > 0)) {
      await Promise.all(v.map(i => i.decode().catch(() => null)));
      return {shown: performance.now(), count: v.length};
    }
    await new Promise(r => setTimeout(r, 5));
  }
  return null; })()"""

PANEL = """(async () => {
  const t0 = performance.now();
  document.querySelector('#grid .card').click();
  for (let k = 0; k < 400; k++) {
    const img = document.querySelector('#stage img');
    if (img && img.complete && img.naturalWidth > 0) return performance.now() - t0;
    await new Promise(r => setTimeout(r, 5));
  }
  return null; })()"""


def make_batch(images, workdir):
    source = Image.open(os.path.join(ROOT, "assets", "ihc.png")).convert("RGB")
    inputs = os.path.join(workdir, "in")
    os.makedirs(inputs)
    span = source.width - 96
    for i in range(images):
        x, y = (i * 37) % span, (i * 91) % span
        source.crop((x, y, x + 96, y + 96)).save(os.path.join(inputs, "patch_%04d.png" % i))
    out = os.path.join(workdir, "out")
    subprocess.run(
        [os.path.join(ROOT, "target", "release", "mslime"), "batch", inputs,
         "--model", os.path.join(ROOT, "assets", "models", "ihc_dab_cnn.onnx"),
         "--out", out, "--no-metrics", "--backend", "tract"],
        check=True,
    )
    return os.path.join(out, "report.html")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--keep", help="folder to keep the batch in (default: a temporary one)")
    args = parser.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix="mslime-bench-report-")
    try:
        page = os.path.join(workdir, "out", "report.html")
        if not os.path.exists(page):
            page = make_batch(args.images, workdir)
        size = os.path.getsize(page)
        rows = []
        for _ in range(args.tries):
            b = browser.Browser(1280, 800)
            try:
                b.call("Page.navigate", {"url": "file://" + page}, session=True)
                b.wait_for("Page.loadEventFired")
                timing = b.evaluate(
                    "({load: performance.getEntriesByType('navigation')[0].loadEventEnd,"
                    " ready: window.mslimeReady})")
                shown = b.evaluate(WAIT)
                panel = b.evaluate(PANEL)
                errors, _ = b.problems()
            finally:
                b.close()
            if errors or shown is None or panel is None:
                sys.exit("the page failed: %s" % (errors or "thumbnails or panel never showed"))
            rows.append((timing["ready"], timing["load"], shown["shown"], panel, shown["count"]))
        print("%d images, report.html %.0f KiB, %d thumbnails in view, %d tries (fresh browser each)"
              % (args.images, size / 1024, rows[0][4], len(rows)))
        for name, i in (("ready", 0), ("load", 1), ("shown", 2), ("panel", 3)):
            values = [r[i] for r in rows]
            print("%-6s median %6.0f ms   range %6.0f – %6.0f ms"
                  % (name, statistics.median(values), min(values), max(values)))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
