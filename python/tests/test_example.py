"""The example explains the bundled CNN through onnxruntime and writes
its figures."""

import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import ROOT


def test_the_cnn_example_writes_the_panel_figure(tmp_path):
    script = ROOT / "python" / "examples" / "explain_cnn.py"
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "predicted class" in run.stdout and str(tmp_path) in run.stdout
    panel = Image.open(tmp_path / "panel.png")
    # Five levels and the fused map, each 96 px at scale 2, side by side.
    assert panel.mode == "RGB" and panel.width > 6 * 2 * 96
    heatmap = np.load(tmp_path / "heatmap.npy")
    assert heatmap.shape == (96, 96) and 0.0 <= heatmap.min() and heatmap.max() <= 1.0
    assert (tmp_path / "panel_dab_rich.png").exists() and (tmp_path / "overlay.png").exists()
