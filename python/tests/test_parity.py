"""The package gives the Rust API's results, bit for bit."""

import numpy as np
import pytest

import multiscale_lime as ml

from conftest import dark_share

CASES = {
    "default": (dict(), dict()),
    "paper": (dict(preset="paper", seed=7, hide_color=1.0), dict()),
    "grid": (
        dict(
            preset="paper",
            segmenter="grid",
            levels=(4, 16, 64),
            samples=150,
            sampling="balanced",
            hide_color="mean",
            batch_size=5,
            seed=3,
        ),
        dict(top_labels=2),
    ),
    "density": (
        dict(
            preset="paper",
            compactness=20.0,
            sampling="orthogonal",
            levels=(10, 50, 200),
            hide_color=("blur", 3.0),
            kernel_width=0.4,
            seed=11,
            fusion="density",
        ),
        dict(target=1),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_heatmaps_equal_the_rust_api_bit_for_bit(name, reference):
    image = np.load(reference / "image.npy")
    settings, call = CASES[name]
    explanation = ml.explain(image, dark_share, **settings, **call)
    for c, class_ in enumerate(explanation.classes):
        fused = np.load(reference / f"{name}_c{c}_fused.npy")
        assert np.array_equal(explanation.heatmap_for(class_), fused)
        levels = explanation.levels_for(class_)
        assert len(levels) == len(settings.get("levels", (10, 25, 50, 100, 200)))
        for l, level in enumerate(levels):
            base = reference / f"{name}_c{c}_l{l}"
            assert np.array_equal(level.heatmap, np.load(f"{base}_heatmap.npy"))
            assert np.array_equal(level.coefficients, np.load(f"{base}_coef.npy"))
            assert np.array_equal(level.std_errors, np.load(f"{base}_se.npy"))
            assert np.array_equal(level.labels, np.load(f"{base}_labels.npy"))


def test_uint8_images_are_read_as_the_crate_reads_png(patch, reference):
    # Rust's Image::from_rgb8 divides by 255 in float32, as np.float32 does.
    image = np.load(reference / "image.npy")
    assert np.array_equal(patch.astype(np.float32) / np.float32(255), image)
    a = ml.explain(patch, dark_share, preset="paper", seed=7, hide_color=1.0)
    assert np.array_equal(a.heatmap, np.load(reference / "paper_c0_fused.npy"))


@pytest.mark.parametrize("batch_size", [1, 7, 64, 5000])
def test_batch_size_changes_no_bit(patch, batch_size):
    base = ml.explain(patch, dark_share, levels=(10, 50), seed=2)
    other = ml.explain(patch, dark_share, levels=(10, 50), seed=2, batch_size=batch_size)
    assert np.array_equal(base.heatmap, other.heatmap)


def test_thread_count_changes_no_bit(root, tmp_path):
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, multiscale_lime as ml\n"
        "sys.path.insert(0, %r)\n"
        "from conftest import dark_share, load_png\n"
        "img = load_png(%r)\n"
        "e = ml.explain(img, dark_share, seed=5)\n"
        "np.save(sys.argv[1], e.heatmap)\n"
    ) % (str(root / "python" / "tests"), str(root / "assets" / "ihc_patch96.png"))
    maps = []
    for threads in ("1", "2", "3"):
        out = tmp_path / f"t{threads}.npy"
        env = dict(__import__("os").environ, RAYON_NUM_THREADS=threads)
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        maps.append(np.load(out))
    assert np.array_equal(maps[0], maps[1]) and np.array_equal(maps[0], maps[2])


def test_seed_changes_the_map(patch):
    a = ml.explain(patch, dark_share, levels=(25,), seed=1)
    b = ml.explain(patch, dark_share, levels=(25,), seed=2)
    assert not np.array_equal(a.heatmap, b.heatmap)
