"""Exceptions from the model propagate; bad inputs are clear errors."""

import os
import signal
import sys
import threading

import numpy as np
import pytest

import multiscale_lime as ml

from conftest import dark_share


class Boom(Exception):
    pass


def test_the_callables_exception_propagates_and_scoring_stops(patch):
    calls = []

    def predict(batch):
        calls.append(len(batch))
        if len(calls) == 4:
            raise Boom("model failed")
        return dark_share(batch)

    with pytest.raises(Boom, match="model failed") as info:
        ml.explain(patch, predict, seed=0)
    # Nothing scored after the failure: the first exception stops every
    # worker before it calls Python again.
    assert len(calls) == 4
    if sys.version_info >= (3, 11):
        assert any("predict" in note for note in info.value.__notes__)


def test_an_exception_on_the_first_call_propagates(patch):
    with pytest.raises(ZeroDivisionError):
        ml.explain(patch, lambda batch: 1 / 0)


@pytest.mark.parametrize(
    "output, message",
    [
        (lambda b: np.full((len(b), 2), np.nan), "non-finite"),
        (lambda b: np.zeros(len(b)), r"shape \(1,\)"),
        (lambda b: np.zeros((len(b), 2, 1)), "expected \\(N, C\\)"),
        (lambda b: np.zeros((len(b), 0)), "C ≥ 1"),
        (lambda b: [["a", "b"]] * len(b), "not an array of numbers"),
        (lambda b: None, "not an array of numbers|shape"),
    ],
)
def test_misbehaving_outputs_are_value_errors(patch, output, message):
    with pytest.raises(ValueError, match=message):
        ml.explain(patch, output)


def test_a_wrong_row_count_after_the_first_call_is_a_value_error(patch):
    def predict(batch):
        return dark_share(batch[:1])  # always one row

    with pytest.raises(ValueError, match="rows = images"):
        ml.explain(patch, predict, batch_size=4)


def test_ctrl_c_stops_the_explanation(patch):
    calls = []

    def slow(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            # As a user pressing Ctrl-C: SIGINT to the main thread.
            threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)).start()
        import time

        time.sleep(0.02)
        return dark_share(batch)

    # Python raises KeyboardInterrupt on SIGINT only if SIGINT was not
    # ignored when it started (a run launched in the background inherits
    # "ignore"): install the handler for this test, whatever the caller's.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            ml.explain(patch, slow, batch_size=1, levels=(50, 100, 200))
    finally:
        signal.signal(signal.SIGINT, previous)
    # 2820 samples would be scored; a few more calls at most after the signal.
    assert len(calls) < 100


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(levels=()), "levels"),
        (dict(levels=(0, 4)), "levels"),
        (dict(samples_per_segment=1), "samples"),
        (dict(samples=1), "samples"),
        (dict(samples=10, samples_per_segment=10), "not both"),
        (dict(kernel_width=0.0), "kernel_width"),
        (dict(kernel_width=float("nan")), "kernel_width"),
        (dict(ridge_alpha=-1.0), "alpha"),
        (dict(batch_size=0), "batch"),
        (dict(compactness=0.0), "compactness"),
        (dict(hide_color="pink"), "hide_color"),
        (dict(hide_color=(0.1, 0.2)), "hide_color"),
        (dict(hide_color=1.5), r"\[0, 1\]"),
        (dict(hide_color=("blur", -1.0)), "sigma"),
        (dict(fusion="best"), "fusion"),
        (dict(fusion=("gaussian", 0.5, 0.0)), "std"),
        (dict(fusion=[1.0, -1.0]), "weight"),
        (dict(levels=(4, 16), fusion=[1.0]), "one weight per level"),
        (dict(preset="fast"), "preset"),
        (dict(seed=True), "bool"),
        (dict(segmenter="grid", compactness=10.0), "compactness"),
        (dict(normalization="l2"), "normalization"),
        (dict(segmenter="quickshift"), "segmenter"),
        (dict(segmenter=np.array([[0.5]])), "integer"),
        (dict(segmenter=np.array([[-1, 0]])), "≥ 0"),
    ],
)
def test_bad_settings_are_value_errors_naming_the_value(settings, message):
    with pytest.raises(ValueError, match=message):
        ml.MultiScaleLime(**settings)


def test_bad_calls_are_value_errors(patch):
    lime = ml.MultiScaleLime(levels=(4,))
    with pytest.raises(ValueError, match="callable"):
        lime.explain(patch, "not a model")
    with pytest.raises(ValueError, match="class"):
        lime.explain(patch, dark_share, target=5)
    with pytest.raises(ValueError, match="top_labels"):
        lime.explain(patch, dark_share, top_labels=0)
    with pytest.raises(ValueError, match="top labels"):
        lime.explain(patch, dark_share, top_labels=3)
    with pytest.raises(ValueError, match="not both"):
        lime.explain(patch, dark_share, target=0, top_labels=1)
    with pytest.raises(ValueError, match="H×W×3"):
        lime.explain(patch[None], dark_share)
    with pytest.raises(ValueError, match="segments"):
        ml.MultiScaleLime(levels=(100,)).explain(patch[:5, :5], dark_share)
    with pytest.raises(ValueError, match="label map is"):
        ml.MultiScaleLime(levels=(2,), segmenter=np.zeros((4, 4), dtype=int)).explain(patch, dark_share)
    e = lime.explain(patch, dark_share)
    with pytest.raises(ValueError, match="not explained"):
        e.heatmap_for(1)
    with pytest.raises(ValueError, match="colormap"):
        e.panel(colormap="jet")


def test_huge_requests_are_refused_before_allocating(patch):
    with pytest.raises(ml.LimitError, match="limit|exceed"):
        ml.MultiScaleLime(levels=(50,), samples_per_segment=10**12).explain(patch, dark_share)


def test_every_package_error_is_an_ml_error_and_the_builtin(patch):
    with pytest.raises(ml.InvalidInputError) as info:
        ml.MultiScaleLime(sampling="sobol")
    assert isinstance(info.value, ml.Error) and isinstance(info.value, ValueError)
    with pytest.raises(ml.InvalidInputError):
        ml.explain(patch, lambda b: np.full((len(b), 2), np.nan))
    with pytest.raises(ml.Error):
        ml.MultiScaleLime(levels=(50,), samples_per_segment=10**12).explain(patch, dark_share)
    assert issubclass(ml.LimitError, ValueError) and not issubclass(ml.LimitError, MemoryError)
    # The callable's own exception is not wrapped.
    with pytest.raises(ZeroDivisionError) as info:
        ml.explain(patch, lambda batch: 1 / 0)
    assert not isinstance(info.value, ml.Error)
