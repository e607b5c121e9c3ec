"""This package against `lime` 0.2.0.1, in one run, one thread each.

Same image (the bundled patch), levels (10, 25, 50, 100, 200), SLIC
compactness 5, samples (10 · s' per level), hide colour and model on both
sides; lime runs one explain_instance per level (its batch of 10), which is
what multi-scale LIME asks of it; ours explains all levels in one call
(batches of 10 too). Two models: the bundled CNN through onnxruntime
(intra-op threads 1), and a near-free numpy model (mean red). Rounds are
interleaved (lime, ours, lime, ours, ...) so the machine's drift hits both;
the table gives medians and the ratio of medians.

usage: python python/benchmarks/bench_vs_lime.py [ROUNDS]     (default 5)
needs: this package (pip install ./python), numpy, pillow, scikit-image,
lime==0.2.0.1, onnxruntime (tools/requirements.txt)
"""

import os

# One thread each, set before numpy, onnxruntime and the engine start.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import json
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime
from lime import lime_image
from PIL import Image
from skimage.segmentation import slic

import multiscale_lime as ml

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROOT = pathlib.Path(__file__).resolve().parents[2]
LEVELS = [10, 25, 50, 100, 200]
image8 = np.asarray(Image.open(ROOT / "assets" / "ihc_patch96.png").convert("RGB"))
image = image8.astype(np.float64) / 255.0
counts = [int(slic(image, n_segments=s, compactness=5, start_label=0).max()) + 1 for s in LEVELS]
assert counts == [int(l.max()) + 1 for l in (ml.slic(image8, s, compactness=5, start_label=0) for s in LEVELS)]

options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = onnxruntime.InferenceSession(
    str(ROOT / "assets" / "models" / "ihc_dab_cnn.onnx"), options, providers=["CPUExecutionProvider"]
)
name = session.get_inputs()[0].name


def cnn(batch):
    x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
    return session.run(None, {name: x})[0]


def mean_red(batch):
    red = batch[..., 0].mean(axis=(1, 2))
    return np.stack([red, 1.0 - red], axis=1)


def run_lime(model, hide):
    start = time.perf_counter()
    for s, actual in zip(LEVELS, counts):
        explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
        explainer.explain_instance(
            image,
            model,
            top_labels=1,
            hide_color=hide,
            num_samples=10 * actual,
            batch_size=10,
            segmentation_fn=lambda x, s=s: slic(x, n_segments=s, compactness=5, start_label=0),
            random_seed=0,
        )
    return time.perf_counter() - start


def run_ours(model, hide):
    start = time.perf_counter()
    ml.explain(image8, model, preset="paper", levels=LEVELS, hide_color=hide, batch_size=10, seed=0)
    return time.perf_counter() - start


def inference(model):
    """The model alone on the same number of images, in batches of 10."""
    batch = np.repeat(image[None].astype(np.float32), 10, axis=0)
    start = time.perf_counter()
    for _ in range(10 * sum(counts) // 10):
        model(batch)
    return time.perf_counter() - start


rows = {}
for label, model, hide in [("bundled CNN (onnxruntime)", cnn, 1.0), ("near-free (mean red)", mean_red, 0.0)]:
    run_lime(model, hide), run_ours(model, hide)  # warm-up
    lime_s, ours_s, model_s = [], [], []
    for _ in range(ROUNDS):
        lime_s.append(run_lime(model, hide))
        ours_s.append(run_ours(model, hide))
        model_s.append(inference(model))
    rows[label] = {
        "lime_s": statistics.median(lime_s),
        "ours_s": statistics.median(ours_s),
        "model_s": statistics.median(model_s),
        "lime_range_s": [min(lime_s), max(lime_s)],
        "ours_range_s": [min(ours_s), max(ours_s)],
    }

print(f"patch 96², levels {LEVELS} (s' = {counts}), {10 * sum(counts)} model calls' worth of images, one thread, median of {ROUNDS}")
print("| model | lime 0.2.0.1 | multiscale_lime | speed-up | model alone |")
print("|---|---|---|---|---|")
for label, r in rows.items():
    print(
        f"| {label} | {r['lime_s']:.3f} s | {r['ours_s']:.3f} s | {r['lime_s'] / r['ours_s']:.1f}× | {r['model_s']:.3f} s |"
    )
out = ROOT / "target" / "bench_python_vs_lime.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps({"levels": LEVELS, "counts": counts, "rounds": ROUNDS, "rows": rows}, indent=1))
