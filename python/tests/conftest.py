"""Shared fixtures: the repository's files and the exact test classifier."""

import os
import pathlib

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_png(path):
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def patch():
    """The bundled 96×96 IHC patch, uint8."""
    return load_png(ROOT / "assets" / "ihc_patch96.png")


@pytest.fixture(scope="session")
def reference():
    """The Rust API's results, written by tests/pytest.rs."""
    path = os.environ.get("MULTISCALE_LIME_REFERENCE")
    if not path:
        pytest.fail(
            "MULTISCALE_LIME_REFERENCE is not set: run the suite with "
            "`cargo test -p multiscale-lime-python`, which writes the Rust "
            "results it compares against"
        )
    return pathlib.Path(path)


def dark_share(batch):
    """Class 1: share of pixels with green < 0.5; class 0: the rest. A count,
    so it is the same float here and in Rust (tests/pytest.rs)."""
    p = (batch[..., 1] < 0.5).mean(axis=(1, 2))
    return np.stack([1.0 - p, p], axis=1).astype(np.float32)


@pytest.fixture
def predict():
    return dark_share
