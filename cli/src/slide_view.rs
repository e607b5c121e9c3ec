//! The slide view of `mslime slide`'s report: a DeepZoom pyramid of the
//! slide (`slide_files/LEVEL/COL_ROW.jpg`, at most 16384 pixels a side),
//! the prediction and relevance maps as transparent PNG overlays, and
//! `slide_view.json`, which the page reads to show them with OpenSeadragon.

use std::path::Path;

use image::{imageops, Rgba, RgbaImage};
use multiscale_lime::render::Colormap;
use multiscale_lime::slide::{PredictionMap, Slide};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::slide_figure::{paint_tiles, resample};
use crate::write::{self, BoxError};

/// DeepZoom tiles' side (no overlap).
const TILE: u32 = 256;
/// The pyramid's full resolution: the slide, shrunk to at most this side.
const MAX_SIDE: f64 = 16_384.0;
/// The overlays' longest side.
const OVERLAY_SIDE: f64 = 2048.0;

/// What the page needs to show the slide view.
pub(crate) const VIEW_FILE: &str = "slide_view.json";

/// One explained tile, marked on the view: its folder's key and level-0
/// rectangle.
pub(crate) struct Marker {
    pub(crate) key: String,
    pub(crate) rect: (i64, i64, u64, u64),
}

/// What the view shows over the slide.
pub(crate) struct View<'a> {
    pub(crate) map: &'a PredictionMap,
    pub(crate) class: usize,
    pub(crate) class_name: &'a str,
    pub(crate) relevance: ArrayView2<'a, f32>,
    /// Level-0 pixels per cell of `relevance`.
    pub(crate) relevance_downsample: f64,
    pub(crate) markers: &'a [Marker],
}

/// Writes the pyramid, the overlays and `slide_view.json` into `out`.
pub(crate) fn write(slide: &dyn Slide, view: &View<'_>, out: &Path) -> Result<(), BoxError> {
    let View {
        map,
        class,
        class_name,
        relevance,
        relevance_downsample,
        markers,
    } = *view;
    let level0 = slide.levels()[0];
    let longest = level0.width.max(level0.height) as f64;
    let downsample = (longest / MAX_SIDE).max(1.0);
    let (width, height) = (
        ((level0.width as f64 / downsample).ceil() as u32).max(1),
        ((level0.height as f64 / downsample).ceil() as u32).max(1),
    );
    let max_level = (f64::from(width.max(height))).log2().ceil() as u32;
    pyramid(
        slide,
        downsample,
        (width, height),
        max_level,
        &out.join("slide_files"),
    )?;
    let overlay_ds = (longest / OVERLAY_SIDE).max(1.0);
    let (ow, oh) = (
        ((level0.width as f64 / overlay_ds).ceil() as u32).max(1),
        ((level0.height as f64 / overlay_ds).ceil() as u32).max(1),
    );
    // Colours where a map has a value, transparent elsewhere.
    let layer = |values: Array2<f32>, colours: Colormap| {
        RgbaImage::from_fn(ow, oh, |x, y| match values[[y as usize, x as usize]] {
            v if v.is_finite() => {
                let [r, g, b] = colours.rgb(f64::from(v));
                Rgba([r, g, b, 255])
            }
            _ => Rgba([0, 0, 0, 0]),
        })
    };
    let prediction = layer(
        paint_tiles(map, class, overlay_ds, (ow, oh)),
        Colormap::Viridis,
    );
    let relevance_image = layer(
        resample(relevance, relevance_downsample, overlay_ds, (ow, oh)),
        Colormap::Inferno,
    );
    for (name, image) in [
        ("overlay_prediction.png", &prediction),
        ("overlay_relevance.png", &relevance_image),
    ] {
        write::atomically(&out.join(name), |w| {
            image.write_to(w, image::ImageFormat::Png)?;
            Ok(())
        })?;
    }
    let stops = crate::page::css_stops;
    let document = json!({
        "width": width,
        "height": height,
        "level0": [level0.width, level0.height],
        "downsample": downsample,
        "tile_size": TILE,
        "max_level": max_level,
        "tiles": "slide_files",
        "overlays": [
            {"name": format!("P({class_name})"), "file": "overlay_prediction.png", "colormap": stops(Colormap::Viridis)},
            {"name": "relevance", "file": "overlay_relevance.png", "colormap": stops(Colormap::Inferno)},
        ],
        "markers": markers.iter().map(|m| json!({
            "key": m.key,
            "x": m.rect.0, "y": m.rect.1, "width": m.rect.2, "height": m.rect.3,
        })).collect::<Vec<Value>>(),
    });
    write::atomically(&out.join(VIEW_FILE), |w| write::json(w, &document))
}

/// The DeepZoom levels 0..=`max_level` of the slide at `downsample`
/// level-0 pixels per top-level pixel, each tile read from the finest
/// slide level no finer than it needs.
fn pyramid(
    slide: &dyn Slide,
    downsample: f64,
    (width, height): (u32, u32),
    max_level: u32,
    dir: &Path,
) -> Result<(), BoxError> {
    let mut jobs = Vec::new();
    for level in 0..=max_level {
        let scale = f64::from(1u32 << (max_level - level).min(31));
        let (lw, lh) = (
            ((f64::from(width) / scale).ceil() as u32).max(1),
            ((f64::from(height) / scale).ceil() as u32).max(1),
        );
        std::fs::create_dir_all(dir.join(level.to_string()))?;
        for row in 0..lh.div_ceil(TILE) {
            for col in 0..lw.div_ceil(TILE) {
                let (tw, th) = ((lw - col * TILE).min(TILE), (lh - row * TILE).min(TILE));
                jobs.push((level, col, row, tw, th, scale));
            }
        }
    }
    jobs.par_iter()
        .try_for_each(|&(level, col, row, tw, th, scale)| {
            // Level-0 pixels per pixel of this DeepZoom level.
            let ds = downsample * scale;
            let read_level = slide.best_level_for_downsample(ds);
            let read_ds = slide.levels()[read_level].downsample;
            let (x0, y0) = (
                (f64::from(col * TILE) * ds) as i64,
                (f64::from(row * TILE) * ds) as i64,
            );
            let (rw, rh) = (
                ((f64::from(tw) * ds / read_ds).round() as u32).max(1),
                ((f64::from(th) * ds / read_ds).round() as u32).max(1),
            );
            let region = slide.read_region(read_level, x0, y0, rw, rh)?;
            let tile = if (rw, rh) == (tw, th) {
                region
            } else {
                imageops::resize(&region, tw, th, imageops::FilterType::Triangle)
            };
            let path = dir.join(level.to_string()).join(format!("{col}_{row}.jpg"));
            write::atomically(&path, |w| {
                let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(w, 85);
                encoder.encode_image(&tile)?;
                Ok(())
            })
        })
}
