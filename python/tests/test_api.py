"""The API: settings reach the engine, results are consistent, metrics
and rendering agree with independent computations."""

import struct

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

import multiscale_lime as ml

from conftest import dark_share


def test_one_call_equals_the_explainer_object(patch):
    a = ml.explain(patch, dark_share, levels=(10, 50), seed=4, fusion="density")
    b = ml.MultiScaleLime(levels=(10, 50), seed=4, fusion="density").explain(patch, dark_share)
    assert np.array_equal(a.heatmap, b.heatmap)


def test_explanation_holds_every_level(patch):
    e = ml.explain(patch, dark_share, preset="paper", seed=0)
    assert e.prediction.shape == (2,) and e.prediction.dtype == np.float32
    assert e.predicted_class == int(np.argmax(dark_share(patch[None] / 255.0)[0]))
    assert e.classes == [e.predicted_class]
    assert len(e.levels) == 5 and len(e.segmentations) == 5
    assert e.heatmap.shape == (96, 96) and e.heatmap.dtype == np.float32
    assert sum(e.weights) == pytest.approx(1.0)
    for level, labels in zip(e.levels, e.segmentations):
        assert np.array_equal(level.labels, labels)
        assert level.actual == labels.max() + 1
        assert level.coefficients.shape == (level.actual,)
        assert level.samples == 10 * level.actual
        # The heatmap is the min-max-normalised coefficients painted.
        c = level.coefficients
        span = c.max() - c.min()
        painted = ((c - c.min()) / span)[labels] if span > 0 else np.zeros(labels.shape)
        np.testing.assert_allclose(level.heatmap, painted, atol=1e-6)
    # The trapezoid fusion is the weighted average of the level maps.
    fused = sum(w * l.heatmap for w, l in zip(e.weights, e.levels))
    np.testing.assert_allclose(e.heatmap, fused, atol=1e-5)


def test_the_default_fuses_relevance_density_at_two_samples_per_superpixel(patch):
    e = ml.explain(patch, dark_share)
    assert e.response == "log-odds"  # dark_share is a probability
    assert len(e.levels) == 5
    for level in e.levels:
        assert level.samples == 2 * level.actual
    # Density: the mean over levels of coefficient / superpixel area, min-max scaled.
    density = sum(
        (l.coefficients / np.bincount(l.labels.ravel(), minlength=l.actual))[l.labels] for l in e.levels
    ) / len(e.levels)
    scaled = (density - density.min()) / (density.max() - density.min())
    np.testing.assert_allclose(e.heatmap, scaled, atol=1e-5)
    np.testing.assert_allclose(e.weights, [0.2] * 5)


def test_feathered_fusion_is_density_blurred_per_level_as_scipy_blurs(patch):
    from scipy.ndimage import gaussian_filter

    e = ml.explain(patch, dark_share, fusion="feathered")
    plain = ml.explain(patch, dark_share)
    h, w = patch.shape[:2]
    feathered = 0
    for level, same in zip(e.levels, plain.levels):
        # The same coefficients as the default: only the painting differs.
        np.testing.assert_array_equal(level.coefficients, same.coefficients)
        area = np.bincount(level.labels.ravel(), minlength=level.actual)
        density = (level.coefficients / area)[level.labels]
        sigma = 0.3 * np.sqrt(h * w / level.actual)
        feathered = feathered + gaussian_filter(density, sigma, mode="reflect") / len(e.levels)
    scaled = (feathered - feathered.min()) / (feathered.max() - feathered.min())
    np.testing.assert_allclose(e.heatmap, scaled, atol=1e-5)
    assert not np.allclose(e.heatmap, plain.heatmap, atol=1e-3)
    wider = ml.explain(patch, dark_share, fusion="feathered:0.6")
    assert not np.allclose(wider.heatmap, e.heatmap, atol=1e-3)
    with pytest.raises(ValueError, match="feather"):
        ml.explain(patch, dark_share, fusion="feathered:-1")


