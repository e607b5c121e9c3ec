//! Prints one hash of every bit of a fixed set of explanations (see
//! `multiscale_lime_demo::heatmap_hashes`), one line per case and a last
//! line `all`; `tests/heatmap_hash.rs` asserts the committed ones.
//!
//! ```text
//! cargo run --release --example heatmap_hash
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for (name, hash) in multiscale_lime_demo::heatmap_hashes()? {
        println!("{hash:016x}  {name}");
    }
    Ok(())
}
