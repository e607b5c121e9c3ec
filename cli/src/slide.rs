//! `mslime slide`: a whole-slide image from tissue to a prediction map, to
//! explanations of chosen tiles stitched across the slide, to files QuPath
//! opens.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use multiscale_lime::slide::{
    detect_tissue, feature_collection, pixel_uncertainty, predict_tiles, read_tile,
    superpixel_features, tile_features, tiles, PredictionMap, Slide, SlideMap, SlideTile,
    TiffSlide, TileSpec, TissueMask,
};
use multiscale_lime::Image;
use ndarray::Array2;
use rayon::prelude::*;
use serde_json::json;

use crate::job::{create_output_folder, describe, explain_image_into};
use crate::models::Models;
use crate::plan::Plan;
use crate::write::{self, BoxError};
use crate::{LimeArgs, ModelArgs};

/// What the slide command is asked to do beyond the model and settings.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SlideArgs {
    /// Tile resolution in µm per pixel (the slide must record its own);
    /// default: level 0.
    #[arg(long, conflicts_with = "downsample")]
    pub(crate) mpp: Option<f64>,
    /// Tile resolution as level-0 pixels per tile pixel (1: level 0).
    #[arg(long)]
    pub(crate) downsample: Option<f64>,
    /// Tile pixels between tiles' corners (default: the tile size, no
    /// overlap).
    #[arg(long)]
    pub(crate) stride: Option<u32>,
    /// The least share of tissue a tile must hold to be scored.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) min_tissue: f64,
    /// Tiles to explain: top:K (the K most probable for --class),
    /// above:P (probability at least P), all, or none.
    #[arg(long, default_value = "top:8")]
    pub(crate) explain: String,
    /// Tiles per model run while scoring (default: 32).
    #[arg(long, default_value_t = 32)]
    pub(crate) batch: usize,
    /// Level-0 pixels per cell of the stitched maps (default: a map of at
    /// most 2048 cells a side).
    #[arg(long)]
    pub(crate) map_downsample: Option<f64>,
}

/// Which tiles to explain.
#[derive(Debug)]
enum Choice {
    Top(usize),
    Above(f32),
    All,
    None,
}

fn parse_choice(text: &str) -> Result<Choice, String> {
    let bad = || format!("--explain {text}: expected top:K, above:P (0 ≤ P ≤ 1), all or none");
    match text.split_once(':') {
        Some(("top", k)) => k.parse().map(Choice::Top).map_err(|_| bad()),
        Some(("above", p)) => match p.parse::<f32>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(Choice::Above(p)),
            _ => Err(bad()),
        },
        None if text == "all" => Ok(Choice::All),
        None if text == "none" => Ok(Choice::None),
        _ => Err(bad()),
    }
}

/// `mslime slide`.
pub(crate) fn run(
    path: &Path,
    model: &ModelArgs,
    lime: &LimeArgs,
    args: &SlideArgs,
    out: &Path,
) -> Result<(), String> {
    let started = Instant::now();
    let choice = parse_choice(&args.explain)?;
    let plan = Plan::new(lime)?;
    let models = Models::open(model)?;
    create_output_folder(out).map_err(|e| e.to_string())?;
    let slide = TiffSlide::open(path).map_err(|e| e.to_string())?;
    let (height, width) = models.declared.ok_or_else(|| {
        format!(
            "{} does not fix its input size; the slide command cuts tiles of the model's size",
            model.model.display()
        )
    })?;
    let spec = tile_spec(&slide, args, (width as u32, height as u32))?;
    let tissue = detect_tissue(&slide, 2048).map_err(|e| e.to_string())?;
    let grid = tiles(&slide, &tissue, &spec).map_err(|e| e.to_string())?;
    eprintln!(
        "{}: {} levels, level 0 {}×{}; {} tissue tiles of {width}×{height} at downsample {:.3}",
        path.display(),
        slide.levels().len(),
        slide.levels()[0].width,
        slide.levels()[0].height,
        grid.len(),
        spec.downsample
    );
    let classifier = models.for_size(height, width).map_err(|e| e.to_string())?;
    let map = score(&slide, &grid, &spec, &*classifier, args.batch)?;
    let class = lime
        .class
        .unwrap_or(if classifier.num_classes() > 1 { 1 } else { 0 });
    if class >= classifier.num_classes() {
        return Err(format!(
            "--class {class}: the model has {} classes",
            classifier.num_classes()
        ));
    }
    let chosen = choose(&map, class, &choice);
    let explained = explain_tiles(&slide, &map, &chosen, &spec, &models, &plan, out)?;
    let level0 = slide.levels()[0];
    let map_downsample = args
        .map_downsample
        .unwrap_or_else(|| (level0.width.max(level0.height) as f64 / 2048.0).max(1.0));
    let maps = stitch(&slide, &explained, map_downsample)?;
    write_outputs(
        &slide, path, &models, &map, class, &explained, &maps, &tissue, out,
    )
    .map_err(|e| describe(e.as_ref()))?;
    write_view(&slide, &models, &map, class, &explained, &maps, out)?;
    let title = format!("mslime slide: {}", path.display());
    let report = crate::page::write_page(out, &title).map_err(|e| describe(e.as_ref()))?;
    println!(
        "{}: {} tiles scored, {} explained in {:.1} s; outputs in {}, report {}",
        path.display(),
        grid.len(),
        explained.len(),
        started.elapsed().as_secs_f64(),
        out.display(),
        report.display()
    );
    Ok(())
}

