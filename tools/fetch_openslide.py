#!/usr/bin/env python3
"""Fetch OpenSlide's shared library from the `openslide-bin` wheel on PyPI.

The `openslide` feature opens OpenSlide's C library at run time. The
`openslide-bin` wheel on PyPI bundles a self-contained build of it
(openslide_bin/libopenslide.so.1 on Linux, libopenslide.1.dylib on macOS,
libopenslide-1.dll on Windows); this script downloads that wheel for this
platform (no install, no dependencies) and extracts the library into a
folder, by default target/openslide/. It prints the library's path on its
last line. Nothing is downloaded when the library is already there.

    python3 tools/fetch_openslide.py          # -> target/openslide/libopenslide.so.1
    export OPENSLIDE_DYLIB_PATH=$(python3 tools/fetch_openslide.py)

Only the standard library and pip are used.
"""
import argparse
import pathlib

from wheel_file import fetch

VERSION = "4.0.1.2"
ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = ("libopenslide.so.1", "libopenslide.1.dylib", "libopenslide-1.dll")


def library_name(member: str) -> bool:
    return member.startswith("openslide_bin/") and member.rsplit("/", 1)[-1] in NAMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / "target" / "openslide")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args()
    print(fetch("openslide-bin", args.version, library_name, args.dest, executable=True))


if __name__ == "__main__":
    main()
