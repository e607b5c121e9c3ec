//! The main job: explain a stain classifier's decision on the bundled IHC
//! patch at five scales, and write every heatmap as PNG.
//!
//! ```text
//! cargo run --release --example explain [-- IMAGE.png [OUT_DIR]]
//! ```
//!
//! The classifier is deliberately transparent, so you can check the
//! explanation against what the model really does: it measures the DAB
//! (brown) stain of each pixel by colour deconvolution (Ruifrok & Johnston,
//! as `skimage.color.rgb2hed`), and calls a patch *stained* by the share of
//! pixels whose DAB optical density exceeds 0.04:
//! `P(stained) = sigmoid(15 · (share − 0.15))`. Hidden (black) pixels count
//! as unstained. A faithful explanation lights up the brown regions.

use std::path::{Path, PathBuf};

use multiscale_lime::prelude::*;
use multiscale_lime::{ClassifierError, Gaussian, Uniform};
use ndarray::{Array2, ArrayView4, Axis};

/// `skimage.color.hed_from_rgb[:, 2]`: the DAB column of the inverse stain matrix.
const DAB_FROM_OD: [f32; 3] = [-0.556_115_8, -0.135_521_8, 1.573_588_1];
const DAB_THRESHOLD: f32 = 0.04;

fn dab_density(rgb: &[f32]) -> f32 {
    if rgb.iter().all(|&v| v < 0.05) {
        return 0.0; // hidden by the perturbation: no tissue
    }
    let log_adjust = (1e-6f32).ln();
    rgb.iter()
        .zip(DAB_FROM_OD)
        .map(|(&v, w)| v.max(1e-6).ln() / log_adjust * w)
        .sum()
}

fn stain_classifier(batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
    let mut out = Array2::zeros((batch.dim().0, 2));
    for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
        let img = img.as_standard_layout();
        let pixels = img
            .as_slice()
            .ok_or_else(|| ClassifierError::msg("non-contiguous image"))?;
        let stained = pixels
            .chunks_exact(3)
            .filter(|px| dab_density(px) > DAB_THRESHOLD)
            .count() as f32
            / (pixels.len() / 3) as f32;
        let p = 1.0 / (1.0 + (-15.0 * (stained - 0.15)).exp());
        out[[i, 0]] = 1.0 - p;
        out[[i, 1]] = p;
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("assets/ihc_patch96.png"));
    let out_dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("out/explain"));
    std::fs::create_dir_all(&out_dir)?;

    let image = Image::try_from(&image::open(&input)?.to_rgb8())?;
    let classifier = FnClassifier::new(2, stain_classifier);
    let lime = MultiScaleLime::builder()
        .levels([10, 25, 50, 100, 200])
        .compactness(5.0)
        .samples_per_segment(10)
        .seed(0)
        .build()?;

    let start = std::time::Instant::now();
    let explanation = lime.explain(&image, &classifier, Target::Predicted)?;
    let elapsed = start.elapsed();

    let class = explanation.predicted_class();
    let names = ["unstained", "stained (DAB)"];
    println!(
        "{} ({}×{}): predicted {} (p = {:.3}), explained in {:.0} ms",
        input.display(),
        image.width(),
        image.height(),
        names[class],
        explanation.prediction()[class],
        elapsed.as_secs_f64() * 1e3
    );
    let stack = &explanation.stacks()[0];
    let trapezoid = stack.combine(&Trapezoid)?;
    let inverse = stack.combine(&InverseTrapezoid)?;
    println!("level   s    s'  samples    R²   w(trapezoid)  w(inverse)");
    for (l, level) in stack.levels().iter().enumerate() {
        println!(
            "{:>5} {:>4} {:>4} {:>8} {:>6.3} {:>12.3} {:>11.3}",
            l + 1,
            level.desired,
            level.actual,
            level.samples,
            level.score,
            trapezoid.weights[l],
            inverse.weights[l]
        );
        let name = format!(
            "level{}_s{}_actual{}.png",
            l + 1,
            level.desired,
            level.actual
        );
        level.heatmap.to_luma8(0.0, 1.0).save(out_dir.join(name))?;
    }
    let combined = [
        ("combined_trapezoid.png", trapezoid),
        ("combined_inverse_trapezoid.png", inverse),
        (
            "combined_gaussian_fine.png",
            stack.combine(&Gaussian::new(1.0, 0.5)?)?,
        ),
        ("combined_uniform.png", stack.combine(&Uniform)?),
    ];
    for (name, c) in &combined {
        c.heatmap.to_luma8(0.0, 1.0).save(out_dir.join(name))?;
    }
    image.to_rgb8().save(out_dir.join("input.png"))?;

    // How much of the combined relevance falls on stained pixels?
    let map = combined[0].1.heatmap.values();
    let (mut on_stain, mut total, mut stained) = (0.0f64, 0.0f64, 0usize);
    for ((y, x), &v) in map.indexed_iter() {
        total += f64::from(v);
        if dab_density(&image.pixel(y, x)) > DAB_THRESHOLD {
            on_stain += f64::from(v);
            stained += 1;
        }
    }
    println!(
        "relevance on stained pixels: {:.1}% (they are {:.1}% of the patch)",
        100.0 * on_stain / total.max(f64::MIN_POSITIVE),
        100.0 * stained as f64 / image.pixels() as f64
    );
    println!("heatmaps written to {}", out_dir.canonicalize()?.display());
    Ok(())
}