def test_top_labels_explain_both_classes_from_one_set_of_passes(patch):
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return dark_share(batch)

    e = ml.explain(patch, predict, levels=(10,), top_labels=2)
    assert sorted(e.classes) == [0, 1]
    # The image alone once (the class count and the prediction), then the samples.
    assert sum(calls) == 1 + e.levels[0].samples
    # Class 0 is 1 − class 1: opposite coefficients.
    c0 = e.levels_for(0)[0].coefficients
    c1 = e.levels_for(1)[0].coefficients
    np.testing.assert_allclose(c0, -c1, atol=1e-6)


@pytest.mark.parametrize(
    "segmenter",
    ["slic", "grid", ml.Slic(compactness=20.0), ml.SquareGrid()],
)
def test_segmenters(patch, segmenter):
    e = ml.explain(patch, dark_share, levels=(16,), segmenter=segmenter)
    labels = e.segmentations[0]
    # "slic" is SLIC at the explainer's compactness.
    compactness = float(dict(ml.MultiScaleLime().settings)["compactness"])
    expected = segmenter if not isinstance(segmenter, str) else (
        ml.Slic(compactness=compactness) if segmenter == "slic" else ml.SquareGrid()
    )
    assert np.array_equal(labels, expected.segment(patch, 16))


def test_precomputed_labels(patch):
    labels = (np.arange(96)[:, None] // 48) * 2 + (np.arange(96)[None, :] // 48)
    for segmenter in (labels, ml.Precomputed(labels)):
        e = ml.explain(patch, dark_share, levels=(4,), segmenter=segmenter)
        assert np.array_equal(e.segmentations[0], labels)


def test_hide_colors_change_what_the_model_sees(patch):
    seen = {}
    for name, hide in [("black", 0.0), ("white", (1.0, 1.0, 1.0)), ("mean", "mean"), ("blur", ("blur", 2.0))]:
        batches = []

        def predict(batch, batches=batches):
            batches.append(batch.copy())
            return dark_share(batch)

        ml.explain(patch, predict, levels=(4,), segmenter="grid", hide_color=hide)
        # The first call scores the image alone (the prediction); the
        # perturbed images follow, in batches of any layout, with the
        # unperturbed image (each level's first sample) among them.
        original, rendered = batches[0][0], np.concatenate(batches[1:])
        seen[name] = np.stack([im for im in rendered if not np.array_equal(im, original)])
    assert all(len(images) == len(seen["black"]) > 0 for images in seen.values())
    # Black and white hide the superpixels with 0 and 1.
    for name, fill in [("black", 0.0), ("white", 1.0)]:
        for im in seen[name]:
            hidden = im != original
            assert (im[hidden] == fill).all(), name
    assert seen["black"].min() == 0.0 and seen["white"].max() == 1.0
    # Every perturbed image differs between fills: none of one fill's is
    # another's.
    for a, b in [("black", "white"), ("mean", "blur"), ("black", "mean"), ("white", "blur")]:
        assert not any(np.array_equal(x, y) for x in seen[a] for y in seen[b]), (a, b)


def test_metrics_against_hand_values_and_scikit_learn():
    heatmap = np.array([[0.9, 0.1], [0.4, 0.7]])
    mask = np.array([[True, False], [False, True]])
    assert ml.pointing_game(heatmap, mask)
    assert not ml.pointing_game(heatmap, ~mask)
    assert ml.relevance_mass(heatmap, mask) == pytest.approx(1.6 / 2.1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        h = rng.random((12, 9)).round(1)  # ties
        m = rng.random((12, 9)) < 0.3
        assert ml.pixel_auc(h, m) == pytest.approx(roc_auc_score(m.ravel(), h.ravel()))
    a, b = rng.random((6, 6)), rng.random((6, 6))
    assert ml.pearson(a, b) == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    assert ml.jaccard_at_k([3.0, 2.0, 1.0, 0.0], [0.0, 2.0, 1.0, 3.0], 2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        ml.pixel_auc(heatmap, np.zeros((3, 3), bool))


def test_model_metrics(patch):
    e = ml.explain(patch, dark_share, seed=0)
    c = e.predicted_class
    report = ml.accuracy(patch, e.heatmap, dark_share, c, fraction=0.5)
    assert report.class_ == c and 0.0 <= report.masked_score <= 1.0
    deletion = ml.deletion_curve(patch, e.heatmap, dark_share, c, steps=10)
    insertion = ml.insertion_curve(patch, e.heatmap, dark_share, c, steps=10)
    assert len(deletion.fractions) == len(deletion.scores) == 11
    assert deletion.fractions[0] == 0.0 and deletion.fractions[-1] == 1.0
    assert deletion.auc == pytest.approx(np.trapezoid(deletion.scores, deletion.fractions))
    assert insertion.scores[-1] == pytest.approx(float(e.prediction[c]), abs=1e-6)
    # Deleting by the explanation hurts more than deleting by its reverse.
    reverse = ml.deletion_curve(patch, 1.0 - e.heatmap, dark_share, c, steps=10)
    assert deletion.auc < reverse.auc


def test_stability(patch):
    lime = ml.MultiScaleLime(levels=(10, 25))
    report = lime.stability(patch, dark_share, [1, 2, 3], top_k=3)
    assert report.seeds == [1, 2, 3]
    assert len(report.pairwise_pearson) == 3 and len(report.combined) == 3
    assert report.combined_pearson == pytest.approx(np.mean(report.pairwise_pearson))
    for seed, fused in zip(report.seeds, report.combined):
        assert np.array_equal(fused, ml.MultiScaleLime(levels=(10, 25), seed=seed).explain(patch, dark_share).heatmap)
    with pytest.raises(ValueError, match="seeds"):
        lime.stability(patch, dark_share, [1])


def test_rendering(patch, tmp_path):
    e = ml.explain(patch, dark_share, levels=(10, 50))
    path = tmp_path / "panel.png"
    figure = e.panel(path, scale=1)
    assert figure.dtype == np.uint8 and figure.ndim == 3 and figure.shape[2] == 3
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), figure)
    # By default, tiles for print: the 96-pixel patch 4× (two rows, three
    # columns of 384-pixel tiles, plus titles and a colour bar).
    big = e.panel()
    assert big.shape[0] > 2 * 384 and big.shape[1] > 3 * 384, big.shape
    colours = ml.colorize(e.heatmap)
    assert colours.shape == (96, 96, 3)
    # Viridis: the lowest value is dark blue-purple, the highest yellow.
    lo, hi = np.unravel_index(e.heatmap.argmin(), e.heatmap.shape), np.unravel_index(e.heatmap.argmax(), e.heatmap.shape)
    assert colours[lo][2] > colours[lo][1] and colours[hi][0] > 200
    over = ml.overlay(patch, e.heatmap, alpha=0.0)
    assert np.array_equal(over, patch)
    edges = ml.boundaries(patch, e.segmentations[1], color=(255, 0, 0))
    assert (edges != patch).any()
    ml.save_png(over, tmp_path / "o.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.png")), over)


