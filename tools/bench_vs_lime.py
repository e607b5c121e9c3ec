"""Whole-explanation speed, ours against the Python reference pipeline
(lime 0.2.0.1 with scikit-image SLIC per level), measured in one run.

Same images, levels, compactness (5), samples (10 * s' per level), hide
colour (black) and a near-free classifier (mean red) on both sides; lime runs
one explain_instance per level, exactly what multi-scale LIME asks of it.
Ours runs on 1 thread and on all threads (RAYON_NUM_THREADS).

usage: python3 tools/bench_vs_lime.py [REPEATS [ONLY]]
(ONLY: run just the cases whose image path contains it, e.g. "patch")
needs: numpy, pillow, scikit-image==0.26.*, lime==0.2.0.1; builds the Rust side with cargo.
"""
import os, subprocess, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # lime draws progress bars otherwise
import numpy as np
from PIL import Image
from skimage.segmentation import slic
from lime import lime_image

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [("assets/ihc_patch96.png", [10, 25, 50, 100]), ("assets/ihc.png", [100, 200, 400, 800])]
if len(sys.argv) > 2:
    CASES = [c for c in CASES if sys.argv[2] in c[0]]

subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "lime_timing"], cwd=ROOT, check=True)
exe = os.path.join(ROOT, "target", "release", "examples", "lime_timing")


def mean_red(batch):
    red = batch[..., 0].mean(axis=(1, 2))
    return np.stack([red, 1.0 - red], axis=1)


def actual_counts(img, levels):
    """s' per level, found before the clock starts: lime's own segmentation
    call inside explain_instance is then the only SLIC run that is timed."""
    return [int(slic(img, n_segments=s, compactness=5, start_label=0).max()) + 1 for s in levels]


def lime_multiscale(img, levels, counts):
    for s, actual in zip(levels, counts):
        seg = lambda x, s=s: slic(x, n_segments=s, compactness=5, start_label=0)
        explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
        explainer.explain_instance(img, mean_red, top_labels=1, hide_color=0, num_samples=10 * actual,
                                   segmentation_fn=seg, random_seed=0)


def ours(path, levels, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    line = subprocess.run([exe, os.path.join(ROOT, path), str(REPEATS)] + [str(s) for s in levels],
                          capture_output=True, text=True, check=True, env=env).stdout
    fields = dict(f.split("=") for f in line.split() if "=" in f and not f.startswith("levels"))
    return int(fields["samples"]), float(fields["median_ms"])


cores = os.cpu_count() or 1
print(f"{'image':24} {'levels':22} {'samples':>8} {'lime s':>8} {'ours 1t ms':>11} {'ratio 1t':>9} "
      f"{f'ours {cores}t ms':>11} {f'ratio {cores}t':>9}")
for path, levels in CASES:
    img = np.asarray(Image.open(os.path.join(ROOT, path)).convert("RGB")).astype(np.float64) / 255.0
    counts = actual_counts(img, levels)
    samples = 10 * sum(counts)
    times = []
    for _ in range(1 if img.shape[0] > 200 else REPEATS):
        t = time.perf_counter()
        lime_multiscale(img, levels, counts)
        times.append(time.perf_counter() - t)
    lime_s = sorted(times)[len(times) // 2]
    ours_samples, one = ours(path, levels, 1)
    _, many = ours(path, levels, cores)
    print(f"{path:24} {str(levels):22} {samples:>8} {lime_s:>8.2f} {one:>11.1f} {lime_s * 1e3 / one:>9.1f} "
          f"{many:>11.1f} {lime_s * 1e3 / many:>9.1f}"
          + ("" if ours_samples == samples else f"  (ours drew {ours_samples} samples)"))