/// The report's slide view: the pyramid, the overlays, the explained
/// tiles marked.
fn write_view(
    slide: &TiffSlide,
    models: &Models,
    map: &PredictionMap,
    class: usize,
    explained: &[Explained],
    maps: &Maps,
    out: &Path,
) -> Result<(), String> {
    let markers: Vec<crate::slide_view::Marker> = explained
        .iter()
        .map(|e| crate::slide_view::Marker {
            key: format!("tiles/x{}_y{}", e.tile.x, e.tile.y),
            rect: (e.tile.x, e.tile.y, e.tile.width, e.tile.height),
        })
        .collect();
    let view = crate::slide_view::View {
        map,
        class,
        class_name: &models.class_name(class),
        relevance: maps.relevance.view(),
        relevance_downsample: maps.downsample,
        markers: &markers,
    };
    crate::slide_view::write(slide, &view, out)
        .map_err(|e| format!("cannot write the slide view: {}", describe(e.as_ref())))
}

/// The tiles' size and resolution from the flags and the slide.
fn tile_spec(slide: &TiffSlide, args: &SlideArgs, size: (u32, u32)) -> Result<TileSpec, String> {
    let mut spec = TileSpec::new(size);
    if let Some(mpp) = args.mpp {
        let own = slide.properties().mpp.ok_or_else(|| {
            "the slide records no resolution (µm per pixel); pass --downsample instead of --mpp"
                .to_string()
        })?;
        spec = spec.at_mpp(mpp, own.0).map_err(|e| e.to_string())?;
    }
    if let Some(d) = args.downsample {
        spec.downsample = d;
    }
    if let Some(s) = args.stride {
        spec.stride = (s, s);
    }
    spec.min_tissue = args.min_tissue;
    Ok(spec)
}

/// Every tile through the model, with a progress bar.
fn score(
    slide: &TiffSlide,
    grid: &[SlideTile],
    spec: &TileSpec,
    model: &(dyn multiscale_lime::Classifier + Send + Sync),
    batch: usize,
) -> Result<PredictionMap, String> {
    let bar = progress(grid.len(), "tiles scored")?;
    let mut scores = Vec::new();
    // Chunks of many batches: the bar moves, the decoding stays ahead.
    for chunk in grid.chunks(batch.max(1) * 16) {
        let part = predict_tiles(slide, chunk, spec, model, batch).map_err(|e| e.to_string())?;
        scores.push(part.scores);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let classes = model.num_classes();
    let views: Vec<_> = scores.iter().map(|s| s.view()).collect();
    let scores = if views.is_empty() {
        Array2::zeros((0, classes))
    } else {
        ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| e.to_string())?
    };
    Ok(PredictionMap {
        tiles: grid.to_vec(),
        scores,
    })
}

fn progress(len: usize, what: &str) -> Result<ProgressBar, String> {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what}  {{per_sec}}  ETA {{eta}}"
        ))
        .map_err(|e| e.to_string())?,
    );
    Ok(bar)
}

