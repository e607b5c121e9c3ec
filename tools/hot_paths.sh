#!/usr/bin/env bash
# Instructions spent in the two hot paths (Ridge::fit_many and the masked
# renders' render_runs) on the fixed workload of examples/hot_paths.rs,
# counted by valgrind's callgrind (inclusive of what each calls). Compare
# two commits by running this on each: counts are exact where timings on a
# shared machine drift.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example hot_paths
out=$(mktemp -d)
for f in fit_many render_runs; do
    RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out/$f" \
        --toggle-collect="*$f*" target/release/examples/hot_paths 2>/dev/null
    echo "$f: $(callgrind_annotate "$out/$f" | awk '/PROGRAM TOTALS/ {print $1}') instructions"
done
rm -r "$out"