def test_reprs_name_the_settings(patch):
    lime = ml.MultiScaleLime(levels=(4, 9), seed=3, fusion="uniform")
    text = repr(lime)
    # Every setting, preset included, in the form the constructor takes.
    assert "seed=3" in text and "fusion='uniform'" in text and "levels=(4, 9)" in text
    for row in ml.SETTINGS:
        if row["name"] != "samples":
            assert row["name"] + "=" in text, row["name"]
    assert "preset='recommended'" in text
    e = lime.explain(patch, dark_share)
    assert "Explanation(" in repr(e) and "Level(" in repr(e.levels[0])
    assert lime.levels == [4, 9] and lime.seed == 3


@pytest.mark.parametrize("sampling", ["independent", "antithetic", "balanced", "orthogonal"])
def test_sampling_designs_reach_the_model(patch, sampling):
    seen = []

    def predict(batch):
        seen.append(batch.copy())
        return dark_share(batch)

    e = ml.explain(patch, predict, levels=(4,), segmenter="grid", samples=41, sampling=sampling)
    # After the one call on the image alone, the level's 41 samples (in
    # render order); read each one's mask back from its pixels.
    images = np.concatenate(seen[1:])
    image = patch.astype(np.float32) / np.float32(255)
    labels = e.segmentations[0]
    z = np.array([[np.array_equal(i[labels == s], image[labels == s]) for s in range(4)] for i in images])
    assert z.shape == (41, 4) and z.all(axis=1).any()  # the unperturbed row
    if sampling != "independent":
        # Every superpixel kept in exactly half of the 40 perturbed rows,
        # plus the unperturbed one.
        assert np.array_equal(z.sum(axis=0), [21, 21, 21, 21])


