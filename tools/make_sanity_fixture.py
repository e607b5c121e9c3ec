"""Reference values for the sanity checks' similarity metrics
(faithfulness/src/sanity/similarity.rs), from SciPy and scikit-image.

    python3 tools/make_sanity_fixture.py     # needs numpy, scipy, scikit-image

Writes faithfulness/tests/data/sanity_similarity.json: a few fixed pairs of
float32 maps (random, with ties, smooth and shifted, non-square) and for each
  spearman      scipy.stats.spearmanr(a, b) over the flattened values
  spearman_abs  the same of |a| and |b|
  ssim          skimage.metrics.structural_similarity(x, y, data_range=1)
                with x, y the maps min-max scaled to [0, 1] in float64 (the
                defaults otherwise: 7x7 uniform window, K1 0.01, K2 0.03,
                sample covariance, mean over the cropped valid region)
faithfulness/tests/sanity.rs reads it.
"""
import json
import os

import numpy as np
import scipy
import skimage
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "faithfulness/tests/data/sanity_similarity.json")
rng = np.random.default_rng(2018)


def blob(h, w, cy, cx, r):
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))


def pairs():
    a = rng.normal(size=(16, 16))
    yield "random-correlated", a, 0.6 * a + 0.8 * rng.normal(size=a.shape)
    q = rng.integers(-2, 3, size=(12, 14)).astype(float)
    yield "ties", q, np.clip(q + rng.integers(-1, 2, size=q.shape), -2, 2)
    yield "smooth-shifted", blob(10, 9, 4, 4, 2.5), blob(10, 9, 5, 3, 2.0) - 0.3
    s = gaussian_filter(rng.normal(size=(9, 20)), 1.5)
    yield "smooth-vs-noise", s, rng.uniform(-1, 1, size=s.shape)


def scaled(m):
    m = m.astype(np.float64)
    span = m.max() - m.min()
    return (m - m.min()) / span if span > 0 else np.zeros_like(m)


def rows(m):
    # Shortest text that reads back as the same float32 (what Rust parses).
    return "[" + ",\n   ".join("[" + ", ".join(str(v) for v in row) + "]" for row in m) + "]"


cases = []
for name, a, b in pairs():
    a, b = a.astype(np.float32), b.astype(np.float32)
    cases.append((name, a, b, {
        "spearman": float(spearmanr(a.ravel(), b.ravel()).statistic),
        "spearman_abs": float(spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic),
        "ssim": float(structural_similarity(scaled(a), scaled(b), data_range=1.0)),
    }))

versions = {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__}
with open(OUT, "w") as f:
    f.write('{"generator": "tools/make_sanity_fixture.py",\n')
    f.write(f' "versions": {json.dumps(versions)},\n "cases": [\n')
    for i, (name, a, b, values) in enumerate(cases):
        f.write(f'  {{"name": {json.dumps(name)},\n')
        for k, v in values.items():
            f.write(f'   "{k}": {v!r},\n')
        f.write(f'   "a": {rows(a)},\n   "b": {rows(b)}}}')
        f.write(",\n" if i + 1 < len(cases) else "\n")
    f.write(" ]}\n")
check = json.load(open(OUT))
assert all(np.array_equal(np.array(c["a"], dtype=np.float32), a)
           for c, (_, a, _, _) in zip(check["cases"], cases))
print(f"{len(cases)} pairs in {OUT}")