/// The indices of the tiles to explain, most probable first.
fn choose(map: &PredictionMap, class: usize, choice: &Choice) -> Vec<usize> {
    let p = map.scores.column(class);
    let mut order: Vec<usize> = (0..map.tiles.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    match choice {
        Choice::Top(k) => order.into_iter().take(*k).collect(),
        Choice::Above(t) => order.into_iter().filter(|&i| p[i] >= *t).collect(),
        Choice::All => order,
        Choice::None => Vec::new(),
    }
}

/// One explained tile: where it lies, its fused map, its uncertainty and
/// its superpixels as QuPath detections.
struct Explained {
    tile: SlideTile,
    heatmap: Array2<f32>,
    uncertainty: Array2<f32>,
    detections: Vec<String>,
}

/// Explains the chosen tiles, each into `out/tiles/x{X}_y{Y}` (the same
/// files as `mslime explain`, so the report shows them).
fn explain_tiles(
    slide: &TiffSlide,
    map: &PredictionMap,
    chosen: &[usize],
    spec: &TileSpec,
    models: &Models,
    plan: &Plan,
    out: &Path,
) -> Result<Vec<Explained>, String> {
    let bar = progress(chosen.len(), "tiles explained")?;
    let results: Vec<Result<Explained, String>> = chosen
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let tile = map.tiles[i];
            let dir = out.join("tiles").join(format!("x{}_y{}", tile.x, tile.y));
            let one = || -> Result<Explained, BoxError> {
                let started = Instant::now();
                let pixels = read_tile(slide, &tile, spec)?;
                let (w, h) = pixels.dimensions();
                let image = Image::from_rgb8(h as usize, w as usize, pixels.as_raw())?;
                let name = PathBuf::from(format!(
                    "{}@x{}_y{}",
                    slide.path().display(),
                    tile.x,
                    tile.y
                ));
                let outcome = explain_image_into(&name, &image, &dir, models, plan, started)?;
                let stack = outcome
                    .explanation
                    .stacks()
                    .first()
                    .ok_or("the explanation holds no class")?;
                Ok(Explained {
                    tile,
                    heatmap: outcome.explanation.fused().heatmap.values().clone(),
                    uncertainty: pixel_uncertainty(stack),
                    detections: superpixel_features(&tile, stack, (0.0, 0.0)),
                })
            };
            let result = one()
                .map_err(|e| format!("tile at ({}, {}): {}", tile.x, tile.y, describe(e.as_ref())));
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    results.into_iter().collect()
}

/// The stitched relevance and uncertainty maps.
struct Maps {
    relevance: Array2<f32>,
    uncertainty: Array2<f32>,
    downsample: f64,
}

fn stitch(slide: &TiffSlide, explained: &[Explained], downsample: f64) -> Result<Maps, String> {
    let level0 = slide.levels()[0];
    let mut relevance = SlideMap::new(level0, downsample).map_err(|e| e.to_string())?;
    let mut uncertainty = SlideMap::new(level0, downsample).map_err(|e| e.to_string())?;
    for e in explained {
        relevance.add(&e.tile, &e.heatmap);
        uncertainty.add(&e.tile, &e.uncertainty);
    }
    Ok(Maps {
        relevance: relevance.mean(),
        uncertainty: uncertainty.mean(),
        downsample,
    })
}

/// `qupath.geojson`, the maps as `.npy`, `overview.png` and `slide.json`.
#[allow(clippy::too_many_arguments)]
fn write_outputs(
    slide: &TiffSlide,
    path: &Path,
    models: &Models,
    map: &PredictionMap,
    class: usize,
    explained: &[Explained],
    maps: &Maps,
    tissue: &TissueMask,
    out: &Path,
) -> Result<(), BoxError> {
    let names: Vec<String> = (0..map.scores.ncols())
        .map(|c| models.class_name(c))
        .collect();
    let mut features = tile_features(&map.tiles, &map.scores, &names, (0.0, 0.0));
    for e in explained {
        features.extend(e.detections.iter().cloned());
    }
    write::atomically(&out.join("qupath.geojson"), |w| {
        use std::io::Write;
        w.write_all(feature_collection(&features).as_bytes())?;
        Ok(())
    })?;
    write::atomically(&out.join("relevance.npy"), |w| {
        write::npy(w, &maps.relevance)
    })?;
    write::atomically(&out.join("uncertainty.npy"), |w| {
        write::npy(w, &maps.uncertainty)
    })?;
    write::atomically(&out.join("prediction.npy"), |w| {
        write::npy(w, &map.grid(class))
    })?;
    let figure = crate::slide_figure::overview(
        slide,
        map,
        class,
        &names[class],
        maps.relevance.view(),
        maps.downsample,
        tissue,
    )?;
    write::atomically(&out.join("overview.png"), |w| write::png(w, &figure))?;
    let props = slide.properties();
    let level0 = slide.levels()[0];
    let summary = json!({
        "slide": path.display().to_string(),
        "format": props.vendor,
        "level0": [level0.width, level0.height],
        "levels": slide.levels().len(),
        "mpp": props.mpp.map(|m| [m.0, m.1]),
        "objective_power": props.objective_power,
        "model": models.args.model.display().to_string(),
        "class": class,
        "class_name": names[class],
        "tiles_scored": map.tiles.len(),
        "tiles_explained": explained.len(),
        "tissue_threshold": tissue.threshold,
        "map_downsample": maps.downsample,
        "files": {
            "qupath": "qupath.geojson",
            "relevance": "relevance.npy",
            "uncertainty": "uncertainty.npy",
            "prediction": "prediction.npy",
            "overview": "overview.png",
        },
    });
    write::atomically(&out.join("slide.json"), |w| write::json(w, &summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_choices_parse_or_say_what_is_expected() {
        assert!(matches!(parse_choice("top:3"), Ok(Choice::Top(3))));
        assert!(
            matches!(parse_choice("above:0.9"), Ok(Choice::Above(p)) if (p - 0.9).abs() < 1e-6)
        );
        assert!(matches!(parse_choice("all"), Ok(Choice::All)));
        assert!(matches!(parse_choice("none"), Ok(Choice::None)));
        for bad in ["top:x", "above:2", "some", "top"] {
            assert!(
                parse_choice(bad).unwrap_err().contains("expected top:K"),
                "{bad}"
            );
        }
    }
}
