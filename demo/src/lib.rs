//! The examples that run the bundled CNN live in `examples/` of this
//! package: `cargo run --release --example explain` (the main job) and
//! `cargo run --release --example heatmap_hash`. The library holds what
//! the latter shares with its test (`tests/heatmap_hash.rs`), which
//! compares the hashes with those committed in
//! `tests/heatmap_hashes.txt`: a change that must not change results (a
//! refactor, a speed-up) leaves them as they are. A change meant to change
//! results regenerates the file with
//! `REGENERATE=1 cargo test -p multiscale-lime-demo --test heatmap_hash`
//! and says why in its commit.

use multiscale_lime::image;
use multiscale_lime::onnx::OnnxClassifier;
use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{
    BernoulliPerturber, Explanation, Gaussian, HideColor, InverseTrapezoid, SquareGrid, Uniform,
};

/// FNV-1a over bytes: small, stable across platforms and Rust versions.
struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn f32s<'a>(&mut self, values: impl IntoIterator<Item = &'a f32>) {
        for v in values {
            self.bytes(&v.to_bits().to_le_bytes());
        }
    }
    fn f64s<'a>(&mut self, values: impl IntoIterator<Item = &'a f64>) {
        for v in values {
            self.bytes(&v.to_bits().to_le_bytes());
        }
    }
}

fn hash_explanation(explanation: &Explanation) -> Result<u64, multiscale_lime::Error> {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.f32s(explanation.prediction());
    for stack in explanation.stacks() {
        h.bytes(&stack.class().to_le_bytes());
        for level in stack.levels() {
            h.bytes(&level.actual.to_le_bytes());
            h.bytes(&level.samples.to_le_bytes());
            h.f64s(&level.coefficients);
            h.f64s(&[level.intercept, level.r2, level.local_prediction]);
            h.f32s(level.heatmap.values());
            h.bytes(
                &level
                    .segmentation
                    .labels()
                    .iter()
                    .flat_map(|l| l.to_le_bytes())
                    .collect::<Vec<u8>>(),
            );
        }
        let combiners: [&dyn Combiner; 4] = [
            &Trapezoid,
            &InverseTrapezoid,
            &Gaussian::new(1.0, 0.3)?,
            &Uniform,
        ];
        for combiner in combiners {
            let fused = combiner.combine(stack)?;
            h.f32s(fused.heatmap.values());
            h.f64s(&fused.weights);
        }
    }
    Ok(h.0)
}

/// Every case's hash, by name, then `("all", hash of the hashes)`: one
/// hash of every bit of a fixed set of explanations (the level heatmaps,
/// coefficients, intercepts, R² and the fused maps of several segmenters,
/// hide colours, targets and batch sizes, with a near-free classifier and
/// with the bundled CNN through tract).
///
/// # Errors
/// When a bundled file cannot be read or an explanation fails.
pub fn heatmap_hashes() -> Result<Vec<(String, u64)>, Box<dyn std::error::Error>> {
    let root = multiscale_lime_testkit::repo_root().join("assets");
    let patch = Image::try_from(&image::open(root.join("ihc_patch96.png"))?.to_rgb8())?;
    let big = image::open(root.join("ihc.png"))?.to_rgb8();
    let crop = Image::try_from(&image::imageops::crop_imm(&big, 100, 150, 160, 120).to_image())?;
    let red = multiscale_lime_testkit::mean_red_classifier();
    let cnn = OnnxClassifier::builder(96, 96).load_path(root.join("models/ihc_dab_cnn.onnx"))?;

    let hides = [
        HideColor::Constant([0.0; 3]),
        HideColor::Constant([1.0; 3]),
        HideColor::SegmentMean,
        HideColor::Blurred { sigma: 3.0 },
    ];
    let mut all = Fnv(0xcbf2_9ce4_8422_2325);
    let mut hashes = Vec::new();
    let mut report = |name: String, e: &Explanation| -> Result<(), multiscale_lime::Error> {
        let h = hash_explanation(e)?;
        all.bytes(&h.to_le_bytes());
        hashes.push((name, h));
        Ok(())
    };
    for (i, hide) in hides.into_iter().enumerate() {
        for (batch, seed) in [(BatchSize::Auto, 3), (BatchSize::Fixed(5), 11)] {
            let lime = MultiScaleLime::preset(Preset::Paper)
                .levels([10, 25, 50, 100, 200])
                .perturber(BernoulliPerturber::new(0.5, hide)?)
                .batch_size(batch)
                .seed(seed)
                .build()?;
            let e = lime.explain(&patch, &red, Target::TopLabels(2))?;
            report(format!("patch slic hide{i} {batch:?} seed {seed}"), &e)?;
            let e = lime.explain(&crop, &red, Target::Predicted)?;
            report(format!("crop slic hide{i} {batch:?} seed {seed}"), &e)?;
        }
    }
    let grid = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 16, 64])
        .samples(300)
        .seed(5)
        .build()?;
    report(
        "patch grid".into(),
        &grid.explain(&patch, &red, Target::Class(1))?,
    )?;
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50, 100, 200])
        .perturber(BernoulliPerturber::new(0.5, HideColor::Constant([1.0; 3]))?)
        .seed(42)
        .build()?;
    report(
        "patch cnn white".into(),
        &lime.explain(&patch, &cnn, Target::TopLabels(2))?,
    )?;
    hashes.push(("all".into(), all.0));
    Ok(hashes)
}
