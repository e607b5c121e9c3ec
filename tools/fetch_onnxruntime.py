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
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "1.32.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def library_name(member: str) -> bool:
    name = member.rsplit("/", 1)[-1]
    return "/capi/" in member and (
        name.startswith("libonnxruntime.so.")
        or (name.startswith("libonnxruntime.") and name.endswith(".dylib"))
        or name == "onnxruntime.dll"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / "target" / "onnxruntime")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args()
    dest = args.dest
    marker = dest / f"onnxruntime-{args.version}.path"
    if marker.exists():
        path = pathlib.Path(marker.read_text().strip())
        if path.exists():
            print(path)
            return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"onnxruntime=={args.version}",
               "--no-deps", "--only-binary=:all:", "--quiet", "-d", tmp]
        done = subprocess.run(cmd, stdout=sys.stderr)
        if done.returncode != 0:
            print(f"pip could not download onnxruntime=={args.version}", file=sys.stderr)
            return 1
        wheels = list(pathlib.Path(tmp).glob("onnxruntime-*.whl"))
        if len(wheels) != 1:
            print(f"expected one wheel, found {wheels}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if library_name(m)]
            if len(members) != 1:
                print(f"no single ONNX Runtime library in {wheels[0].name}: {members}", file=sys.stderr)
                return 1
            target = dest / members[0].rsplit("/", 1)[-1]
            # Extract beside, then rename: a concurrent run never sees half a file.
            partial = pathlib.Path(tmp) / target.name
            partial.write_bytes(wheel.read(members[0]))
            os.replace(partial, target)
    partial_marker = marker.with_suffix(f".tmp{os.getpid()}")
    partial_marker.write_text(f"{target}\n")
    os.replace(partial_marker, marker)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
