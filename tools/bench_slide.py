#!/usr/bin/env python3
"""A slide's prediction map, timed in one run: this crate's pipeline
(`predict_tiles`: tiles read and decoded on another thread while the model
runs) against the model's pure inference rate on the same tiles decoded
beforehand, and against the loop a Python user writes (openslide-python
reads each tile, numpy stacks a batch, onnxruntime scores it) with its own
pure inference rate. Same tiles (the crate's tissue tiles of level 0, in
its order), same model, same batch, same ONNX Runtime version and thread
count; rounds interleave the two sides.

    python3 -m venv target/slide-bench-venv
    target/slide-bench-venv/bin/pip install -r tools/requirements-slide-bench.txt
    target/slide-bench-venv/bin/python tools/bench_slide.py [SLIDE] [--rounds 3] [--batch 32] [--threads 1]

SLIDE defaults to CMU-1-Small-Region.svs (tools/fetch_test_slide.py).
Prints each round's tiles per second and a summary table (median, range).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import openslide

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "assets", "models", "ihc_dab_cnn.onnx")


def fetch(script):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", script)],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def rust_round(slide, batch, threads, tiles_out, env, max_tiles):
    cmd = [os.path.join(ROOT, "target", "release", "examples", "slide_throughput"),
           slide, MODEL, str(batch), "1", tiles_out]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(env, INTRA_THREADS=str(threads),
                                  **({"MAX_TILES": str(max_tiles)} if max_tiles else {}))).stdout
    rates = {}
    for line in out.splitlines():
        fields = dict(f.split("=") for f in line.split())
        rates[fields["mode"]] = float(fields["tiles_per_s"])
    return rates


def python_loop(slide, session, name, tiles, batch):
    """Tiles per second of the loop a user writes; returns the batches too."""
    start = time.perf_counter()
    arrays = []
    for i in range(0, len(tiles), batch):
        images = [np.asarray(slide.read_region((x, y), 0, (96, 96)).convert("RGB"), dtype=np.float32)
                  for x, y in tiles[i:i + batch]]
        array = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2) / 255.0, dtype=np.float32)
        session.run(None, {name: array})
        arrays.append(array)
    return len(tiles) / (time.perf_counter() - start), arrays


def python_round(slide_path, tiles, batch, threads):
    """The loop a user writes (over the crate's tiles in its order, and in
    rows from the top left as a plain double loop visits them, each on a
    freshly opened slide), then the model alone on the same arrays."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    # One batch untimed: the runtime's first runs allocate.
    warm = np.zeros((batch, 3, 96, 96), dtype=np.float32)
    session.run(None, {name: warm})
    loop, arrays = python_loop(openslide.OpenSlide(slide_path), session, name, tiles, batch)
    rows = sorted(tiles, key=lambda t: (t[1], t[0]))
    loop_rows, _ = python_loop(openslide.OpenSlide(slide_path), session, name, rows, batch)
    start = time.perf_counter()
    for array in arrays:
        session.run(None, {name: array})
    inference = len(tiles) / (time.perf_counter() - start)
    return {"python loop": loop, "python loop, rows": loop_rows, "python inference": inference}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slide", nargs="?")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tiles", type=int, help="the first N tissue tiles only")
    args = parser.parse_args()
    slide = args.slide or fetch("fetch_test_slide.py")
    env = dict(os.environ, ORT_DYLIB_PATH=fetch("fetch_onnxruntime.py"))
    subprocess.run(["cargo", "build", "--release", "-q", "--features", "slide,ort",
                    "--example", "slide_throughput"], check=True, cwd=ROOT)
    tiles_out = os.path.join(ROOT, "target", "bench_slide_tiles.txt")
    rates = {}
    for r in range(args.rounds):
        got = rust_round(slide, args.batch, args.threads, tiles_out, env, args.max_tiles)
        with open(tiles_out) as f:
            tiles = [tuple(int(v) for v in line.split()) for line in f]
        got.update(python_round(slide, tiles, args.batch, args.threads))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in got.items()), flush=True)
        for k, v in got.items():
            rates.setdefault(k, []).append(v)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\n{os.path.basename(slide)}: {len(tiles)} tissue tiles of 96x96 at level 0, "
          f"batch {args.batch}, ONNX Runtime {ort.__version__} with {args.threads} thread(s), "
          f"OpenSlide {openslide.__library_version__}, {os.cpu_count()} cores")
    print("| | tiles/s, median | range |")
    print("|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {med[k]:.0f} | {min(v):.0f}–{max(v):.0f} |")
    print(f"\ncrate pipeline / its pure inference: {med['pipeline'] / med['inference']:.2f}")
    print(f"crate pipeline / Python loop: {med['pipeline'] / med['python loop']:.2f}x "
          f"(same order), {med['pipeline'] / med['python loop, rows']:.2f}x (rows)")


if __name__ == "__main__":
    main()