def test_an_unknown_sampling_is_a_value_error():
    with pytest.raises(ValueError, match="sampling"):
        ml.MultiScaleLime(sampling="sobol")


def test_intervals_are_calibrated_across_seeds(patch):
    # Two seeds' coefficients differ by about √2 standard errors: the
    # share of superpixels whose difference lies within 1.645·√(se_a² + se_b²)
    # is about 90 % when the errors are right.
    inside, total = 0, 0
    for seed in range(0, 12, 2):
        # Independent masks on the score, whose intervals are calibrated
        # (orthogonal arrays' are conservative: docs/sampling.md).
        a = ml.explain(patch, dark_share, preset="paper", levels=(50,), seed=seed).levels[0]
        b = ml.explain(patch, dark_share, preset="paper", levels=(50,), seed=seed + 1).levels[0]
        d = np.abs(a.coefficients - b.coefficients)
        inside += int(np.sum(d <= 1.6448536 * np.hypot(a.std_errors, b.std_errors)))
        total += d.size
        lo_hi = a.intervals(0.9)
        assert lo_hi.shape == (a.actual, 2)
        assert np.all(lo_hi[:, 0] <= a.coefficients) and np.all(a.coefficients <= lo_hi[:, 1])
    assert 0.8 <= inside / total <= 0.97, inside / total
    with pytest.raises(ValueError, match="confidence"):
        a.intervals(1.5)


def test_shared_passes_fit_every_level_on_every_call(patch):
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return dark_share(batch)

    e = ml.explain(patch, predict, levels=(10, 50), schedule="shared-passes", samples_per_segment=4)
    own = [level.calls for level in e.levels]
    assert sum(calls) == 1 + sum(own)
    assert all(level.samples == sum(own) for level in e.levels)
    assert own == [4 * level.actual for level in e.levels]


def test_adaptive_sampling_stops_within_the_budget(patch):
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return dark_share(batch)

    e = ml.explain(patch, predict, levels=(10, 50), schedule="until-stability:0.5", samples_per_segment=10)
    own = [level.calls for level in e.levels]
    # After the one call on the image alone, each level's rounds.
    assert sum(calls) == 1 + sum(own)
    for level in e.levels:
        assert level.calls % level.actual == 0
        assert 2 <= level.calls // level.actual <= 10
    plain = ml.explain(patch, predict, levels=(10, 50), samples_per_segment=10)
    assert sum(level.calls for level in plain.levels) == 10 * sum(l.actual for l in plain.levels)
    with pytest.raises(ValueError, match="adaptive stability"):
        ml.MultiScaleLime(schedule="until-stability:1.5")
    with pytest.raises(ValueError, match="schedule"):
        ml.MultiScaleLime(schedule="until-stability:0.9,until-top-k:3")


