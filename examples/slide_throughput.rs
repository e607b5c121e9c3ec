//! Tiles per second of a slide's prediction map, for
//! `tools/bench_slide.py`: the model alone on tiles decoded beforehand
//! (its pure inference rate) against [`predict_tiles`] (reading and
//! decoding on another thread while the model runs), interleaved, on the
//! same tissue tiles of level 0.
//!
//! ```text
//! ORT_DYLIB_PATH=$(python3 tools/fetch_onnxruntime.py) \
//!   cargo run --release --features slide,ort --example slide_throughput -- \
//!   SLIDE MODEL.onnx [BATCH] [REPEATS] [TILES_OUT]
//! ```
//! ONNX Runtime runs with `INTRA_THREADS` threads (default 1); `TILE_CACHE`
//! sets the slide's tile cache in bytes; `MAX_TILES`
//! keeps the first tissue tiles only (default: all). Prints one
//! line per repeat and mode (`mode=inference|pipeline tiles=… seconds=…
//! tiles_per_s=…`); `TILES_OUT` receives the tiles' level-0 corners, one
//! `x y` per line, for the Python loop to read the same tiles.

use std::io::Write;
use std::time::Instant;

use multiscale_lime::ndarray::{Array4, Axis};
use multiscale_lime::onnx::OrtClassifier;
use multiscale_lime::slide::{
    detect_tissue, predict_tiles, read_tile, tiles, Slide, SlideTile, TiffSlide, TileSpec,
};
use multiscale_lime::Classifier;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err(
            "usage: slide_throughput SLIDE MODEL.onnx [BATCH] [REPEATS] [TILES_OUT]".into(),
        );
    }
    let batch: usize = args.get(2).map_or(Ok(32), |b| b.parse())?;
    let repeats: usize = args.get(3).map_or(Ok(3), |r| r.parse())?;
    let intra: usize = std::env::var("INTRA_THREADS").map_or(Ok(1), |t| t.parse())?;
    // Each pass opens the slide afresh: no pass finds tiles decoded by
    // another in the slide's cache.
    let open = || -> Result<TiffSlide, Box<dyn std::error::Error>> {
        let slide = TiffSlide::open(&args[0])?;
        Ok(match std::env::var("TILE_CACHE") {
            Ok(bytes) => slide.with_tile_cache(bytes.parse()?),
            Err(_) => slide,
        })
    };
    let slide = open()?;
    // The model runs the same batch as the tiles (and as the Python loop).
    let mut builder = OrtClassifier::builder(96, 96)
        .intra_threads(intra)
        .batch_size(batch);
    if let Some(library) = std::env::var_os("ORT_DYLIB_PATH") {
        builder = builder.library(library);
    }
    let model = builder.load_path(&args[1])?;
    let (h, w) = model.input_size();
    let spec = TileSpec::new((w as u32, h as u32));
    let tissue = detect_tissue(&slide, 2048)?;
    let mut grid = tiles(&slide, &tissue, &spec)?;
    if let Ok(max) = std::env::var("MAX_TILES") {
        grid.truncate(max.parse()?);
    }
    if let Some(path) = args.get(4) {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        for t in &grid {
            writeln!(file, "{} {}", t.x, t.y)?;
        }
    }
    // The tiles decoded beforehand, in the batches the model takes.
    let start = Instant::now();
    let batches = decode(&slide, &grid, &spec, batch)?;
    report("decode", grid.len(), start);
    // One pass untimed: the runtime's first runs allocate.
    for images in batches.iter().take(8) {
        model.predict(images.view())?;
    }
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        for images in &batches {
            std::hint::black_box(model.predict(images.view())?);
        }
        report("inference", grid.len(), start);
        let fresh = open()?;
        let start = Instant::now();
        std::hint::black_box(predict_tiles(&fresh, &grid, &spec, &model, batch)?);
        report("pipeline", grid.len(), start);
    }
    Ok(())
}

fn decode(
    slide: &dyn Slide,
    grid: &[SlideTile],
    spec: &TileSpec,
    batch: usize,
) -> Result<Vec<Array4<f32>>, Box<dyn std::error::Error>> {
    let (w, h) = (spec.size.0 as usize, spec.size.1 as usize);
    let mut batches = Vec::new();
    for chunk in grid.chunks(batch) {
        let mut images = Array4::zeros((chunk.len(), h, w, 3));
        for (mut slot, tile) in images.axis_iter_mut(Axis(0)).zip(chunk) {
            let pixels = read_tile(slide, tile, spec)?;
            for (dst, &src) in slot.iter_mut().zip(pixels.as_raw()) {
                *dst = f32::from(src) / 255.0;
            }
        }
        batches.push(images);
    }
    Ok(batches)
}

fn report(mode: &str, tiles: usize, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "mode={mode} tiles={tiles} seconds={seconds:.3} tiles_per_s={:.1}",
        tiles as f64 / seconds
    );
}
