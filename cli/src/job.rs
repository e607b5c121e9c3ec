//! One image explained into one folder.

use std::path::Path;
use std::time::Instant;

use multiscale_lime::render::{colorize, overlay, panel, Colormap, PanelLayout};
use multiscale_lime::{CombinedHeatmap, HeatmapStack, Image, Target};
use serde_json::Value;

use crate::models::Models;
use crate::page;
use crate::plan::Plan;
use crate::report::{self, Report, Timings};
use crate::write::{self, BoxError};
use crate::{LimeArgs, ModelArgs};

/// What one explanation found, for the console.
pub(crate) struct Outcome {
    pub(crate) class: usize,
    pub(crate) probability: f32,
    pub(crate) millis: f64,
    /// The explanation itself (the slide command stitches it).
    pub(crate) explanation: multiscale_lime::Explanation,
}

/// Creates the output folder `out`, or checks that it is one.
pub(crate) fn create_output_folder(out: &Path) -> Result<(), BoxError> {
    if out.exists() && !out.is_dir() {
        return Err(format!("the output {} exists and is not a folder", out.display()).into());
    }
    std::fs::create_dir_all(out)
        .map_err(|e| format!("cannot create the output folder {}: {e}", out.display()).into())
}

/// Explains `path` and writes every output into `out`, `explanation.json`
/// last: its presence means the folder is complete.
pub(crate) fn explain_into(
    path: &Path,
    out: &Path,
    models: &Models,
    plan: &Plan,
) -> Result<Outcome, BoxError> {
    let start = Instant::now();
    // Before any work: the output folder must be one (or be creatable).
    create_output_folder(out)?;
    let image = crate::read_image(
        path,
        plan.args.config().limits.pixels(),
        plan.args.transparency,
    )?;
    explain_image_into(path, &image, out, models, plan, start, None)
}

/// Explains `image` (read from `path`) into `out`, as [`explain_into`];
/// `start` is when the work on it began. `slide` is where a tile cut from
/// a slide lies (recorded in `explanation.json`; `path` is then the tile's
/// own `image.png`, so that the report's command reproduces it).
pub(crate) fn explain_image_into(
    path: &Path,
    image: &Image,
    out: &Path,
    models: &Models,
    plan: &Plan,
    start: Instant,
    slide: Option<&Value>,
) -> Result<Outcome, BoxError> {
    create_output_folder(out)?;
    let loading = Instant::now();
    let model = models.for_size(image.height(), image.width())?;
    let model_load = milliseconds(loading);
    let target = plan.args.class.map_or(Target::Predicted, Target::Class);
    let explaining = Instant::now();
    let explanation = plan.lime.explain(image, &*model, target)?;
    let explain_ms = milliseconds(explaining);
    let stack = explanation
        .stacks()
        .first()
        .ok_or("the explanation holds no class")?;
    let class = stack.class();
    let combined = explanation.fused();

    write::sweep_temporaries(out);
    let (stems, levels) = write_levels(out, stack, combined)?;
    write_figures(out, image, stack, combined)?;
    let measuring = Instant::now();
    let metrics = report::metrics(image, combined, &*model, class, plan)?;
    let metrics_ms = milliseconds(measuring);
    let elapsed = milliseconds(start);
    let report = Report {
        path,
        image,
        model: &*model,
        models,
        plan,
        explanation: &explanation,
        class,
        levels,
        metrics,
        timings: Timings {
            model_load,
            explanation: explain_ms,
            metrics: metrics_ms,
            elapsed,
        },
    };
    let mut document = report.json();
    if let Some(slide) = slide {
        document["slide"] = slide.clone();
    }
    page::write_panel_script(out, &document, stack)?;
    // An earlier explanation with other levels leaves no files behind.
    write::remove_stale_levels(out, &stems);
    write::atomically(&out.join("explanation.json"), |w| write::json(w, &document))?;
    // An earlier failure of this image is over.
    let _ = std::fs::remove_file(out.join(page::FAILURE));
    Ok(Outcome {
        class,
        probability: explanation.prediction()[class],
        millis: elapsed,
        explanation,
    })
}