def test_log_odds_response_regresses_the_logit(patch):
    def probability(batch):
        # A logistic model of the dark share: its log-odds are linear in it.
        z = 6.0 * dark_share(batch) - 3.0
        return 1.0 / (1.0 + np.exp(-z))

    def logit(batch):
        return np.log(probability(batch) / (1.0 - probability(batch)))

    kwargs = dict(levels=(10,), samples_per_segment=3)
    log_odds = ml.explain(patch, probability, response="log-odds", **kwargs)
    by_hand = ml.explain(patch, logit, response="score", **kwargs)
    assert log_odds.response == "log-odds" and by_hand.response == "score"
    # With nothing set, a probability model gets the log-odds...
    assert ml.explain(patch, probability, **kwargs).response == "log-odds"
    # ...and a model returning logits outside [0, 1] works, on the score.
    def shifted(batch):
        return logit(batch) + 5.0

    assert ml.explain(patch, shifted, **kwargs).response == "score"
    # The same masks and the same regressed values up to float32 rounding.
    np.testing.assert_allclose(
        log_odds.levels[0].coefficients, by_hand.levels[0].coefficients, atol=1e-4
    )
    calls = []

    def counted(batch):
        calls.append(len(batch))
        return shifted(batch)

    with pytest.raises(ValueError, match="log-odds need probabilities"):
        ml.explain(patch, counted, response="log-odds", **kwargs)
    # Refused on the image alone, before any mask was scored.
    assert calls == [1]
    with pytest.raises(ValueError, match="logit"):
        ml.MultiScaleLime(response="logit")


def test_the_image_alone_is_scored_once(patch):
    calls = []

    def predict(batch):
        calls.append(batch.copy())
        return dark_share(batch)

    e = ml.explain(patch, predict, levels=(10,))
    alone = [b for b in calls if len(b) == 1 and np.array_equal(b[0], patch / np.float32(255))]
    assert len(alone) == 1
    assert sum(len(b) for b in calls) == 1 + e.levels[0].samples
    # A second explanation with the same explainer scores it again, once.
    lime = ml.MultiScaleLime(levels=(10,))
    calls.clear()
    lime.explain(patch, predict)
    lime.explain(patch, predict)
    assert sum(1 for b in calls if len(b) == 1) == 2


def test_grayscale_and_rgba_images_are_read_as_lime_reads_them(patch):
    grey = patch[..., 1]
    as_rgb = np.stack([grey] * 3, axis=-1)
    a = ml.explain(grey, dark_share, levels=(10, 25), seed=2)
    b = ml.explain(as_rgb, dark_share, levels=(10, 25), seed=2)
    assert np.array_equal(a.heatmap, b.heatmap)
    rgba = np.concatenate([patch, np.full(patch.shape[:2] + (1,), 7, np.uint8)], axis=-1)
    c = ml.explain(rgba, dark_share, levels=(10, 25), seed=2)
    d = ml.explain(patch, dark_share, levels=(10, 25), seed=2)
    assert np.array_equal(c.heatmap, d.heatmap)
    with pytest.raises(ValueError, match="H×W×3"):
        ml.explain(patch[..., :2], dark_share)


def test_explainers_pickle_and_explain_alike(patch):
    import pickle

    for lime in (
        ml.MultiScaleLime(levels=(10, 25), seed=3),
        ml.MultiScaleLime(preset="paper", levels=(4, 16), segmenter="grid", hide_color=("blur", 2.0),
                          fusion=[1.0, 2.0], schedule="until-top-k:2"),
    ):
        again = pickle.loads(pickle.dumps(lime))
        assert repr(again) == repr(lime) and again.settings == lime.settings
        a, b = lime.explain(patch, dark_share), again.explain(patch, dark_share)
        assert np.array_equal(a.heatmap, b.heatmap)


