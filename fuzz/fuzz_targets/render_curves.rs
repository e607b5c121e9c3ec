//! Rendering (colour maps, overlays, boundaries, colour bars, text) and the
//! deletion and insertion curves on arbitrary images, heatmaps, ranges and
//! classifier outputs: a picture, a curve or a typed error, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use multiscale_lime::metrics::{deletion_curve, insertion_curve};
use multiscale_lime::prelude::*;
use multiscale_lime::render::{boundaries, color_bar, colorize, draw_text, overlay, text_size, Colormap};
use multiscale_lime::Heatmap;
use ndarray::{Array2, Array3};

#[derive(Debug, Arbitrary)]
struct Case {
    height: u8,
    width: u8,
    pixels: Vec<u8>,
    heat: Vec<f32>,
    heat_height: u8,
    range: (f32, f32),
    alpha: f32,
    colormap: u8,
    class: u8,
    classes: u8,
    steps: u16,
    sigma: f32,
    hide: f32,
    score: f32,
    segments: u8,
    bar: u16,
    text: String,
    text_at: (i16, i16),
    text_size: f32,
}

fuzz_target!(|case: Case| {
    let (h, w) = (usize::from(case.height % 33), usize::from(case.width % 33));
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let p = &case.pixels;
        if p.is_empty() {
            0.25
        } else {
            f32::from(p[(y * w * 3 + x * 3 + c) % p.len()]) / 255.0
        }
    });
    let Ok(image) = Image::new(data) else { return };
    // A heatmap of the image's size most of the time, another size sometimes.
    let hh = if case.heat_height % 4 == 0 { usize::from(case.heat_height % 9) } else { h };
    let heat = &case.heat;
    let heatmap = Heatmap::new(Array2::from_shape_fn((hh, w), |(y, x)| {
        if heat.is_empty() {
            0.0
        } else {
            heat[(y * w + x) % heat.len()]
        }
    }));
    let colormap = match case.colormap % 3 {
        0 => Colormap::Viridis,
        1 => Colormap::Inferno,
        _ => Colormap::Magma,
    };
    if let Ok(picture) = colorize(&heatmap, colormap, case.range) {
        assert_eq!((picture.height() as usize, picture.width() as usize), (hh, w));
    }
    let _ = overlay(&image, &heatmap, colormap, case.range, case.alpha);
    if let Ok(bar) = color_bar(colormap, case.range, u32::from(case.bar % 600)) {
        assert_eq!(bar.height(), u32::from(case.bar % 600));
    }
    let mut canvas = image.to_rgb8();
    let text: String = case.text.chars().take(64).collect();
    draw_text(&mut canvas, i32::from(case.text_at.0), i32::from(case.text_at.1), &text, case.text_size, [0; 3]);
    let _ = text_size(&text, case.text_size);
    if let Ok(seg) = Slic::default().segment(&image, usize::from(case.segments % 20)) {
        let _ = boundaries(&image, &seg, [255, 0, 0]);
    }

    let classes = usize::from(case.classes % 4);
    let score = case.score;
    let classifier = FnClassifier::new(classes, move |batch: ndarray::ArrayView4<'_, f32>| {
        Ok(Array2::from_shape_fn((batch.dim().0, classes), |(i, c)| {
            if c == 0 {
                batch[[i, 0, 0, 0]]
            } else {
                score
            }
        }))
    });
    let class = usize::from(case.class % 5);
    let steps = usize::from(case.steps % 300);
    for curve in [
        deletion_curve(&image, &heatmap, &classifier, class, steps, HideColor::Constant([case.hide; 3])),
        insertion_curve(&image, &heatmap, &classifier, class, steps, case.sigma),
    ] {
        if let Ok(curve) = curve {
            assert!(curve.auc.is_finite());
        }
    }
});
