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

use multiscale_lime::metrics::{
    deletion_curve, explanation_accuracy, insertion_curve, relevance_mass,
};
use multiscale_lime::prelude::*;
use multiscale_lime::render::{colorize, overlay, panel, Colormap};
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
        colorize(&level.heatmap, Colormap::Viridis, (0.0, 1.0))?.save(out_dir.join(name))?;
    }
    let combined = [
        ("combined_trapezoid", trapezoid),
        ("combined_inverse_trapezoid", inverse),
        (
            "combined_gaussian_fine",
            stack.combine(&Gaussian::new(1.0, 0.5)?)?,
        ),
        ("combined_uniform", stack.combine(&Uniform)?),
    ];
    for (name, c) in &combined {
        colorize(&c.heatmap, Colormap::Viridis, (0.0, 1.0))?
            .save(out_dir.join(format!("{name}.png")))?;
        overlay(&image, &c.heatmap, Colormap::Inferno, (0.0, 1.0), 0.6)?
            .save(out_dir.join(format!("{name}_overlay.png")))?;
    }
    panel(
        &image,
        stack,
        &combined[0].1,
        Colormap::Viridis,
        (0.0, 1.0),
        2,
    )?
    .save(out_dir.join("panel.png"))?;
    image.to_rgb8().save(out_dir.join("input.png"))?;

    // Evaluation: is the explanation faithful to the model?
    let map = &combined[0].1.heatmap;
    let hide = HideColor::Constant([0.0; 3]);
    let acc = explanation_accuracy(&image, map, &classifier, class, 0.2, hide)?;
    let deletion = deletion_curve(&image, map, &classifier, class, 50, hide)?;
    let insertion = insertion_curve(&image, map, &classifier, class, 50, 5.0)?;
    println!(
        "explanation accuracy (top 20% kept): p = {:.3} (full image {:.3}), label {}",
        acc.masked_score,
        acc.original_score,
        if acc.label_holds { "holds" } else { "flips" }
    );
    println!(
        "deletion AUC {:.3} (lower is better), insertion AUC {:.3} (higher is better)",
        deletion.auc, insertion.auc
    );
    let stain_mask = ndarray::Array2::from_shape_fn((image.height(), image.width()), |(y, x)| {
        dab_density(&image.pixel(y, x)) > DAB_THRESHOLD
    });
    println!(
        "relevance mass on stained pixels: {:.1}% (they are {:.1}% of the patch)",
        100.0 * relevance_mass(map, stain_mask.view())?,
        100.0 * stain_mask.iter().filter(|&&m| m).count() as f64 / image.pixels() as f64
    );
    println!(
        "heatmaps, overlays and panel.png written to {}",
        out_dir.canonicalize()?.display()
    );
    Ok(())
}
