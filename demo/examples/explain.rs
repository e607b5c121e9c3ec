//! The main job: explain a CNN's decision on the bundled IHC patch at five
//! scales, evaluate the explanation, and write every heatmap as PNG.
//!
//! ```text
//! cargo run --release --example explain [-- [--stain] [--preset paper] [IMAGE.png [OUT_DIR]]]
//! ```
//!
//! The default model is `assets/models/ihc_dab_cnn.onnx`, a small CNN
//! (about 60k parameters, `tools/train_model.py`) trained to call 96×96 IHC
//! patches DAB-rich (brown stain) or DAB-poor, run through tract, or through
//! ONNX Runtime when `ORT_DYLIB_PATH` names its library (several times
//! faster; `export ORT_DYLIB_PATH=$(python3 tools/fetch_onnxruntime.py)`). Hidden
//! superpixels are painted white, the empty background of a brightfield
//! slide: black would read as dense stain to a stain detector. Both classes
//! are explained from one set of model calls; the explanation of DAB-rich
//! should light up the brown regions.
//!
//! `--stain` swaps in a transparent classifier, so the explanation can be
//! checked against what the model really does: it measures the DAB stain of
//! each pixel by colour deconvolution (Ruifrok & Johnston, as
//! `skimage.color.rgb2hed`) and calls a patch stained by the share of pixels
//! whose DAB optical density exceeds 0.04:
//! `P(stained) = sigmoid(15 · (share − 0.15))` (hidden black pixels count as
//! unstained). It works on images of any size.

use std::path::{Path, PathBuf};

use multiscale_lime::metrics::{
    deletion_curve, explanation_accuracy, insertion_curve, relevance_mass,
};
use multiscale_lime::onnx::{OnnxClassifier, OrtClassifier};
use multiscale_lime::prelude::*;
use multiscale_lime::render::{colorize, overlay, panel, Colormap, PanelLayout};
use multiscale_lime::{image, ndarray};
use multiscale_lime::{ClassifierError, Explanation, Gaussian, InverseTrapezoid, Preset, Uniform};
use multiscale_lime_testkit::{dab_density, stained_pixels, DAB_THRESHOLD};
use ndarray::{Array2, ArrayView4, Axis};

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

type BoxError = Box<dyn std::error::Error>;

/// The command line: `[--stain] [--preset paper] [IMAGE.png [OUT_DIR]]`.
struct Options {
    transparent: bool,
    preset: Preset,
    input: PathBuf,
    out_dir: PathBuf,
}

impl Options {
    fn parse(root: &Path) -> Result<Options, BoxError> {
        let mut transparent = false;
        let mut preset = Preset::Recommended;
        let mut paths = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--stain" => transparent = true,
                "--preset" => {
                    let name = args.next().ok_or("--preset needs a name")?;
                    preset = name.parse()?;
                }
                _ => paths.push(PathBuf::from(arg)),
            }
        }
        let mut paths = paths.into_iter();
        Ok(Options {
            transparent,
            preset,
            input: paths
                .next()
                .unwrap_or_else(|| root.join("assets/ihc_patch96.png")),
            out_dir: paths.next().unwrap_or_else(|| root.join("out/explain")),
        })
    }
}

/// The bundled CNN (through ONNX Runtime when `ORT_DYLIB_PATH` is set, else
/// tract) or the transparent stain classifier, and its name.
fn classifier(
    root: &Path,
    transparent: bool,
) -> Result<(Box<dyn Classifier>, &'static str), BoxError> {
    let cnn = root.join("assets/models/ihc_dab_cnn.onnx");
    Ok(if transparent {
        (
            Box::new(FnClassifier::new(2, stain_classifier)),
            "transparent DAB classifier",
        )
    } else if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        (
            Box::new(OrtClassifier::builder(96, 96).load_path(&cnn)?),
            "CNN ihc_dab_cnn.onnx (ONNX Runtime)",
        )
    } else {
        (
            Box::new(OnnxClassifier::builder(96, 96).load_path(&cnn)?),
            "CNN ihc_dab_cnn.onnx (tract)",
        )
    })
}

const NAMES: [&str; 2] = ["DAB-poor", "DAB-rich"];

fn main() -> Result<(), BoxError> {
    let root = multiscale_lime_testkit::repo_root();
    let options = Options::parse(&root)?;
    let out_dir = &options.out_dir;
    std::fs::create_dir_all(out_dir)?;
    let image = Image::try_from(&image::open(&options.input)?.to_rgb8())?;
    let (classifier, model_name) = classifier(&root, options.transparent)?;
    // White is "no tissue, no stain" in brightfield; the transparent
    // classifier keeps the paper's black (it counts black as unstained).
    let hide = if options.transparent {
        HideColor::Constant([0.0; 3])
    } else {
        HideColor::Constant([1.0; 3])
    };
    // The crate's defaults (`Preset::Recommended`: five levels, orthogonal
    // masks, log-odds of the CNN's probabilities, density fusion), or the
    // paper's setting with `--preset paper`.
    let lime = MultiScaleLime::preset(options.preset)
        .hide_color(hide)
        .build()?;

    let start = std::time::Instant::now();
    let explanation = lime.explain(&image, &classifier, Target::TopLabels(2))?;
    let elapsed = start.elapsed();

    let class = explanation.predicted_class();
    let calls: usize = explanation.stacks()[0]
        .levels()
        .iter()
        .map(|l| l.calls)
        .sum();
    println!(
        "{} ({}×{}), {model_name}: predicted {} (p = {:.3}), explained in {:.0} ms ({calls} model calls, {} regressed)",
        options.input.display(),
        image.width(),
        image.height(),
        NAMES[class],
        explanation.prediction()[class],
        elapsed.as_secs_f64() * 1e3,
        explanation.response(),
    );
    save_levels(&explanation, out_dir)?;
    save_fused(&image, &explanation, out_dir)?;
    evaluate(&image, &explanation, &classifier, hide)?;
    explain_stain(&image, &explanation, &classifier, hide, out_dir)?;
    println!(
        "heatmaps, overlays and panel.png written to {}",
        out_dir.canonicalize()?.display()
    );
    Ok(())
}

