//! `overview.png` of `mslime slide`: the slide, its tissue, the prediction
//! map and the stitched relevance, side by side on one thumbnail, with
//! titles and colour bars.

use image::{Rgb, RgbImage};
use multiscale_lime::render::{color_bar, draw_text, Colormap};
use multiscale_lime::slide::{thumbnail, PredictionMap, Slide, TissueMask};
use ndarray::{Array2, ArrayView2};

use crate::write::BoxError;

/// The thumbnail's longest side (pixels).
const SIDE: u32 = 768;

/// `colour` blended over `base` at `alpha`.
fn blend(base: Rgb<u8>, colour: [u8; 3], alpha: f32) -> Rgb<u8> {
    Rgb(std::array::from_fn(|c| {
        ((1.0 - alpha) * f32::from(base.0[c]) + alpha * f32::from(colour[c])).round() as u8
    }))
}

/// `values` (one per thumbnail pixel, NaN for none) over the thumbnail.
fn overlay(thumb: &RgbImage, values: &Array2<f32>, map: Colormap) -> RgbImage {
    let mut out = thumb.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let v = values[[y as usize, x as usize]];
        if v.is_finite() {
            *p = blend(*p, map.rgb(f64::from(v)), 0.7);
        }
    }
    out
}

/// The overview figure.
pub(crate) fn overview(
    slide: &dyn Slide,
    map: &PredictionMap,
    class: usize,
    class_name: &str,
    relevance: ArrayView2<'_, f32>,
    relevance_downsample: f64,
    tissue: &TissueMask,
) -> Result<RgbImage, BoxError> {
    let (thumb, ds) = thumbnail(slide, SIDE)?;
    let (w, h) = thumb.dimensions();
    let mut tissue_view = thumb.clone();
    let mask = resample(
        tissue.mask.mapv(|t| if t { 1.0 } else { 0.0 }).view(),
        tissue.downsample,
        ds,
        (w, h),
    );
    for (x, y, p) in tissue_view.enumerate_pixels_mut() {
        if mask[[y as usize, x as usize]] == 1.0 {
            *p = blend(*p, [0, 160, 80], 0.5);
        }
    }
    let scores = paint_tiles(map, class, ds, (w, h));
    let rel = resample(relevance, relevance_downsample, ds, (w, h));
    let panels = [
        ("slide".to_string(), thumb.clone(), None),
        ("tissue".to_string(), tissue_view, None),
        (
            format!("P({class_name})"),
            overlay(&thumb, &scores, Colormap::Viridis),
            Some(Colormap::Viridis),
        ),
        (
            "relevance".to_string(),
            overlay(&thumb, &rel, Colormap::Inferno),
            Some(Colormap::Inferno),
        ),
    ];
    compose(&panels, w, h)
}

/// Panels side by side with titles; after those with a colour map, its
/// colour bar.
fn compose(
    panels: &[(String, RgbImage, Option<Colormap>)],
    w: u32,
    h: u32,
) -> Result<RgbImage, BoxError> {
    let (gap, title, font) = (12u32, 30u32, 20.0f32);
    let bars: Vec<Option<RgbImage>> = panels
        .iter()
        .map(|(_, _, map)| map.map(|m| color_bar(m, (0.0, 1.0), h.max(16))).transpose())
        .collect::<Result<_, _>>()?;
    let width = gap
        + panels.len() as u32 * (w + gap)
        + bars.iter().flatten().map(|b| b.width() + gap).sum::<u32>();
    let mut out = RgbImage::from_pixel(width, title + h.max(16) + gap, Rgb([255; 3]));
    let mut x = gap;
    for ((name, image, _), bar) in panels.iter().zip(&bars) {
        draw_text(&mut out, x as i32, 4, name, font, [40; 3]);
        image::imageops::replace(&mut out, image, i64::from(x), i64::from(title));
        x += w + gap;
        if let Some(bar) = bar {
            image::imageops::replace(&mut out, bar, i64::from(x), i64::from(title));
            x += bar.width() + gap;
        }
    }
    Ok(out)
}

/// A map of `map_ds` level-0 pixels per cell, sampled at the centres of
/// the pixels of a `(w, h)` raster of `ds` level-0 pixels each: NaN where
/// the map does not reach.
pub(crate) fn resample(
    map: ArrayView2<'_, f32>,
    map_ds: f64,
    ds: f64,
    (w, h): (u32, u32),
) -> Array2<f32> {
    let (rows, cols) = map.dim();
    Array2::from_shape_fn((h as usize, w as usize), |(y, x)| {
        let cx = ((x as f64 + 0.5) * ds / map_ds) as usize;
        let cy = ((y as f64 + 0.5) * ds / map_ds) as usize;
        if cy < rows && cx < cols {
            map[[cy, cx]]
        } else {
            f32::NAN
        }
    })
}

/// Each tile's score for `class` painted over its square on a `(w, h)`
/// raster of `ds` level-0 pixels each: NaN where no tile lies.
pub(crate) fn paint_tiles(
    map: &PredictionMap,
    class: usize,
    ds: f64,
    (w, h): (u32, u32),
) -> Array2<f32> {
    let mut out = Array2::from_elem((h as usize, w as usize), f32::NAN);
    for (tile, &score) in map.tiles.iter().zip(map.scores.column(class)) {
        let x0 = (tile.x as f64 / ds).floor().max(0.0) as usize;
        let y0 = (tile.y as f64 / ds).floor().max(0.0) as usize;
        let x1 = (((tile.x as f64 + tile.width as f64) / ds).ceil() as usize).min(w as usize);
        let y1 = (((tile.y as f64 + tile.height as f64) / ds).ceil() as usize).min(h as usize);
        out.slice_mut(ndarray::s![y0.min(y1)..y1, x0.min(x1)..x1])
            .fill(score);
    }
    out
}
