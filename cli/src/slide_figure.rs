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
    let at = |cells: (usize, usize), cell_ds: f64, x: u32, y: u32| {
        let cx = ((f64::from(x) + 0.5) * ds / cell_ds) as usize;
        let cy = ((f64::from(y) + 0.5) * ds / cell_ds) as usize;
        (cy < cells.0 && cx < cells.1).then_some([cy, cx])
    };
    let mut tissue_view = thumb.clone();
    for (x, y, p) in tissue_view.enumerate_pixels_mut() {
        if let Some(i) = at(tissue.mask.dim(), tissue.downsample, x, y)
            && tissue.mask[i]
        {
            *p = blend(*p, [0, 160, 80], 0.5);
        }
    }
    // Each tile's score painted over its square.
    let mut scores = Array2::from_elem((h as usize, w as usize), f32::NAN);
    for (tile, &score) in map.tiles.iter().zip(map.scores.column(class)) {
        let x0 = (tile.x as f64 / ds).floor().max(0.0) as usize;
        let y0 = (tile.y as f64 / ds).floor().max(0.0) as usize;
        let x1 = (((tile.x as f64 + tile.width as f64) / ds).ceil() as usize).min(w as usize);
        let y1 = (((tile.y as f64 + tile.height as f64) / ds).ceil() as usize).min(h as usize);
        scores
            .slice_mut(ndarray::s![y0.min(y1)..y1, x0.min(x1)..x1])
            .fill(score);
    }
    let rel = Array2::from_shape_fn((h as usize, w as usize), |(y, x)| {
        at(relevance.dim(), relevance_downsample, x as u32, y as u32)
            .map_or(f32::NAN, |i| relevance[i])
    });
    let panels = [
        ("slide".to_string(), thumb.clone(), false),
        ("tissue".to_string(), tissue_view, false),
        (
            format!("P({class_name})"),
            overlay(&thumb, &scores, Colormap::Viridis),
            true,
        ),
        (
            "relevance".to_string(),
            overlay(&thumb, &rel, Colormap::Inferno),
            true,
        ),
    ];
    compose(&panels, w, h)
}

/// Panels side by side with titles; a colour bar after those that need one.
fn compose(panels: &[(String, RgbImage, bool)], w: u32, h: u32) -> Result<RgbImage, BoxError> {
    let (gap, title, font) = (12u32, 30u32, 20.0f32);
    let bars: Vec<Option<RgbImage>> = panels
        .iter()
        .enumerate()
        .map(|(i, (_, _, bar))| {
            let map = if i == 3 {
                Colormap::Inferno
            } else {
                Colormap::Viridis
            };
            bar.then(|| color_bar(map, (0.0, 1.0), h.max(16)))
                .transpose()
        })
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