/// Prints the predicted class's levels with the paper's fusion weights and
/// saves each level's heatmap.
fn save_levels(explanation: &Explanation, out_dir: &Path) -> Result<(), BoxError> {
    let stack = &explanation.stacks()[0];
    let trapezoid = Trapezoid.combine(stack)?;
    let inverse = InverseTrapezoid.combine(stack)?;
    println!("level   s    s'  samples    R²   w(trapezoid)  w(inverse)");
    for (l, level) in stack.levels().iter().enumerate() {
        println!(
            "{:>5} {:>4} {:>4} {:>8} {:>6.3} {:>12.3} {:>11.3}",
            l + 1,
            level.desired,
            level.actual,
            level.samples,
            level.r2,
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
    Ok(())
}

/// The explainer's own fused map first (its fusion rule), then the paper's
/// rules: heatmaps, overlays, the panel and the input.
fn save_fused(image: &Image, explanation: &Explanation, out_dir: &Path) -> Result<(), BoxError> {
    let stack = &explanation.stacks()[0];
    let combined = [
        ("combined", explanation.fused().clone()),
        ("combined_trapezoid", Trapezoid.combine(stack)?),
        (
            "combined_inverse_trapezoid",
            InverseTrapezoid.combine(stack)?,
        ),
        (
            "combined_gaussian_fine",
            Gaussian::new(1.0, 0.5)?.combine(stack)?,
        ),
        ("combined_uniform", Uniform.combine(stack)?),
    ];
    for (name, c) in &combined {
        colorize(&c.heatmap, Colormap::Viridis, (0.0, 1.0))?
            .save(out_dir.join(format!("{name}.png")))?;
        overlay(image, &c.heatmap, Colormap::Inferno, (0.0, 1.0), 0.6)?
            .save(out_dir.join(format!("{name}_overlay.png")))?;
    }
    // Tiles of 384 pixels or more: fit for print.
    let scale = PanelLayout::print_scale((image.height(), image.width()));
    panel(
        image,
        stack,
        &combined[0].1,
        Colormap::Viridis,
        (0.0, 1.0),
        scale,
    )?
    .save(out_dir.join("panel.png"))?;
    image.to_rgb8().save(out_dir.join("input.png"))?;
    Ok(())
}

/// Is the predicted class's explanation faithful to the model?
fn evaluate(
    image: &Image,
    explanation: &Explanation,
    classifier: &dyn Classifier,
    hide: HideColor,
) -> Result<(), BoxError> {
    let class = explanation.predicted_class();
    let map = &explanation.fused().heatmap;
    let acc = explanation_accuracy(image, map, classifier, class, 0.2, hide)?;
    let deletion = deletion_curve(image, map, classifier, class, 50, hide)?;
    let insertion = insertion_curve(image, map, classifier, class, 50, 5.0)?;
    println!(
        "{} explanation: accuracy (top 20% kept) p = {:.3} (full image {:.3}), label {}",
        NAMES[class],
        acc.masked_score,
        acc.original_score,
        if acc.label_holds { "holds" } else { "flips" }
    );
    println!(
        "{} explanation: deletion AUC {:.3} (lower is better), insertion AUC {:.3} (higher is better)",
        NAMES[class], deletion.auc, insertion.auc
    );
    Ok(())
}

/// Where is the evidence for stain? The DAB-rich explanation (the
/// predicted one, or the runner-up) should sit on the brown pixels.
fn explain_stain(
    image: &Image,
    explanation: &Explanation,
    classifier: &dyn Classifier,
    hide: HideColor,
    out_dir: &Path,
) -> Result<(), BoxError> {
    let stain_mask = stained_pixels(image);
    let rich = explanation.stack(1).ok_or("DAB-rich was not explained")?;
    let rich_map = explanation.fused_for(1).ok_or("DAB-rich was not fused")?;
    if explanation.predicted_class() != 1 {
        colorize(&rich_map.heatmap, Colormap::Viridis, (0.0, 1.0))?
            .save(out_dir.join("dab_rich.png"))?;
        overlay(image, &rich_map.heatmap, Colormap::Inferno, (0.0, 1.0), 0.6)?
            .save(out_dir.join("dab_rich_overlay.png"))?;
        let scale = PanelLayout::print_scale((image.height(), image.width()));
        panel(image, rich, rich_map, Colormap::Viridis, (0.0, 1.0), scale)?
            .save(out_dir.join("panel_dab_rich.png"))?;
    }
    let rich_deletion = deletion_curve(image, &rich_map.heatmap, classifier, 1, 50, hide)?;
    println!(
        "DAB-rich explanation: {:.1}% of its relevance on stained pixels (they are {:.1}% of the patch), \
         deletion AUC {:.3} (P(DAB-rich) = {:.3} on the full patch)",
        100.0 * relevance_mass(&rich_map.heatmap, stain_mask.view())?,
        100.0 * stain_mask.iter().filter(|&&m| m).count() as f64 / image.pixels() as f64,
        rich_deletion.auc,
        explanation.prediction()[1]
    );
    Ok(())
}
