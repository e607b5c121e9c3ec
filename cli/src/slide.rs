//! `mslime slide`: a whole-slide image from tissue to a prediction map, to
//! explanations of chosen tiles stitched across the slide, to files QuPath
//! opens.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use multiscale_lime::slide::{
    detect_tissue, feature_collection, pixel_uncertainty, predict_tiles, read_tile,
    superpixel_features, tile_features, tiles, write_ome_tiff, OpenSlide, PredictionMap, Slide,
    SlideMap, SlideTile, TiffSlide, TileSpec, TissueMask,
};
use multiscale_lime::Image;
use ndarray::Array2;
use rayon::prelude::*;
use serde_json::json;

use crate::job::{create_output_folder, describe, explain_image_into};
use crate::models::Models;
use crate::parse::Shard;
use crate::plan::Plan;
use crate::slide_store::{load_scores, load_tile, save_tile, ScoreWriter, TileResult};
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
    /// Process only shard i of n (0 ≤ i < n), e.g. `--shard
    /// $SLURM_ARRAY_TASK_ID/16`: the tiles whose index is i modulo n are
    /// scored and, of those, the chosen ones explained. A run without
    /// --shard over the same --out then merges the shards: it reuses every
    /// score and explanation they left and writes the slide's outputs.
    #[arg(long)]
    pub(crate) shard: Option<Shard>,
    /// The slide reader: `tiff` (built in) or `openslide` (vendor formats
    /// through OpenSlide's library).
    #[arg(long, value_enum, default_value_t = Reader::Tiff)]
    pub(crate) reader: Reader,
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
    let slide = open_slide(path, args.reader)?;
    let slide = &*slide;
    let (height, width) = models.declared.ok_or_else(|| {
        format!(
            "{} does not fix its input size; the slide command cuts tiles of the model's size",
            model.model.display()
        )
    })?;
    let spec = tile_spec(slide, args, (width as u32, height as u32))?;
    let tissue = detect_tissue(slide, 2048).map_err(|e| e.to_string())?;
    let grid = tiles(slide, &tissue, &spec).map_err(|e| e.to_string())?;
    let mine = share(&grid, args.shard);
    eprintln!(
        "{}: {} levels, level 0 {}×{}; {} tissue tiles of {width}×{height} at downsample {:.3}{}",
        path.display(),
        slide.levels().len(),
        slide.levels()[0].width,
        slide.levels()[0].height,
        grid.len(),
        spec.downsample,
        args.shard.map_or(String::new(), |s| format!(
            "; shard {}/{}: {} of them",
            s.index,
            s.count,
            mine.len()
        ))
    );
    let classifier = models.for_size(height, width).map_err(|e| e.to_string())?;
    let scoring = Scoring {
        slide,
        spec: &spec,
        model: &*classifier,
        batch: args.batch,
        out,
        digest: scoring_digest(path, slide, &spec, &models),
        shard: args.shard,
    };
    let (map, scored) = scoring.run(&mine)?;
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
    let job = TileJob {
        slide,
        path,
        spec: &spec,
        models: &models,
        plan: &plan,
        out,
        digest: models.settings_digest(&plan),
    };
    let explained = job.explain_all(&map, &chosen)?;
    let reused = explained.iter().filter(|e| e.reused).count();
    let done = format!(
        "{} tiles scored ({} reused), {} explained ({reused} reused) in {:.1} s",
        map.tiles.len(),
        map.tiles.len() - scored,
        explained.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(s) = args.shard {
        println!(
            "{}: shard {}/{}: {done}; run again without --shard over {} to merge the shards",
            path.display(),
            s.index,
            s.count,
            out.display()
        );
        return Ok(());
    }
    let report = finish(
        slide, path, &models, &map, class, &explained, &tissue, args, out,
    )?;
    println!(
        "{}: {done}; outputs in {}, report {}",
        path.display(),
        out.display(),
        report.display()
    );
    Ok(())
}

