"""SLIC labels equal scikit-image's, and SLIC releases the GIL."""

import json
import threading
import time

import numpy as np
import pytest
import skimage.segmentation

import multiscale_lime as ml

from conftest import ROOT, load_png

INDEX = json.loads((ROOT / "tests" / "data" / "index.json").read_text())
IMAGES = {"ihc_patch96": "assets/ihc_patch96.png", "ihc512": "assets/ihc.png"}


@pytest.mark.parametrize("case", INDEX["cases"], ids=lambda c: c["file"])
def test_labels_equal_the_scikit_image_reference(case):
    image = load_png(ROOT / IMAGES[case["image"]])
    labels = ml.slic(
        image,
        case["n_segments"],
        compactness=case["compactness"],
        sigma=case["sigma"],
        start_label=0,
    )
    expected = np.load(ROOT / "tests" / "data" / case["file"])
    assert labels.dtype == np.uint32
    assert np.array_equal(labels, expected)
    assert labels.max() + 1 == case["actual_segments"]


@pytest.mark.parametrize("seed", range(4))
def test_defaults_match_scikit_image_live(seed):
    # scikit-image's own defaults (n_segments 100, compactness 10,
    # start_label 1) on random crops of the IHC image.
    rng = np.random.default_rng(seed)
    ihc = load_png(ROOT / "assets" / "ihc.png")
    h, w = rng.integers(24, 160, size=2)
    y, x = rng.integers(0, 512 - 160, size=2)
    crop = np.ascontiguousarray(ihc[y : y + h, x : x + w])
    n = int(rng.integers(5, 150))
    ours = ml.slic(crop, n)
    theirs = skimage.segmentation.slic(crop, n_segments=n)
    assert np.array_equal(ours, theirs)
    assert np.array_equal(ml.Slic(compactness=10.0).segment(crop, n) + 1, theirs)


def test_the_gil_is_released_while_slic_runs():
    image = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        before = ticks[0]
        start = time.perf_counter()
        ml.slic(image, 400)
        elapsed = time.perf_counter() - start
        during = ticks[0] - before
    finally:
        stop.set()
        thread.join()
    # Holding the GIL, the call would leave the counting thread frozen for
    # its whole length; released, it counts on.
    assert elapsed > 0.05
    assert during > 10_000, (during, elapsed)


def test_bad_images_are_value_errors():
    with pytest.raises(ValueError, match="H×W×3"):
        ml.slic(np.zeros((8, 8)), 4)
    with pytest.raises(ValueError, match="H×W×3"):
        ml.slic(np.zeros((8, 8, 4), dtype=np.uint8), 4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ml.slic(np.full((8, 8, 3), 2.0), 4)
    with pytest.raises(ValueError, match="NaN|finite"):
        ml.slic(np.full((8, 8, 3), np.nan), 4)
    with pytest.raises(ValueError, match="dtype"):
        ml.slic(np.zeros((8, 8, 3), dtype=np.complex64), 4)
    with pytest.raises(ValueError, match="segments"):
        ml.slic(np.zeros((4, 4, 3)), 17)
    with pytest.raises(ValueError, match="compactness"):
        ml.slic(np.zeros((4, 4, 3)), 2, compactness=-1.0)
    with pytest.raises(ValueError, match="start_label"):
        ml.slic(np.zeros((4, 4, 3)), 2, start_label=2)
