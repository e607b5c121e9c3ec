#!/usr/bin/env bash
# Makes sure Debian's `chromium` is installed (the report's browser tests
# drive it headless) and prints its path. Uses apt-get as root, or through
# `sudo -n` when that needs no password; otherwise says what to run.
set -euo pipefail
for name in chromium chromium-browser; do
    if path=$(command -v "$name"); then
        echo "$path"
        exit 0
    fi
done
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "chromium is not installed and this user cannot install it: run" >&2
    echo "  sudo apt-get install -y chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium
