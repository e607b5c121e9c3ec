"""Explains the bundled CNN's decision on the bundled IHC patch, with the
model run by onnxruntime, and writes the paper's panel figure.

usage: python python/examples/explain_cnn.py [OUT_DIR]      (default out/python)
needs: this package (pip install ./python), numpy, pillow, onnxruntime
"""

import pathlib
import sys

import numpy as np
import onnxruntime
from PIL import Image

import multiscale_lime as ml

ROOT = pathlib.Path(__file__).resolve().parents[2]
out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "python"
out.mkdir(parents=True, exist_ok=True)

# A 96×96 RGB patch and a CNN taking N×3×96×96 float32 in [0, 1]
# (assets/models/ihc_dab_cnn.txt): class 0 DAB-poor, class 1 DAB-rich.
image = np.asarray(Image.open(ROOT / "assets" / "ihc_patch96.png").convert("RGB"))
session = onnxruntime.InferenceSession(
    str(ROOT / "assets" / "models" / "ihc_dab_cnn.onnx"), providers=["CPUExecutionProvider"]
)
input_name = session.get_inputs()[0].name


def predict(batch):
    """N×H×W×3 float32 in [0, 1] → N×2 probabilities."""
    nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    return session.run(None, {input_name: nchw})[0]


# The defaults (the recommended preset): SLIC at five scales, compactness
# 20, 2·s' orthogonal masks per level, log-odds of the probabilities, the
# density fusion; white is "no tissue, no stain" in brightfield, so hidden
# superpixels are white. preset="paper" gives the paper's setting.
# Both classes from one set of model calls.
explanation = ml.explain(image, predict, hide_color=1.0, seed=0, top_labels=2)
c = explanation.predicted_class
print(f"predicted class {c} ({['DAB-poor', 'DAB-rich'][c]}), p = {explanation.prediction[c]:.3f}")
for level in explanation.levels:
    print(f"  level {level.desired:>3}: {level.actual:>3} superpixels, R² {level.r2:.3f}")
print(f"  fusion weights {np.round(explanation.weights, 3).tolist()}")

# Where is the DAB evidence? Deleting the superpixels the DAB-rich map ranks
# first should drop P(DAB-rich) fast (a low area under the curve).
rich = explanation.heatmap_for(1)
deletion = ml.deletion_curve(image, rich, predict, 1, hide_color=1.0)
print(
    f"DAB-rich map: deletion AUC {deletion.auc:.4f} "
    f"(P(DAB-rich) = {explanation.prediction[1]:.3f} on the full patch; lower is better)"
)

explanation.panel(out / "panel.png")
explanation.panel(out / "panel_dab_rich.png", class_=1)
ml.save_png(ml.overlay(image, explanation.heatmap), out / "overlay.png")
np.save(out / "heatmap.npy", explanation.heatmap)
print(f"figures written to {out}/ (panel.png, panel_dab_rich.png, overlay.png, heatmap.npy)")