def test_segmenters_pickle_and_so_do_explainers_built_with_them(patch):
    import pickle

    labels = (np.arange(96 * 96, dtype=np.uint32).reshape(96, 96) // 96 // 24) * 4 + (
        np.arange(96, dtype=np.uint32) // 24
    )
    segmenters = (
        ml.Slic(compactness=12.0, sigma=0.5, max_num_iter=7, enforce_connectivity=False,
                min_size_factor=0.4, max_size_factor=2.5),
        ml.SquareGrid(),
        ml.Precomputed(labels),
    )
    for segmenter in segmenters:
        again = pickle.loads(pickle.dumps(segmenter))
        assert type(again) is type(segmenter) and repr(again) == repr(segmenter)
        assert np.array_equal(again.segment(patch, 16), segmenter.segment(patch, 16))
        lime = ml.MultiScaleLime(levels=(16,), segmenter=segmenter, seed=5)
        copy = pickle.loads(pickle.dumps(lime))
        assert repr(copy) == repr(lime)
        a, b = lime.explain(patch, dark_share), copy.explain(patch, dark_share)
        assert np.array_equal(a.heatmap, b.heatmap)
    # Every parameter travels, not only the ones the repr shows.
    slic = pickle.loads(pickle.dumps(segmenters[0]))
    assert (slic.compactness, slic.sigma) == (12.0, 0.5)
    assert np.array_equal(slic.segment(patch, 30), segmenters[0].segment(patch, 30))
    assert not np.array_equal(slic.segment(patch, 30), ml.Slic(compactness=12.0, sigma=0.5).segment(patch, 30))


