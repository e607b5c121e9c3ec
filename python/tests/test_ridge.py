"""The weighted ridge equals scikit-learn's Ridge with sample weights."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import multiscale_lime as ml


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [1e-3, 1.0, 25.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_equals_scikit_learn(seed, alpha, fit_intercept):
    rng = np.random.default_rng(seed)
    n, k = rng.integers(12, 400), rng.integers(1, 60)
    z = (rng.random((n, k)) < 0.5).astype(np.float32)
    z[0] = 1.0  # LIME's first sample: the unperturbed image
    y = rng.random(n) + z @ rng.normal(size=k) * 0.1
    w = np.exp(-rng.random(n) * 3)
    ours = ml.fit_ridge(z, y, w, alpha=alpha, fit_intercept=fit_intercept)
    # In float64: scikit-learn fits float32 inputs in float32.
    z64 = z.astype(np.float64)
    theirs = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(z64, y, sample_weight=w)
    np.testing.assert_allclose(ours.coefficients, theirs.coef_, rtol=1e-7, atol=1e-9)
    assert ours.intercept == pytest.approx(float(theirs.intercept_), rel=1e-7, abs=1e-9)
    assert ours.r2 == pytest.approx(theirs.score(z64, y, sample_weight=w), rel=1e-7, abs=1e-9)
    assert ours.local_prediction == pytest.approx(ours.intercept + ours.coefficients.sum())


@pytest.mark.parametrize("level", [9, 25])
def test_a_level_is_scikit_learns_ridge_on_its_own_masks(patch, level):
    # Record every perturbed image the explainer scores, read each one's
    # mask back from its pixels (a hidden superpixel is black), rebuild
    # LIME's kernel weights, and refit with scikit-learn.
    seen = []

    def predict(batch):
        green = batch.reshape(len(batch), -1, 3)[..., 1].mean(axis=1)
        scores = np.stack([green, 1.0 - green], axis=1)
        seen.append((batch.copy(), scores))
        return scores

    lime = ml.MultiScaleLime(
        levels=(level,), preset="paper", segmenter="grid", kernel_width=0.25, ridge_alpha=1.0
    )
    e = lime.explain(patch, predict, target=1)
    (fitted,) = e.levels
    image = patch.astype(np.float32) / np.float32(255)
    # The first call scores the image alone (the class count and the
    # prediction); the rest are the level's samples, in any order.
    images = np.concatenate([b for b, _ in seen[1:]])
    y = np.concatenate([s for _, s in seen[1:]])[:, 1].astype(np.float64)
    assert len(images) == fitted.samples
    labels, k = fitted.labels, fitted.actual
    z = np.array([[np.array_equal(img[labels == s], image[labels == s]) for s in range(k)] for img in images])
    black = np.array([[not np.any(img[labels == s]) for s in range(k)] for img in images])
    assert np.all(z ^ black)  # every superpixel kept or hidden, none else
    z = z.astype(np.float64)
    d = 1.0 - np.sqrt(z.sum(axis=1) / k)
    w = np.sqrt(np.exp(-(d**2) / 0.25**2))
    fit = Ridge(alpha=1.0).fit(z, y, sample_weight=w)
    np.testing.assert_allclose(fitted.coefficients, fit.coef_, rtol=1e-6, atol=1e-9)
    assert fitted.intercept == pytest.approx(float(fit.intercept_), rel=1e-6, abs=1e-9)
    assert fitted.r2 == pytest.approx(fit.score(z, y, sample_weight=w), rel=1e-6, abs=1e-9)


def test_bad_inputs_are_value_errors():
    z = np.ones((3, 2), dtype=np.float32)
    with pytest.raises(ValueError):
        ml.fit_ridge(z, np.ones(4), np.ones(3))
    with pytest.raises(ValueError):
        ml.fit_ridge(z, np.array([1.0, np.nan, 0.0]), np.ones(3))
    with pytest.raises(ValueError):
        ml.fit_ridge(z, np.ones(3), -np.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        ml.fit_ridge(z, np.ones(3), np.ones(3), alpha=-1.0)
