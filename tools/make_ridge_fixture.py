"""Writes tests/data/ridge_sklearn.txt: weighted ridge problems solved by
scikit-learn, the independent oracle for `Ridge`.

usage: python3 tools/make_ridge_fixture.py   (needs numpy, scikit-learn)

Format, one problem after another:
  problem <n> <k> <alpha> <fit_intercept 0|1>
  z <n*k binary values, row-major>
  y <n values>
  w <n values>
  coef <k values>
  intercept <value>
  score <weighted R^2>
"""
import numpy as np
from sklearn.linear_model import Ridge

rng = np.random.default_rng(20261124)
lines = []
for n, k, alpha, fit_intercept in [(40, 6, 1.0, True), (200, 25, 1.0, True),
                                   (30, 5, 0.5, False), (12, 3, 10.0, True)]:
    z = (rng.random((n, k)) < 0.5).astype(np.float64)
    z[0] = 1.0
    y = rng.random(n) * 0.8 + z @ rng.normal(size=k) * 0.1
    w = np.sqrt(np.exp(-((1 - np.sqrt(z.sum(1) / k)) ** 2) / 0.25 ** 2))
    m = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky").fit(z, y, sample_weight=w)
    lines.append(f"problem {n} {k} {alpha!r} {int(fit_intercept)}")
    lines.append("z " + " ".join(str(int(v)) for v in z.ravel()))
    lines.append("y " + " ".join(repr(float(v)) for v in y))
    lines.append("w " + " ".join(repr(float(v)) for v in w))
    lines.append("coef " + " ".join(repr(float(v)) for v in m.coef_))
    lines.append(f"intercept {float(m.intercept_)!r}")
    lines.append(f"score {float(m.score(z, y, sample_weight=w))!r}")
open("tests/data/ridge_sklearn.txt", "w").write("\n".join(lines) + "\n")
print("wrote", len(lines) // 7, "problems")
