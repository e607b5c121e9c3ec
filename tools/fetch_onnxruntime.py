#!/usr/bin/env python3
"""Fetch ONNX Runtime's shared library from the `onnxruntime` wheel on PyPI.

The `ort` feature opens ONNX Runtime at run time. The CPU wheel on PyPI
bundles the library (onnxruntime/capi/libonnxruntime.so.X.Y.Z); this script
downloads that wheel (no install, no dependencies) and extracts the library
into a folder, by default target/onnxruntime/. It prints the library's path.
Nothing is downloaded when the library is already there.

    python3 tools/fetch_onnxruntime.py            # -> target/onnxruntime/libonnxruntime.so.1.32.0
    export ORT_DYLIB_PATH=$(python3 tools/fetch_onnxruntime.py)

Only the standard library and pip are used.
"""
import argparse
import pathlib

from wheel_file import fetch

VERSION = "1.32.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def library_name(member: str) -> bool:
    name = member.rsplit("/", 1)[-1]
    return "/capi/" in member and (
        name.startswith("libonnxruntime.so.")
        or (name.startswith("libonnxruntime.") and name.endswith(".dylib"))
        or name == "onnxruntime.dll"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / "target" / "onnxruntime")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args()
    print(fetch("onnxruntime", args.version, library_name, args.dest))


if __name__ == "__main__":
    main()