fn milliseconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Each level's heatmap as PNG and `.npy`; returns the files' stems and
/// the levels' report entries.
fn write_levels(
    out: &Path,
    stack: &HeatmapStack,
    combined: &CombinedHeatmap,
) -> Result<(Vec<String>, Vec<Value>), BoxError> {
    let mut levels = Vec::new();
    let mut stems = Vec::new();
    for (l, level) in stack.levels().iter().enumerate() {
        let stem = format!("level{}_s{}", l + 1, level.desired);
        write::atomically(&out.join(format!("{stem}.png")), |w| {
            write::png(w, &colorize(&level.heatmap, Colormap::Viridis, RANGE)?)
        })?;
        write::atomically(&out.join(format!("{stem}.npy")), |w| {
            write::npy(w, level.heatmap.values())
        })?;
        levels.push(report::level(
            l + 1,
            level,
            combined.weights[l],
            &format!("{stem}.npy"),
        )?);
        stems.push(stem);
    }
    Ok((stems, levels))
}

/// The colour maps' range: heatmaps are normalised to `[0, 1]`.
const RANGE: (f32, f32) = (0.0, 1.0);

/// The longest side of a report thumbnail (pixels).
const THUMB: u32 = 128;

/// The fused heatmap (PNG and `.npy`), its overlay on the image, and the
/// paper-style panel.
fn write_figures(
    out: &Path,
    image: &Image,
    stack: &HeatmapStack,
    combined: &CombinedHeatmap,
) -> Result<(), BoxError> {
    let map = &combined.heatmap;
    write::atomically(&out.join("combined.png"), |w| {
        write::png(w, &colorize(map, Colormap::Viridis, RANGE)?)
    })?;
    write::atomically(&out.join("combined.npy"), |w| write::npy(w, map.values()))?;
    let overlaid = overlay(image, map, Colormap::Inferno, RANGE, 0.6)?;
    write::atomically(&out.join("overlay.png"), |w| write::png(w, &overlaid))?;
    // The report's pictures: the image as the model saw it, and the
    // overlay as a thumbnail of at most 128 pixels a side.
    write::atomically(&out.join("image.png"), |w| write::png(w, &image.to_rgb8()))?;
    let (w, h) = overlaid.dimensions();
    let thumb = if w.max(h) > THUMB {
        let (tw, th) = if w >= h {
            (THUMB, (h * THUMB).div_ceil(w).max(1))
        } else {
            ((w * THUMB).div_ceil(h).max(1), THUMB)
        };
        image::imageops::thumbnail(&overlaid, tw, th)
    } else {
        overlaid
    };
    write::atomically(&out.join("thumb.png"), |w| write::png(w, &thumb))?;
    // Small images are drawn larger: tiles fit for print.
    let scale = PanelLayout::print_scale((image.height(), image.width()));
    write::atomically(&out.join("panel.png"), |w| {
        write::png(
            w,
            &panel(image, stack, combined, Colormap::Viridis, RANGE, scale)?,
        )
    })
}

/// An error and its causes, on one line.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `mslime explain`.
pub(crate) fn explain_one(
    path: &Path,
    model: &ModelArgs,
    lime: &LimeArgs,
    out: &Path,
) -> Result<(), String> {
    let models = Models::open(model)?;
    let plan = Plan::new(lime)?;
    // On one of the pool's own threads, as `batch` runs: called from the
    // main thread, every parallel pass of the explanation would hand its
    // work to the pool and wait, and the model's runs would be scheduled
    // across threads (measured: the same explanation half again as long).
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| format!("cannot start the worker threads: {e}"))?;
    let outcome = pool
        .install(|| explain_into(path, out, &models, &plan))
        .map_err(|e| format!("{}: {}", path.display(), describe(e.as_ref())))?;
    let title = format!("mslime explain: {}", path.display());
    let report = page::write_page(out, &title)
        .map_err(|e| format!("cannot write the report: {}", describe(e.as_ref())))?;
    println!(
        "{}: {} (p = {:.3}) explained in {:.0} ms; outputs in {}, report {}",
        path.display(),
        models.class_name(outcome.class),
        outcome.probability,
        outcome.millis,
        out.display(),
        report.display()
    );
    Ok(())
}
