"""What a user gets without settings, timed against Python `lime`: the bundled
CNN (assets/models/ihc_dab_cnn.onnx) explained on the bundled patch, one
thread, every contender in the same run, interleaved round by round.

Contenders, all with white hidden superpixels (the CNN's background) and
levels 10, 25, 50, 100, 200:
- lime: Python `lime` 0.2.0.1 + `onnxruntime`, one explain_instance per
  level with the paper's samples (10 * s' per level, SLIC compactness 5),
  the work multi-scale LIME asks of it; timed in this process;
- mslime: `mslime explain` with its defaults (ONNX Runtime), the whole
  process as a user runs it, with and without the evaluation metrics;
- mslime paper: `mslime explain --preset paper --no-metrics`, its
  explanation time (`explain_ms` of explanation.json), against
- library paper: the library's own explanation of the same settings
  (`cnn_timing ort`, PRESET=paper, batches as the CLI's);
- main job: the README's `cargo run --release --example explain` binary
  (tract, nothing installed), the explanation time it prints.

One thread: ONNX Runtime's intra-op threads = 1, RAYON_NUM_THREADS = 1 and
every process pinned to one core (taskset). The machine drifts: compare
within a round, read the medians and ranges.

usage: python3 tools/bench_defaults.py [ROUNDS]      (default 5)
needs: numpy, pillow, scikit-image==0.26.*, lime==0.2.0.1, onnxruntime==1.32.0
(tools/requirements.txt); builds the Rust side with cargo. Writes the table
to target/bench_defaults.json as well.
"""
import json, os, re, statistics, subprocess, sys, tempfile, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
import numpy as np
import onnxruntime as ort
from PIL import Image
from lime import lime_image
from skimage.segmentation import slic

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = [10, 25, 50, 100, 200]
MODEL = os.path.join(ROOT, "assets/models/ihc_dab_cnn.onnx")
PATCH = os.path.join(ROOT, "assets/ihc_patch96.png")
PIN = ["taskset", "-c", "0"]

library = subprocess.run([sys.executable, os.path.join(ROOT, "tools/fetch_onnxruntime.py")],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "mslime"],
               cwd=ROOT, check=True)
subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "multiscale-lime-demo",
                "--example", "cnn_timing", "--example", "explain"], cwd=ROOT, check=True)
release = os.path.join(ROOT, "target", "release")
mslime = os.path.join(release, "mslime")
cnn_timing = os.path.join(release, "examples", "cnn_timing")
main_job = os.path.join(release, "examples", "explain")
env = dict(os.environ, RAYON_NUM_THREADS="1", ORT_DYLIB_PATH=library)
env.pop("PRESET", None)

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name


def predict(batch):
    # lime hands N×H×W×3 floats in [0, 1] (the image as given); the model
    # takes N×3×H×W.
    x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
    return session.run(None, {name: x})[0]


image = np.asarray(Image.open(PATCH).convert("RGB"), dtype=np.float64) / 255.0
counts = [int(slic(image, n_segments=s, compactness=5, start_label=0).max()) + 1 for s in LEVELS]


def lime_seconds():
    start = time.perf_counter()
    for s, actual in zip(LEVELS, counts):
        seg = lambda x, s=s: slic(x, n_segments=s, compactness=5, start_label=0)
        explainer = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=0)
        explainer.explain_instance(image, predict, top_labels=1, hide_color=1.0,
                                   num_samples=10 * actual, segmentation_fn=seg, random_seed=0)
    return time.perf_counter() - start


def mslime_run(extra):
    """Whole-process seconds and the report of one `mslime explain`."""
    with tempfile.TemporaryDirectory() as out:
        args = PIN + [mslime, "explain", PATCH, "--model", MODEL, "--backend", "ort",
                      "--hide-color", "white", "--out", out] + extra
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        seconds = time.perf_counter() - start
        with open(os.path.join(out, "explanation.json")) as f:
            report = json.load(f)
    return seconds, report


def library_paper_seconds():
    line = subprocess.run(PIN + [cnn_timing, "ort", "1"] + [str(s) for s in LEVELS],
                          check=True, capture_output=True, text=True,
                          env=dict(env, PRESET="paper")).stdout
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    return float(fields["median_ms"]) / 1e3


def main_job_seconds():
    tract = {k: v for k, v in env.items() if k != "ORT_DYLIB_PATH"}
    with tempfile.TemporaryDirectory() as out:
        text = subprocess.run(PIN + [main_job, PATCH, out], check=True, capture_output=True,
                              text=True, env=tract).stdout
    return float(re.search(r"explained in (\d+) ms", text).group(1)) / 1e3


columns = ["lime", "mslime", "mslime no metrics", "mslime paper explain", "library paper",
           "main job (tract)", "mslime: model load", "mslime: explanation", "mslime: metrics"]
times = {c: [] for c in columns}
calls = {}
lime_seconds()  # warm-up: imports, the session's first runs
for r in range(ROUNDS):
    times["lime"].append(lime_seconds())
    seconds, report = mslime_run([])
    times["mslime"].append(seconds)
    calls["mslime"] = sum(level["calls"] for level in report["levels"])
    for part in ("model_load", "explanation", "metrics"):
        times["mslime: " + part.replace("_", " ")].append(report["timings_ms"][part] / 1e3)
    seconds, _ = mslime_run(["--no-metrics"])
    times["mslime no metrics"].append(seconds)
    _, report = mslime_run(["--preset", "paper", "--no-metrics"])
    times["mslime paper explain"].append(report["explain_ms"] / 1e3)
    calls["paper"] = sum(level["calls"] for level in report["levels"])
    times["library paper"].append(library_paper_seconds())
    times["main job (tract)"].append(main_job_seconds())
    print(f"round {r + 1}: " + ", ".join(f"{c} {times[c][-1]:.2f} s" for c in columns), flush=True)

# Ratios within each round, so the machine's drift cancels.
ratios = {
    "lime / mslime (whole process, defaults)": [a / b for a, b in zip(times["lime"], times["mslime"])],
    "lime / mslime --no-metrics": [a / b for a, b in zip(times["lime"], times["mslime no metrics"])],
    "lime / main job explanation (tract)": [a / b for a, b in zip(times["lime"], times["main job (tract)"])],
    "mslime --preset paper / library (explanation)": [
        a / b for a, b in zip(times["mslime paper explain"], times["library paper"])],
}
print(f"\nmodel calls: defaults {calls['mslime']}, paper {calls['paper']} "
      f"({100 * calls['mslime'] / calls['paper']:.0f} %)")
print(f"{'':48} {'median':>8} {'min':>8} {'max':>8}")
for c in columns:
    print(f"{c + ' (s)':48} {statistics.median(times[c]):8.3f} {min(times[c]):8.3f} {max(times[c]):8.3f}")
for k, v in ratios.items():
    print(f"{k:48} {statistics.median(v):8.2f} {min(v):8.2f} {max(v):8.2f}")
os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
with open(os.path.join(ROOT, "target", "bench_defaults.json"), "w") as f:
    json.dump({"times_s": times, "ratios": ratios, "calls": calls, "rounds": ROUNDS}, f, indent=1)