def _bits(value):
    """A value as comparable bits: arrays by dtype, shape and bytes, floats
    by their 8 bytes (so -0.0 differs from 0.0), lists element by element."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, (list, tuple)):
        return [_bits(v) for v in value]
    if isinstance(value, ml.Level):
        return _level_bits(value)
    return (type(value).__name__, value)


def _public(obj, methods):
    """`obj`'s public attributes by name (bits), after checking that its
    methods are exactly `methods`: a new attribute is compared without
    changing this test, a new method fails it until it is called here."""
    names = [n for n in dir(obj) if not n.startswith("_")]
    assert {n for n in names if callable(getattr(obj, n))} == methods
    return {n: _bits(getattr(obj, n)) for n in names if n not in methods}


def _level_bits(level):
    seen = _public(level, {"intervals"})
    for confidence in (0.5, 0.9, 0.99):
        seen[f"intervals({confidence})"] = _bits(level.intervals(confidence))
    seen["repr"] = repr(level)
    return seen


def _explanation_bits(e):
    """Every public attribute and method result of `e`, as bits."""
    seen = _public(e, {"heatmap_for", "levels_for", "panel"})
    for c in e.classes:
        seen[f"heatmap_for({c})"] = _bits(e.heatmap_for(c))
        seen[f"levels_for({c})"] = _bits(e.levels_for(c))
        seen[f"panel(class_={c})"] = _bits(e.panel(class_=c))
        seen[f"panel(class_={c}, scale=1, bluered)"] = _bits(e.panel(class_=c, scale=1, colormap="bluered"))
    seen["repr"] = repr(e)
    # QuPath's detections of the first class's superpixels.
    tile = np.array([[100, 200, 192, 192, 3, 4]], np.int64)
    seen["qupath_geojson"] = ml.qupath_geojson(tile, e.prediction[None], ["a", "b"], [(tile[0], e)])
    return seen


def _pickle_cases(patch):
    return {
        "default": ml.explain(patch, dark_share),
        "top_labels": ml.explain(patch, dark_share, levels=(4, 16, 64), segmenter="grid", seed=3, top_labels=2),
        "target": ml.explain(patch, dark_share, levels=(10, 25), seed=2, target=1),
        # Shared passes (samples ≠ calls), maxabs (class 1's maps are
        # negative: its panel's range is (-1, 1)), the paper's fusion.
        "shared": ml.explain(patch, dark_share, preset="paper", levels=(10, 25, 50), schedule="shared-passes",
                             normalization="maxabs", seed=5, top_labels=2),
        # Fewer samples than superpixels: no standard errors.
        "no_std_errors": ml.explain(patch, dark_share, levels=(50,), samples=10, seed=1),
        # Fusion rules with parameters, fused again when unpickled.
        "feathered": ml.explain(patch, dark_share, levels=(4, 16), segmenter="grid", fusion="feathered", seed=4),
        "weights": ml.explain(patch, dark_share, levels=(10, 25, 50), fusion=[1.0, 0.0, 2.5], seed=6, top_labels=2),
        "gaussian": ml.explain(patch, dark_share, levels=(10, 25), fusion=("gaussian", 0.5, 0.3), seed=7),
    }


def test_explanations_pickle_bit_for_bit(patch):
    import pickle

    cases = _pickle_cases(patch)
    assert cases["top_labels"].classes == [0, 1] and cases["target"].classes == [1]
    assert cases["no_std_errors"].levels[0].std_errors is None
    assert (cases["shared"].heatmap_for(1) < 0).any()
    assert cases["shared"].levels[0].samples != cases["shared"].levels[0].calls
    for name, e in cases.items():
        want = _explanation_bits(e)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            again = pickle.loads(pickle.dumps(e, protocol=protocol))
            assert type(again) is ml.Explanation
            assert _explanation_bits(again) == want, (name, protocol)
            # A copy pickles again, to the same.
            assert _explanation_bits(pickle.loads(pickle.dumps(again))) == want, (name, protocol)
        # A level pickles on its own.
        for level in e.levels_for(e.classes[-1]):
            again = pickle.loads(pickle.dumps(level))
            assert type(again) is ml.Level
            assert _level_bits(again) == _level_bits(level), name
    # Levels of all classes share their label maps: pickled once each.
    e = cases["top_labels"]
    state = e.__reduce__()[1][0]
    assert state["version"] == 1 and len(state["labels"]) == len(e.levels)
    assert state["fusion"] == "density" and cases["weights"].__reduce__()[1][0]["fusion"] == "weights:1,0,2.5"


def _explain_in_worker(job):
    seed, top_labels = job
    from conftest import ROOT, load_png

    patch = load_png(ROOT / "assets" / "ihc_patch96.png")
    return ml.explain(patch, dark_share, levels=(10, 25, 50), seed=seed, top_labels=top_labels)


def test_explanations_come_back_from_worker_processes_bit_for_bit():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(1, None), (2, 2), (3, None)]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        explained = list(pool.map(_explain_in_worker, jobs))
    for job, got in zip(jobs, explained):
        assert type(got) is ml.Explanation
        assert _explanation_bits(got) == _explanation_bits(_explain_in_worker(job)), job


def test_unpickling_a_corrupted_state_raises_invalid_input(patch):
    import pickle

    e = ml.explain(patch, dark_share, levels=(10, 25), seed=1, top_labels=2)
    rebuild, (state,) = e.__reduce__()
    stack, other = state["stacks"]
    level = stack["levels"][0]

    def without(d, key):
        return {k: v for k, v in d.items() if k != key}

    def with_level(new):
        """The state with `new` as the first class's first level."""
        levels = [new] + stack["levels"][1:]
        return {**state, "stacks": [{**stack, "levels": levels}] + state["stacks"][1:]}

    def changed(**changes):
        return with_level({**level, **changes})

    def fused_changed(**changes):
        return {**state, "stacks": [{**stack, **changes}] + state["stacks"][1:]}

    def one_pixel_off(heatmap):
        heatmap = heatmap.copy()
        heatmap[0, 0] += np.float32(0.5)
        return heatmap

    corrupted = [
        ([1, 2], "a list where a dict belongs"),
        ({**state, "version": 2}, "version 2"),
        (without(state, "prediction"), "'prediction' is missing"),
        ({**state, "prediction": state["prediction"].astype(np.float64)}, "float32"),
        ({**state, "prediction": state["prediction"][:0]}, "'prediction' is empty"),
        ({**state, "image": state["image"][..., :2]}, "ImageShape|shape|channel|3"),
        ({**state, "image": state["image"] * 2}, r"expected a finite value in \[0, 1\]"),
        ({**state, "response": "auto"}, "'response'"),
        ({**state, "labels": [state["labels"][0][:50]] + state["labels"][1:]}, r"'labels'\[0\]"),
        ({**state, "labels": [state["labels"][0] + 1] + state["labels"][1:]}, r"'labels'\[0\]"),
        ({**state, "segmentations": [0, 9]}, "label maps"),
        ({**state, "segmentations": [0]}, "per level"),
        ({**state, "stacks": []}, "'stacks' is empty"),
        ({**state, "stacks": "x"}, "'stacks' is not a list"),
        ({**state, "stacks": [{**stack, "class": 7}]}, "'class' is 7"),
        ({**state, "stacks": [stack, stack]}, "explained twice"),
        ({**state, "stacks": [{**stack, "heatmap": stack["heatmap"][:, :3]}]}, "stacks\\[0\\]: 'heatmap'"),
        ({**state, "stacks": [{**stack, "weights": stack["weights"][:1]}]}, "weights"),
        ({**state, "stacks": [without(stack, "levels")]}, "'levels' is missing"),
        (changed(actual=level["actual"] + 1), r"stacks\[0\].levels\[0\]: 'actual'"),
        (changed(labels=9), "label maps"),
        (changed(labels="0"), "'labels'"),
        (changed(coefficients=level["coefficients"][1:]), "coefficients"),
        (changed(coefficients=list(level["coefficients"])), "float64"),
        (changed(std_errors=level["std_errors"][1:]), "standard errors"),
        (changed(heatmap=level["heatmap"].T[:5]), "'heatmap'"),
        (changed(samples=-1), "'samples'"),
        (changed(r2="high"), "'r2'"),
        (with_level(without(level, "calls")), "'calls' is missing"),
        (with_level([level]), "a list where a dict belongs"),
        # The fusion rule, and the fused maps it makes again from the levels.
        (without(state, "fusion"), "'fusion' is missing"),
        ({**state, "fusion": "median"}, "'fusion': .*median"),
        ({**state, "fusion": "weights:1,2,3"}, "`fusion`: got weights:1,2,3 for 2 levels"),
        ({**state, "fusion": "trapezoid"}, r"stacks\[0\]: 'heatmap' is not the levels fused by trapezoid"),
        (fused_changed(heatmap=stack["heatmap"] * np.float32(0.5)), r"stacks\[0\]: 'heatmap' is not"),
        (fused_changed(weights=stack["weights"] + 0.25), r"stacks\[0\]: 'weights' are not"),
        ({**state, "segmentations": [1, 0]}, r"'segmentations'\[0\] is 1"),
        # The parts checked by the engine's constructors.
        (changed(desired=0), r"stacks\[0\].levels\[0\]: invalid parameter `desired`"),
        (changed(r2=float("nan")), "`r2`"),
        (changed(std_errors=-level["std_errors"] - 1), r"standard errors\[0\] is -"),
        (changed(heatmap=one_pixel_off(level["heatmap"])), "one value per segment"),
        # The second class's levels in another order: not the first's.
        ({**state, "stacks": [stack, {**other, "levels": other["levels"][::-1]}]}, "level 0 of class .* is not level 0"),
    ]
    for bad, match in corrupted:
        with pytest.raises(ml.InvalidInputError, match=match):
            rebuild(bad)

    class Forged:
        """Pickles as the explanation would, with a corrupted state."""

        def __init__(self, rebuild, state):
            self.rebuild, self.state = rebuild, state

        def __reduce__(self):
            return (self.rebuild, (self.state,))

    with pytest.raises(ml.InvalidInputError, match="cannot unpickle Explanation"):
        pickle.loads(pickle.dumps(Forged(rebuild, {**state, "segmentations": [0, 9]})))
    # A level on its own.
    rebuild_level, (level_state,) = e.levels[0].__reduce__()
    assert type(rebuild_level(level_state)) is ml.Level
    for bad, match in [
        ({**level_state, "version": 0}, "version 0"),
        ({**level_state, "labels": 0}, "'labels' must be a 2-D uint32 array"),
        ({**level_state, "heatmap": level_state["heatmap"][1:]}, "'heatmap'"),
        (without(level_state, "desired"), "'desired' is missing"),
    ]:
        with pytest.raises(ml.InvalidInputError, match="cannot unpickle Level"):
            pickle.loads(pickle.dumps(Forged(rebuild_level, bad)))
        with pytest.raises(ml.InvalidInputError, match=match):
            rebuild_level(bad)
