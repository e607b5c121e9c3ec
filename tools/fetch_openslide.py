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
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "4.0.1.2"
ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = ("libopenslide.so.1", "libopenslide.1.dylib", "libopenslide-1.dll")


def library_name(member: str) -> bool:
    return member.startswith("openslide_bin/") and member.rsplit("/", 1)[-1] in NAMES


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / "target" / "openslide")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args()
    dest = args.dest
    marker = dest / f"openslide-bin-{args.version}.path"
    if marker.exists():
        path = pathlib.Path(marker.read_text().strip())
        if path.exists():
            print(path)
            return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"openslide-bin=={args.version}",
               "--no-deps", "--only-binary=:all:", "--quiet", "-d", tmp]
        done = subprocess.run(cmd, stdout=sys.stderr)
        if done.returncode != 0:
            print(f"pip could not download openslide-bin=={args.version} for this platform",
                  file=sys.stderr)
            return 1
        wheels = list(pathlib.Path(tmp).glob("openslide_bin-*.whl"))
        if len(wheels) != 1:
            print(f"expected one wheel, found {wheels}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if library_name(m)]
            if len(members) != 1:
                print(f"no single OpenSlide library in {wheels[0].name}: {members}",
                      file=sys.stderr)
                return 1
            target = dest / members[0].rsplit("/", 1)[-1]
            # Extract beside, then rename: a concurrent run never sees half a file.
            partial = pathlib.Path(tmp) / target.name
            partial.write_bytes(wheel.read(members[0]))
            partial.chmod(0o755)
            os.replace(partial, target)
    partial_marker = marker.with_suffix(f".tmp{os.getpid()}")
    partial_marker.write_text(f"{target}\n")
    os.replace(partial_marker, marker)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
