"""SLIC speed, ours against scikit-image, measured in one run on the same
images and parameters (single-threaded on both sides).

usage: python3 tools/bench_slic_vs_skimage.py [REPEATS]
needs: numpy, pillow, scikit-image==0.26.*; builds the Rust side with cargo.
"""
import os, subprocess, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
from PIL import Image
from skimage.segmentation import slic

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [("assets/ihc_patch96.png", [25, 100, 400]), ("assets/ihc.png", [25, 100, 400])]

subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "slic_timing"], cwd=ROOT, check=True)
exe = os.path.join(ROOT, "target", "release", "examples", "slic_timing")

print(f"{'image':24} {'n':>4} {'count':>5} {'skimage ms':>11} {'ours ms':>8} {'speed-up':>9}")
for path, ns in CASES:
    img = np.asarray(Image.open(os.path.join(ROOT, path)).convert("RGB"))
    out = subprocess.run([exe, os.path.join(ROOT, path), "5", str(REPEATS)] + [str(n) for n in ns],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    ours = {int(l.split()[0]): (int(l.split()[1]), float(l.split()[2])) for l in out if l.strip()}
    for n in ns:
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            labels = slic(img, n_segments=n, compactness=5, start_label=0)
            times.append((time.perf_counter() - t) * 1e3)
        sk = float(np.median(times))
        count, ms = ours[n]
        assert count == labels.max() + 1, (path, n, count, labels.max() + 1)
        print(f"{path:24} {n:>4} {count:>5} {sk:>11.2f} {ms:>8.2f} {sk / ms:>8.1f}x")
