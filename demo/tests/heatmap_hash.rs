//! The committed hashes of every bit of a fixed set of explanations
//! (`heatmap_hashes.txt`) still hold. Regenerate them, for a change meant
//! to change results, with
//! `REGENERATE=1 cargo test -p multiscale-lime-demo --test heatmap_hash`.

use std::path::Path;

#[test]
fn heatmaps_are_bit_identical_to_the_committed_hashes() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/heatmap_hashes.txt");
    let computed: String = multiscale_lime_demo::heatmap_hashes()
        .unwrap()
        .into_iter()
        .map(|(name, hash)| format!("{hash:016x}  {name}\n"))
        .collect();
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(&file, &computed).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap();
    for (line, (want, got)) in committed.lines().zip(computed.lines()).enumerate() {
        assert_eq!(got, want, "line {} of {}", line + 1, file.display());
    }
    assert_eq!(committed.lines().count(), computed.lines().count());
}