/// The slide's outputs from the scores and the explained tiles; returns
/// the report's path.
#[allow(clippy::too_many_arguments)]
fn finish(
    slide: &dyn Slide,
    path: &Path,
    models: &Models,
    map: &PredictionMap,
    class: usize,
    explained: &[Explained],
    tissue: &TissueMask,
    args: &SlideArgs,
    out: &Path,
) -> Result<PathBuf, String> {
    let level0 = slide.levels()[0];
    let map_downsample = args
        .map_downsample
        .unwrap_or_else(|| (level0.width.max(level0.height) as f64 / 2048.0).max(1.0));
    let maps = stitch(slide, explained, map_downsample)?;
    prune_tiles(out, explained);
    let outputs = Outputs {
        slide,
        path,
        models,
        map,
        class,
        explained,
        maps: &maps,
        tissue,
        out,
    };
    outputs.write().map_err(|e| describe(e.as_ref()))?;
    write_view(slide, models, map, class, explained, &maps, out)?;
    let title = format!("mslime slide: {}", path.display());
    crate::page::write_page(out, &title).map_err(|e| describe(e.as_ref()))
}

/// Removes the tile folders this run did not use (explained by shards
/// for their own top K, or by an earlier run with other choices), so that
/// the report shows the tiles the maps are made of.
fn prune_tiles(out: &Path, explained: &[Explained]) {
    let keep: std::collections::HashSet<String> = explained
        .iter()
        .map(|e| format!("x{}_y{}", e.tile.x, e.tile.y))
        .collect();
    let Ok(entries) = std::fs::read_dir(out.join("tiles")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with('x') && entry.path().join("explanation.json").exists();
        if ours && !keep.contains(&name) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Which library reads the slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Reader {
    /// The built-in reader (pure Rust): tiled pyramidal TIFF, OME-TIFF,
    /// Aperio SVS, BigTIFF.
    Tiff,
    /// OpenSlide's C library, opened at run time (`OPENSLIDE_DYLIB_PATH`,
    /// else the system's): every format OpenSlide reads (NDPI, MIRAX,
    /// SCN, Philips, DICOM …).
    Openslide,
}

fn open_slide(path: &Path, reader: Reader) -> Result<Box<dyn Slide>, String> {
    let slide: Box<dyn Slide> = match reader {
        Reader::Tiff => Box::new(TiffSlide::open(path).map_err(|e| e.to_string())?),
        Reader::Openslide => Box::new(OpenSlide::open(path).map_err(|e| e.to_string())?),
    };
    Ok(slide)
}

/// What the GeoJSON subtracts from level-0 coordinates: OpenSlide's
/// bounds, where the slide has them (QuPath shows such a slide from the
/// bounds' corner).
fn offset(slide: &dyn Slide) -> (f64, f64) {
    slide
        .properties()
        .bounds
        .map_or((0.0, 0.0), |b| (b.x as f64, b.y as f64))
}

/// This shard's tiles: those whose index is `i` modulo `n`.
fn share(grid: &[SlideTile], shard: Option<Shard>) -> Vec<SlideTile> {
    match shard {
        Some(s) => grid
            .iter()
            .enumerate()
            .filter(|(i, _)| i % s.count == s.index)
            .map(|(_, t)| *t)
            .collect(),
        None => grid.to_vec(),
    }
}

/// What a tile's scores depend on: the slide, the tiles and the model.
fn scoring_digest(path: &Path, slide: &dyn Slide, spec: &TileSpec, models: &Models) -> String {
    let level0 = slide.levels()[0];
    let what = format!(
        "{} {}x{} {:?} {}",
        path.display(),
        level0.width,
        level0.height,
        spec,
        models.model_digest()
    );
    format!("{:016x}", write::fingerprint(&[what.as_bytes()]))
}

/// The report's slide view: the pyramid, the overlays, the explained
/// tiles marked.
fn write_view(
    slide: &dyn Slide,
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
fn tile_spec(slide: &dyn Slide, args: &SlideArgs, size: (u32, u32)) -> Result<TileSpec, String> {
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

/// Scoring this run's tiles, reusing the scores earlier runs and shards
/// left in `out` and recording new ones as they come.
struct Scoring<'a> {
    slide: &'a dyn Slide,
    spec: &'a TileSpec,
    model: &'a (dyn multiscale_lime::Classifier + Send + Sync),
    batch: usize,
    out: &'a Path,
    digest: String,
    shard: Option<Shard>,
}

impl Scoring<'_> {
    /// The prediction map of `tiles`, and how many of them this run
    /// scored (the others were scored before).
    fn run(&self, tiles: &[SlideTile]) -> Result<(PredictionMap, usize), String> {
        let classes = self.model.num_classes();
        let mut known = load_scores(self.out, &self.digest);
        known.retain(|_, p| p.len() == classes);
        let todo: Vec<SlideTile> = tiles
            .iter()
            .filter(|t| !known.contains_key(&(t.x, t.y)))
            .copied()
            .collect();
        let mut writer = ScoreWriter::open(self.out, &self.digest, self.shard)?;
        let bar = progress(todo.len(), "tiles scored")?;
        // Chunks of many batches: the bar moves, the decoding stays ahead,
        // and an interrupted run keeps every chunk it finished.
        for chunk in todo.chunks(self.batch.max(1) * 16) {
            let part = predict_tiles(self.slide, chunk, self.spec, self.model, self.batch)
                .map_err(|e| e.to_string())?;
            writer.append(chunk, &part.scores)?;
            for (t, row) in chunk.iter().zip(part.scores.rows()) {
                known.insert((t.x, t.y), row.to_vec());
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let mut scores = Array2::zeros((tiles.len(), classes));
        for (mut row, t) in scores.rows_mut().into_iter().zip(tiles) {
            let p = &known[&(t.x, t.y)];
            row.iter_mut().zip(p).for_each(|(r, &v)| *r = v);
        }
        let map = PredictionMap {
            tiles: tiles.to_vec(),
            scores,
        };
        Ok((map, todo.len()))
    }
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

/// One explained tile: where it lies and its part of the outputs.
struct Explained {
    tile: SlideTile,
    result: TileResult,
    /// Explained by an earlier run or a shard with the same settings.
    reused: bool,
}

/// Explaining chosen tiles, each into `out/tiles/x{X}_y{Y}` (the same
/// files as `mslime explain`, so the report shows them), unless an
/// earlier run or shard explained it there with the same settings.
struct TileJob<'a> {
    slide: &'a dyn Slide,
    path: &'a Path,
    spec: &'a TileSpec,
    models: &'a Models,
    plan: &'a Plan,
    out: &'a Path,
    /// The settings digest the tiles' `explanation.json` must record.
    digest: String,
}

impl TileJob<'_> {
    fn explain_all(&self, map: &PredictionMap, chosen: &[usize]) -> Result<Vec<Explained>, String> {
        let bar = progress(chosen.len(), "tiles explained")?;
        let results: Vec<Result<Explained, String>> = chosen
            .par_iter()
            .with_max_len(1)
            .map(|&i| {
                let tile = map.tiles[i];
                let dir = self
                    .out
                    .join("tiles")
                    .join(format!("x{}_y{}", tile.x, tile.y));
                let result = match load_tile(&dir, &self.digest, &self.source(&tile)) {
                    Some(result) => Ok(Explained {
                        tile,
                        result,
                        reused: true,
                    }),
                    None => self.explain(&tile, &dir).map_err(|e| {
                        format!("tile at ({}, {}): {}", tile.x, tile.y, describe(e.as_ref()))
                    }),
                };
                bar.inc(1);
                result
            })
            .collect();
        bar.finish_and_clear();
        results.into_iter().collect()
    }

    /// Where `tile` lies on the slide and how it was read, as its
    /// `explanation.json` records it.
    fn source(&self, tile: &SlideTile) -> serde_json::Value {
        json!({
            "name": format!("{}@x{}_y{}", self.path.display(), tile.x, tile.y),
            "path": self.path.display().to_string(),
            "x": tile.x,
            "y": tile.y,
            "width": tile.width,
            "height": tile.height,
            "size": [self.spec.size.0, self.spec.size.1],
            "downsample": self.spec.downsample,
        })
    }

    fn explain(&self, tile: &SlideTile, dir: &Path) -> Result<Explained, BoxError> {
        let started = Instant::now();
        let pixels = read_tile(self.slide, tile, self.spec)?;
        let (w, h) = pixels.dimensions();
        let image = Image::from_rgb8(h as usize, w as usize, pixels.as_raw())?;
        // The tile's pixels as the model saw them are saved as the folder's
        // `image.png`: that file reproduces the explanation.
        let source = self.source(tile);
        let outcome = explain_image_into(
            &dir.join("image.png"),
            &image,
            dir,
            self.models,
            self.plan,
            started,
            Some(&source),
        )?;
        let stack = outcome
            .explanation
            .stacks()
            .first()
            .ok_or("the explanation holds no class")?;
        let result = TileResult {
            heatmap: outcome.explanation.fused().heatmap.values().clone(),
            uncertainty: pixel_uncertainty(stack),
            detections: superpixel_features(tile, stack, offset(self.slide)),
        };
        save_tile(dir, &result)?;
        Ok(Explained {
            tile: *tile,
            result,
            reused: false,
        })
    }
}

/// The stitched relevance and uncertainty maps.
struct Maps {
    relevance: Array2<f32>,
    uncertainty: Array2<f32>,
    downsample: f64,
}

fn stitch(slide: &dyn Slide, explained: &[Explained], downsample: f64) -> Result<Maps, String> {
    let level0 = slide.levels()[0];
    let mut relevance = SlideMap::new(level0, downsample).map_err(|e| e.to_string())?;
    let mut uncertainty = SlideMap::new(level0, downsample).map_err(|e| e.to_string())?;
    for e in explained {
        relevance.add(&e.tile, &e.result.heatmap);
        uncertainty.add(&e.tile, &e.result.uncertainty);
    }
    Ok(Maps {
        relevance: relevance.mean(),
        uncertainty: uncertainty.mean(),
        downsample,
    })
}

/// The slide's outputs.
struct Outputs<'a> {
    slide: &'a dyn Slide,
    path: &'a Path,
    models: &'a Models,
    map: &'a PredictionMap,
    class: usize,
    explained: &'a [Explained],
    maps: &'a Maps,
    tissue: &'a TissueMask,
    out: &'a Path,
}

impl Outputs<'_> {
    /// `qupath.geojson`, the maps as `.npy` and OME-TIFF, `overview.png`
    /// and `slide.json`.
    fn write(&self) -> Result<(), BoxError> {
        let (map, out, maps) = (self.map, self.out, self.maps);
        let names: Vec<String> = (0..map.scores.ncols())
            .map(|c| self.models.class_name(c))
            .collect();
        let mut features = tile_features(&map.tiles, &map.scores, &names, offset(self.slide));
        for e in self.explained {
            features.extend(e.result.detections.iter().cloned());
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
            write::npy(w, &map.grid(self.class))
        })?;
        // One map pixel: the slide's µm per pixel times the downsample.
        let pixel_size = self
            .slide
            .properties()
            .mpp
            .map(|(x, y)| (x * maps.downsample, y * maps.downsample));
        for (name, values) in [
            ("relevance", &maps.relevance),
            ("uncertainty", &maps.uncertainty),
        ] {
            let file = out.join(format!("{name}.ome.tif"));
            let temp = out.join(format!(".{name}.ome.tif.mslime-tmp"));
            write_ome_tiff(&temp, values.view(), pixel_size, name)?;
            std::fs::rename(&temp, &file)?;
        }
        let figure = crate::slide_figure::overview(
            self.slide,
            map,
            self.class,
            &names[self.class],
            maps.relevance.view(),
            maps.downsample,
            self.tissue,
        )?;
        write::atomically(&out.join("overview.png"), |w| write::png(w, &figure))?;
        let summary = self.summary(&names[self.class], pixel_size);
        write::atomically(&out.join("slide.json"), |w| write::json(w, &summary))
    }

    fn summary(&self, class_name: &str, pixel_size: Option<(f64, f64)>) -> serde_json::Value {
        let props = self.slide.properties();
        let level0 = self.slide.levels()[0];
        json!({
            "slide": self.path.display().to_string(),
            "format": props.vendor,
            "level0": [level0.width, level0.height],
            "levels": self.slide.levels().len(),
            "mpp": props.mpp.map(|m| [m.0, m.1]),
            "objective_power": props.objective_power,
            "model": self.models.args.model.display().to_string(),
            "class": self.class,
            "class_name": class_name,
            "tiles_scored": self.map.tiles.len(),
            "tiles_explained": self.explained.len(),
            "tissue_threshold": self.tissue.threshold,
            "map_downsample": self.maps.downsample,
            "map_pixel_size_um": pixel_size.map(|p| [p.0, p.1]),
            "files": {
                "qupath": "qupath.geojson",
                "relevance": "relevance.npy",
                "relevance_ome_tiff": "relevance.ome.tif",
                "uncertainty": "uncertainty.npy",
                "uncertainty_ome_tiff": "uncertainty.ome.tif",
                "prediction": "prediction.npy",
                "overview": "overview.png",
            },
        })
    }
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
