"""How much would Hamerly-style bounds prune in SLIC? A numpy model.

Runs SLIC the literal way (every centre scores every pixel of its window,
distances as scikit-image computes them) and, from the second iteration on,
counts the pixels that carried bounds would settle: a pixel keeps its centre
when its distance to that centre stays below a lower bound on the distance
to every other centre. The bound is last iteration's second-nearest distance
(capped by the spatial distance no centre outside the window can beat),
decayed by the largest move of the centres whose windows hold the pixel.
Prints the share settled per iteration and checks that no settled pixel
would have changed label. Figures in docs/performance.md (SLIC section).

usage: python3 tools/slic_hamerly_model.py IMAGE N_SEGMENTS [COMPACTNESS]
needs: numpy, pillow, scikit-image.
"""
import sys

import numpy as np
from PIL import Image
from skimage.color import rgb2lab
from skimage.util import regular_grid

path, n = sys.argv[1], int(sys.argv[2])
compactness = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
img = np.asarray(Image.open(path).convert("RGB")).astype(float) / 255
H, W, _ = img.shape
f = rgb2lab(img) / compactness
grid = regular_grid((1, H, W), n)
step = max(s.step for s in grid)
sw = 1.0 / step**2
gy, gx = np.meshgrid(np.arange(H)[grid[1]], np.arange(W)[grid[2]], indexing="ij")
cy, cx = gy.ravel().astype(float), gx.ravel().astype(float)
cc = np.zeros((len(cy), 3))
K = len(cy)
win = regular_grid((1, H, W), K)
ry, rx = 2 * win[1].step, 2 * win[2].step
floor = np.sqrt(sw) * min(ry, rx)  # no centre outside the window is closer
Y, X = np.mgrid[0:H, 0:W]
alive = np.ones(K, bool)
labels = bound = previous = None
settled_total = 0.0


def window(k):
    return (int(max(cy[k] - ry, 0)), int(min(cy[k] + ry + 1, H)),
            int(max(cx[k] - rx, 0)), int(min(cx[k] + rx + 1, W)))


for it in range(10):
    D = np.full((K, H, W), np.inf)
    for k in np.flatnonzero(alive):
        y0, y1, x0, x1 = window(k)
        dy, dx = cy[k] - Y[y0:y1, x0:x1], cx[k] - X[y0:y1, x0:x1]
        t = f[y0:y1, x0:x1] - cc[k]
        D[k, y0:y1, x0:x1] = (dy * dy + dx * dx) * sw + (t * t).sum(-1)
    best = D.argmin(0)
    second = np.sqrt(np.sort(D, 0)[1])
    if labels is None:
        bound = np.minimum(second, floor)
        print(f"iteration {it}: settled 0.0 % (no bounds yet)")
    else:
        move = np.sqrt(sw * ((cy - previous[0]) ** 2 + (cx - previous[1]) ** 2)
                       + ((cc - previous[2]) ** 2).sum(-1))
        local = np.zeros((H, W))
        for k in np.flatnonzero(alive):
            y0, y1, x0, x1 = window(k)
            local[y0:y1, x0:x1] = np.maximum(local[y0:y1, x0:x1], move[k])
        bound = np.minimum(bound - local, floor)
        own = np.sqrt(np.take_along_axis(D, labels[None], 0)[0])
        settled = own * (1 + 1e-9) + 1e-9 < bound
        wrong = int((settled & (best != labels)).sum())
        settled_total += settled.mean()
        print(f"iteration {it}: settled {settled.mean() * 100:.1f} %, "
              f"labels changed {(best != labels).mean() * 100:.2f} %, settled but changed {wrong}")
        # Settled pixels are not rescored: they keep the decayed bound.
        bound = np.where(settled, bound, np.minimum(second, floor))
    labels = best
    previous = (cy.copy(), cx.copy(), cc.copy())
    for k in range(K):
        mine = labels == k
        if not mine.any():
            alive[k] = False
            continue
        cy[k], cx[k], cc[k] = Y[mine].mean(), X[mine].mean(), f[mine].mean(0)
print(f"pixel-iterations settled: {settled_total / 10 * 100:.1f} %")
