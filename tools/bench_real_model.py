"""End-to-end speed with a real model: the bundled CNN
(assets/models/ihc_dab_cnn.onnx) explained on the bundled patch, this crate
(ONNX Runtime and tract backends) against Python `lime` 0.2.0.1 with
`onnxruntime`, measured in one run, interleaved round by round.

Same model, image, levels (10, 25, 50, 100, 200), compactness (5), samples
(10 * s' per level), white hide colour and no metrics on both sides; lime
runs one explain_instance per level (batch_size 10, its default), exactly
what multi-scale LIME asks of it. One thread: ONNX Runtime's intra-op
threads = 1 and RAYON_NUM_THREADS = 1; two threads: 2 and 2.

Also measured: pure inference per image (Python onnxruntime at lime's batch
of 10; ours: time inside the classifier during the explanation, and the very
batches of an explanation scored again alone, in parallel as the explainer
runs them), so the library's own share is visible: the explanation's time
over the time of its batches alone.

usage: python3 tools/bench_real_model.py [ROUNDS]      (default 3)
needs: numpy, pillow, scikit-image==0.26.*, lime==0.2.0.1, onnxruntime==1.32.0
(tools/requirements.txt); builds the Rust side with cargo and fetches
ONNX Runtime's library with tools/fetch_onnxruntime.py. Writes the table
to target/bench_real_model.json as well.
"""
import json, os, statistics, subprocess, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
import numpy as np
import onnxruntime as ort
from PIL import Image
from skimage.segmentation import slic
from lime import lime_image

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = [10, 25, 50, 100, 200]
MODEL = os.path.join(ROOT, "assets/models/ihc_dab_cnn.onnx")
THREADS = [1, 2]

library = subprocess.run([sys.executable, os.path.join(ROOT, "tools/fetch_onnxruntime.py")],
                         capture_output=True, text=True, check=True).stdout.strip()
subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "cnn_timing"], cwd=ROOT, check=True)
exe = os.path.join(ROOT, "target", "release", "examples", "cnn_timing")
img = np.asarray(Image.open(os.path.join(ROOT, "assets/ihc_patch96.png")).convert("RGB"), dtype=np.float64) / 255.0
counts = [int(slic(img, n_segments=s, compactness=5, start_label=0).max()) + 1 for s in LEVELS]
samples = 10 * sum(counts)


def session(threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])


sessions = {t: session(t) for t in THREADS}


def predictor(sess):
    name = sess.get_inputs()[0].name

    def predict(batch):
        x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        return sess.run(None, {name: x})[0]

    return predict


def lime_multiscale(threads):
    predict = predictor(sessions[threads])
    start = time.perf_counter()
    for s, actual in zip(LEVELS, counts):
        seg = lambda x, s=s: slic(x, n_segments=s, compactness=5, start_label=0)
        explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
        explainer.explain_instance(img, predict, top_labels=1, hide_color=1.0, num_samples=10 * actual,
                                   batch_size=10, segmentation_fn=seg, random_seed=0)
    return time.perf_counter() - start


def python_inference(threads):
    """ms per image, onnxruntime from Python, batches of 10 perturbed patches."""
    predict = predictor(sessions[threads])
    rng = np.random.default_rng(0)
    batch = np.repeat(img[None], 10, axis=0)
    batch[rng.random(batch.shape[:3]) < 0.5] = 1.0
    predict(batch)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(50):
            predict(batch)
        best = min(best, (time.perf_counter() - start) / 500 * 1e3)
    return best


def ours(backend, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), ORT_DYLIB_PATH=library)
    line = subprocess.run([exe, backend, "1"] + [str(s) for s in LEVELS],
                          capture_output=True, text=True, check=True, env=env).stdout
    fields = dict(f.split("=") for f in line.split())
    assert int(fields["samples"]) == samples, (fields, samples)
    return float(fields["median_ms"]) / 1e3, float(fields["model_ms"]) / 1e3, float(fields["replay_ms"]) / 1e3


times = {}
for r in range(ROUNDS):
    for t in THREADS:
        times.setdefault(("lime", t), []).append(lime_multiscale(t))
        for backend in ["ort", "tract"]:
            total, model, replay = ours(backend, t)
            times.setdefault((backend, t), []).append(total)
            times.setdefault((backend + " model", t), []).append(model)
            times.setdefault((backend + " replay", t), []).append(replay)
inference = {t: python_inference(t) for t in THREADS}

med = {k: statistics.median(v) for k, v in times.items()}
rows = []
print(f"bundled CNN, bundled patch, levels {LEVELS}, {samples} model calls per explanation, "
      f"median of {ROUNDS} interleaved rounds")
print(f"{'':34} {'1 thread':>10} {'2 threads':>10}")
for label, key in [("Python lime + onnxruntime (s)", "lime"), ("ours, ONNX Runtime (s)", "ort"),
                   ("ours, tract (s)", "tract")]:
    print(f"{label:34} " + " ".join(f"{med[(key, t)]:>10.2f}" for t in THREADS))
for backend in ["ort", "tract"]:
    print(f"{'lime / ours ' + backend:34} " + " ".join(f"{med[('lime', t)] / med[(backend, t)]:>10.2f}" for t in THREADS))
print("pure inference, ms per image:")
print(f"{'  onnxruntime from Python, batch 10':34} " + " ".join(f"{inference[t]:>10.3f}" for t in THREADS))
for backend, name in [("ort", "ONNX Runtime"), ("tract", "tract")]:
    # Inside the classifier, summed over threads: per image per thread.
    print(f"{'  ours, ' + name + ' (in explain)':34} "
          + " ".join(f"{med[(backend + ' model', t)] / samples * 1e3:>10.3f}" for t in THREADS))
for backend, name in [("ort", "ONNX Runtime"), ("tract", "tract")]:
    print(f"{'  ' + name + ', same batches alone':34} "
          + " ".join(f"{med[(backend + ' replay', t)] / samples * 1e3:>10.3f}" for t in THREADS))
print("explanation / the same batches scored alone:")
for backend in ["ort", "tract"]:
    print(f"{'  ' + backend:34} " + " ".join(f"{med[(backend, t)] / med[(backend + ' replay', t)]:>10.3f}" for t in THREADS))
for backend in ["ort", "tract"]:
    print(f"{'  library share, ' + backend:34} "
          + " ".join(f"{1 - med[(backend + ' model', t)] / t / med[(backend, t)]:>10.1%}" for t in THREADS))
result = {
    "levels": LEVELS, "samples": samples, "rounds": ROUNDS,
    "seconds": {f"{k[0]} {k[1]}t": v for k, v in med.items()},
    "python_inference_ms_per_image": {f"{t}t": inference[t] for t in THREADS},
}
os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
with open(os.path.join(ROOT, "target", "bench_real_model.json"), "w") as f:
    json.dump(result, f, indent=1)
