"""Writes the SLIC reference label maps of tests/data (slic_*.npy) and their
index.json with scikit-image, the oracle for `Slic`.

usage: python3 tools/make_slic_reference.py [OUT_DIR]   (default tests/data)
needs: tools/requirements.txt (numpy, pillow, scikit-image==0.26.0)

Each case runs
    skimage.segmentation.slic(image, n_segments=N, compactness=C, sigma=S,
                              start_label=0)
(max_num_iter 10, connectivity enforced, conversion to Lab) on an RGB image
of assets/ and stores the labels as int32 H x W. tests/slic_skimage_parity.rs
reads index.json and requires every label to match.
"""
import json
import os
import sys

import numpy as np
import skimage
from PIL import Image
from skimage.segmentation import slic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data")
IMAGES = {"ihc_patch96": "assets/ihc_patch96.png", "ihc512": "assets/ihc.png"}
# (image, n_segments, compactness, sigma)
CASES = [("ihc_patch96", n, 5.0, 0.0) for n in (10, 25, 50, 100, 200)] + [
    ("ihc512", 25, 5.0, 0.0),
    ("ihc512", 100, 5.0, 0.0),
    ("ihc512", 400, 5.0, 0.0),
    ("ihc512", 100, 10.0, 0.0),
    ("ihc512", 100, 5.0, 1.0),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for name, n, c, sigma in CASES:
        rgb = np.asarray(Image.open(os.path.join(ROOT, IMAGES[name])).convert("RGB"))
        labels = slic(rgb, n_segments=n, compactness=c, sigma=sigma, start_label=0)
        file = f"slic_{name}_n{n}_c{c:g}_s{sigma:g}.npy"
        np.save(os.path.join(OUT, file), labels.astype(np.int32))
        cases.append({
            "file": file,
            "image": name,
            "height": int(rgb.shape[0]),
            "width": int(rgb.shape[1]),
            "n_segments": n,
            "compactness": c,
            "sigma": sigma,
            "actual_segments": int(labels.max()) + 1,
        })
        print(f"{file}: {cases[-1]['actual_segments']} segments")
    index = {
        "skimage": skimage.__version__,
        "start_label": 0,
        "max_num_iter": 10,
        "enforce_connectivity": True,
        "convert2lab": True,
        "cases": cases,
    }
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
