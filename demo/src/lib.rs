//! The examples that run the bundled CNN live in `examples/` of this
//! package: `cargo run --release --example explain` (the main job) and
//! `cargo run --release --example heatmap_hash`. The package has no
//! library code of its own.
