//! Our rendering, checked against independent computations: colour maps
//! against `colorous`'s gradients, overlays against the blend formula
//! worked by hand, boundaries against the right/lower-neighbour rule, and
//! the panel figure tile by tile against each level rendered on its own.
//! Every bad parameter is a typed error that carries the rejected value.

use image::{Rgb, RgbImage};
use multiscale_lime::prelude::*;
use multiscale_lime::render::{boundaries, colorize, overlay, panel, Colormap};
use multiscale_lime::{
    CombinedHeatmap, Heatmap, HeatmapStack, Normalization, Segmentation, SquareGrid,
};
use multiscale_lime_testkit::{rectangle_classifier, textured_image};
use ndarray::array;

/// The panel's layout constants: the gap around tiles and the height of
/// the labels band above them.
const GAP: u32 = 4;
const LABEL: u32 = 14;
/// The colours the panel draws with.
const WHITE: [u8; 3] = [255, 255, 255];
const TEXT: [u8; 3] = [40, 40, 40];
const YELLOW: [u8; 3] = [255, 255, 0];

fn rgb(c: colorous::Color) -> [u8; 3] {
    [c.r, c.g, c.b]
}

/// Each colour map's colour at `t`, straight from `colorous`.
fn reference(map: Colormap, t: f64) -> [u8; 3] {
    match map {
        Colormap::Viridis => rgb(colorous::VIRIDIS.eval_continuous(t)),
        Colormap::Inferno => rgb(colorous::INFERNO.eval_continuous(t)),
        Colormap::Magma => rgb(colorous::MAGMA.eval_continuous(t)),
        Colormap::Cividis => rgb(colorous::CIVIDIS.eval_continuous(t)),
        // Blue at the low end: d3's RdBu read backwards.
        Colormap::BlueRed => rgb(colorous::RED_BLUE.eval_continuous(1.0 - t)),
        other => panic!("no reference for {other:?}"),
    }
}

const MAPS: [Colormap; 5] = [
    Colormap::Viridis,
    Colormap::Inferno,
    Colormap::Magma,
    Colormap::Cividis,
    Colormap::BlueRed,
];

/// The `InvalidParameter` error's name and value, or a panic naming what came instead.
fn invalid<T: std::fmt::Debug>(result: Result<T>) -> (&'static str, String) {
    match result {
        Err(Error::InvalidParameter { name, value, .. }) => (name, value),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

/// The `InconsistentInput` error's context and reason.
fn inconsistent<T: std::fmt::Debug>(result: Result<T>) -> (&'static str, String) {
    match result {
        Err(Error::InconsistentInput { context, reason }) => (context, reason),
        other => panic!("expected InconsistentInput, got {other:?}"),
    }
}

/// A rendering refused for mismatched sizes, its reason naming both.
fn assert_sizes_named<T: std::fmt::Debug>(result: Result<T>, sizes: [&str; 2]) {
    let (context, reason) = inconsistent(result);
    assert_eq!(context, "render");
    assert!(sizes.iter().all(|size| reason.contains(size)), "{reason}");
}

#[test]
fn colour_maps_are_colorous_gradients() {
    assert_eq!(Colormap::default(), Colormap::Viridis);
    for map in MAPS {
        for t in [0.0, 0.1, 0.25, 0.5, 0.73, 0.999, 1.0] {
            assert_eq!(map.rgb(t), reference(map, t), "{map:?} at {t}");
        }
        // Not a constant: the ends differ.
        assert_ne!(map.rgb(0.0), map.rgb(1.0), "{map:?}");
    }
    // Anchors from the published maps (matplotlib's viridis, ColorBrewer's
    // RdBu).
    assert_eq!(Colormap::Viridis.rgb(0.0), [68, 1, 84]);
    assert_eq!(Colormap::Viridis.rgb(1.0), [253, 231, 37]);
    // colorous' RdBu is a B-spline through the scheme's colours, so its
    // ends come within a unit of them.
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 1);
    let (blue, red) = (Colormap::BlueRed.rgb(0.0), Colormap::BlueRed.rgb(1.0));
    assert!(near(blue, [5, 48, 97]), "{blue:?}");
    assert!(near(red, [103, 0, 31]), "{red:?}");
    // The diverging map is pale in the middle.
    assert!(Colormap::BlueRed.rgb(0.5).iter().all(|&c| c > 230));
}

#[test]
fn colour_maps_clamp_and_send_nan_to_the_start() {
    for map in MAPS {
        let (lo, hi) = (map.rgb(0.0), map.rgb(1.0));
        assert_eq!(map.rgb(-0.5), lo, "{map:?}");
        assert_eq!(map.rgb(-1e300), lo, "{map:?}");
        assert_eq!(map.rgb(1.5), hi, "{map:?}");
        assert_eq!(map.rgb(1e300), hi, "{map:?}");
        assert_eq!(map.rgb(f64::NAN), lo, "{map:?}");
        assert_eq!(map.rgb(f64::NEG_INFINITY), lo, "{map:?}");
        assert_eq!(map.rgb(f64::INFINITY), hi, "{map:?}");
    }
}

#[test]
fn colorize_maps_the_range_onto_the_colour_map() {
    // 2×3 (rows × columns), so a transposed image would not match. Values
    // are exact in f32 and `range` spans 8: t = (v + 2) / 8.
    let values = array![[-2.0f32, 0.0, 1.0], [2.0, 6.0, 9.0]];
    let heat = Heatmap::new(values.clone());
    for map in MAPS {
        let img = colorize(&heat, map, (-2.0, 6.0)).unwrap();
        assert_eq!(img.dimensions(), (3, 2));
        for ((y, x), &v) in values.indexed_iter() {
            let t = ((f64::from(v) + 2.0) / 8.0).clamp(0.0, 1.0);
            assert_eq!(
                img.get_pixel(x as u32, y as u32).0,
                reference(map, t),
                "{map:?} at ({y}, {x}) = {v}"
            );
        }
        // The ends of the range are the ends of the map; above is clamped.
        assert_eq!(img.get_pixel(0, 0).0, map.rgb(0.0));
        assert_eq!(img.get_pixel(1, 1).0, map.rgb(1.0));
        assert_eq!(img.get_pixel(2, 1).0, map.rgb(1.0));
        assert_ne!(img.get_pixel(2, 0).0, img.get_pixel(0, 1).0);
    }
    // Below the range clamps to the start; NaN and −∞ are drawn as the start.
    let odd = Heatmap::new(array![[-7.0f32, f32::NAN, f32::NEG_INFINITY]]);
    let img = colorize(&odd, Colormap::Magma, (-2.0, 6.0)).unwrap();
    for x in 0..3 {
        assert_eq!(img.get_pixel(x, 0).0, Colormap::Magma.rgb(0.0), "x = {x}");
    }
    // +∞ is clamped to the end.
    let top = Heatmap::new(array![[f32::INFINITY]]);
    let img = colorize(&top, Colormap::Magma, (-2.0, 6.0)).unwrap();
    assert_eq!(img.get_pixel(0, 0).0, Colormap::Magma.rgb(1.0));
    // A finite range whose span overflows f32 still spans the map.
    let wide = Heatmap::new(array![[-3e38f32, 0.0, 3e38]]);
    let img = colorize(&wide, Colormap::Viridis, (-3e38, 3e38)).unwrap();
    for (x, t) in [(0, 0.0), (1, 0.5), (2, 1.0)] {
        assert_eq!(img.get_pixel(x, 0).0, Colormap::Viridis.rgb(t), "x = {x}");
    }
    // Another range moves the colours: 0 is the middle of (−1, 1).
    let zero = Heatmap::new(array![[0.0f32]]);
    assert_eq!(
        colorize(&zero, Colormap::BlueRed, (-1.0, 1.0))
            .unwrap()
            .get_pixel(0, 0)
            .0,
        Colormap::BlueRed.rgb(0.5)
    );
}

#[test]
fn bad_ranges_are_typed_errors_with_the_value() {
    let heat = Heatmap::new(array![[0.5f32, 0.25]]);
    let image = Image::from_rgb8(1, 2, &[10, 20, 30, 40, 50, 60]).unwrap();
    for (range, shown) in [
        ((1.0f32, 1.0f32), "(1.0, 1.0)"),
        ((2.0, 1.0), "(2.0, 1.0)"),
        ((f32::NAN, 1.0), "(NaN, 1.0)"),
        ((0.0, f32::INFINITY), "(0.0, inf)"),
        ((f32::NEG_INFINITY, 0.0), "(-inf, 0.0)"),
    ] {
        let (name, value) = invalid(colorize(&heat, Colormap::Viridis, range));
        assert_eq!((name, value.as_str()), ("range", shown));
        let (name, value) = invalid(overlay(&image, &heat, Colormap::Viridis, range, 0.5));
        assert_eq!((name, value.as_str()), ("range", shown));
        let message = colorize(&heat, Colormap::Viridis, range)
            .unwrap_err()
            .to_string();
        assert!(message.contains(shown), "{message}");
    }
}

#[test]
fn overlay_blends_exactly_as_the_formula_says() {
    // 2×2 image given as bytes, so its 8-bit values are exact.
    #[rustfmt::skip]
    let bytes = [
        200, 100, 0,    10, 20, 30,
        255, 255, 255,  0, 0, 0,
    ];
    let image = Image::from_rgb8(2, 2, &bytes).unwrap();
    let heat = Heatmap::new(array![[0.0f32, 0.25], [0.5, 1.0]]);
    let range = (0.0, 1.0);
    // By hand, α = ½ at (0, 0): the image (200, 100, 0) and viridis' start
    // (68, 1, 84) average to (134, 50.5, 42); halves round up.
    let half = overlay(&image, &heat, Colormap::Viridis, range, 0.5).unwrap();
    assert_eq!(half.get_pixel(0, 0).0, [134, 51, 42]);
    // Every pixel and channel: round((1 − α)·image + α·colour). The
    // alphas are dyadic, so the sums are exact in any precision.
    for alpha in [0.0f32, 0.25, 0.5, 0.75, 1.0] {
        for map in [Colormap::Viridis, Colormap::BlueRed] {
            let out = overlay(&image, &heat, map, range, alpha).unwrap();
            assert_eq!(out.dimensions(), (2, 2));
            for y in 0..2usize {
                for x in 0..2usize {
                    let colour = reference(map, f64::from(heat.values()[[y, x]]));
                    let a = f64::from(alpha);
                    let want: Vec<u8> = (0..3)
                        .map(|c| {
                            let px = f64::from(bytes[(y * 2 + x) * 3 + c]);
                            ((1.0 - a) * px + a * f64::from(colour[c])).round() as u8
                        })
                        .collect();
                    assert_eq!(
                        out.get_pixel(x as u32, y as u32).0.to_vec(),
                        want,
                        "{map:?}, alpha {alpha}, ({y}, {x})"
                    );
                }
            }
        }
    }
    // The bounds: α = 0 is the image, α = 1 the colorized heatmap.
    let map = Colormap::Inferno;
    assert_eq!(
        overlay(&image, &heat, map, range, 0.0).unwrap(),
        image.to_rgb8()
    );
    assert_eq!(
        overlay(&image, &heat, map, range, 1.0).unwrap(),
        colorize(&heat, map, range).unwrap()
    );
}

#[test]
fn overlay_rejects_bad_alpha_and_sizes() {
    let image = Image::from_rgb8(1, 2, &[10, 20, 30, 40, 50, 60]).unwrap();
    let heat = Heatmap::new(array![[0.5f32, 0.25]]);
    for (alpha, shown) in [
        (-0.01f32, "-0.01"),
        (1.01, "1.01"),
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
    ] {
        let (name, value) = invalid(overlay(&image, &heat, Colormap::Viridis, (0.0, 1.0), alpha));
        assert_eq!((name, value.as_str()), ("alpha", shown));
    }
    // A heatmap of another size, either way round.
    let tall = Heatmap::new(array![[0.5f32], [0.25]]);
    assert_sizes_named(
        overlay(&image, &tall, Colormap::Viridis, (0.0, 1.0), 0.5),
        ["(2, 1)", "(1, 2)"],
    );
}

#[test]
fn boundaries_mark_pixels_whose_right_or_lower_neighbour_differs() {
    let bytes: Vec<u8> = (0..27).map(|i| (i * 9) as u8).collect();
    let image = Image::from_rgb8(3, 3, &bytes).unwrap();
    let seg = Segmentation::new(array![[0, 0, 1], [0, 0, 1], [2, 2, 2]]).unwrap();
    let colour = [1, 2, 3];
    let out = boundaries(&image, &seg, colour).unwrap();
    let base = image.to_rgb8();
    // (x, y): (1, 0) and (1, 1) have segment 1 to the right; (0, 1),
    // (1, 1) and (2, 1) have segment 2 below. The last row and column
    // have no neighbour there, and (0, 2) sees its own segment below.
    let marked = [(1, 0), (0, 1), (1, 1), (2, 1)];
    for (x, y, p) in out.enumerate_pixels() {
        if marked.contains(&(x, y)) {
            assert_eq!(p.0, colour, "({x}, {y}) is a boundary");
        } else {
            assert_eq!(p, base.get_pixel(x, y), "({x}, {y}) is not");
        }
    }
    let wrong = Segmentation::new(array![[0, 1, 1]]).unwrap();
    assert_sizes_named(boundaries(&image, &wrong, colour), ["(1, 3)", "(3, 3)"]);
}

/// A 5×16 image with no yellow pixel, explained on square grids of 3 (→ 4),
/// 4 and 9 segments, with signed heatmaps.
fn grid_explanation() -> (Image, HeatmapStack, CombinedHeatmap) {
    let (h, w) = (5, 16);
    let bytes: Vec<u8> = (0..h * w * 3)
        .map(|i| ((i * 37 + 11) % 200) as u8)
        .collect();
    let image = Image::from_rgb8(h, w, &bytes).unwrap();
    let lime = MultiScaleLime::builder()
        .segmenter(SquareGrid)
        .levels([3, 4, 9])
        .normalization(Normalization::MaxAbs)
        .seed(7)
        .build()
        .unwrap();
    let clf = rectangle_classifier(0, 3, 0, 8);
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let stack = e.stacks()[0].clone();
    let combined = Trapezoid.combine(&stack).unwrap();
    (image, stack, combined)
}

/// `tile` enlarged `s` times, nearest neighbour.
fn upscale(tile: &RgbImage, s: u32) -> RgbImage {
    RgbImage::from_fn(tile.width() * s, tile.height() * s, |x, y| {
        *tile.get_pixel(x / s, y / s)
    })
}

/// The panel below its labels band, built independently: a white canvas
/// with each level's boundaries (yellow) above its colorized heatmap, then
/// the image above the combined heatmap, each tile enlarged `scale` times.
fn expected_tiles(
    image: &Image,
    stack: &HeatmapStack,
    combined: &CombinedHeatmap,
    map: Colormap,
    range: (f32, f32),
    scale: u32,
) -> RgbImage {
    let (tw, th) = (image.width() as u32 * scale, image.height() as u32 * scale);
    let cols = stack.levels().len() as u32 + 1;
    let mut tiles: Vec<(u32, u32, RgbImage)> = Vec::new();
    for (col, level) in stack.levels().iter().enumerate() {
        let col = col as u32;
        tiles.push((
            col,
            0,
            boundaries(image, &level.segmentation, YELLOW).unwrap(),
        ));
        tiles.push((col, 1, colorize(&level.heatmap, map, range).unwrap()));
    }
    tiles.push((cols - 1, 0, image.to_rgb8()));
    tiles.push((
        cols - 1,
        1,
        colorize(&combined.heatmap, map, range).unwrap(),
    ));
    let mut out = RgbImage::from_pixel(
        cols * (tw + GAP) + GAP,
        LABEL + 2 * th + 3 * GAP,
        Rgb(WHITE),
    );
    for (col, row, tile) in tiles {
        let big = upscale(&tile, scale);
        let (x0, y0) = (GAP + col * (tw + GAP), LABEL + GAP + row * (th + GAP));
        for (x, y, p) in big.enumerate_pixels() {
            out.put_pixel(x0 + x, y0 + y, *p);
        }
    }
    out
}

/// Asserts that `fig` equals `want` everywhere below the labels band.
fn assert_tiles(fig: &RgbImage, want: &RgbImage, what: &str) {
    assert_eq!(fig.dimensions(), want.dimensions(), "{what}");
    for (x, y, p) in want.enumerate_pixels() {
        if y >= LABEL {
            assert_eq!(fig.get_pixel(x, y), p, "{what}: pixel ({x}, {y})");
        }
    }
}

#[test]
fn panel_tiles_are_the_levels_rendered_on_their_own() {
    let (image, stack, combined) = grid_explanation();
    let (h, w) = (image.height() as u32, image.width() as u32);
    let counts: Vec<(usize, usize)> = stack
        .levels()
        .iter()
        .map(|l| (l.desired, l.actual))
        .collect();
    assert_eq!(counts, vec![(3, 4), (4, 4), (9, 9)]);
    let (map, range) = (Colormap::BlueRed, (-1.0, 1.0));
    for scale in [1, 2, 4] {
        let fig = panel(&image, &stack, &combined, map, range, scale).unwrap();
        // Four columns (three levels and the combined one), two rows.
        assert_eq!(
            fig.dimensions(),
            (4 * (w * scale + GAP) + GAP, LABEL + 2 * h * scale + 3 * GAP),
            "scale {scale}"
        );
        let want = expected_tiles(&image, &stack, &combined, map, range, scale);
        assert_tiles(&fig, &want, &format!("scale {scale}"));
    }
    // Not vacuous: the boundary tiles hold yellow, and the heatmaps more
    // than one colour.
    let fig = panel(&image, &stack, &combined, map, range, 1).unwrap();
    let first_tile = |row: u32| {
        (0..h).flat_map(move |y| (0..w).map(move |x| (GAP + x, LABEL + GAP + row * (h + GAP) + y)))
    };
    assert!(first_tile(0).any(|(x, y)| fig.get_pixel(x, y).0 == YELLOW));
    let heat: std::collections::HashSet<[u8; 3]> =
        first_tile(1).map(|(x, y)| fig.get_pixel(x, y).0).collect();
    assert!(heat.len() > 1, "{heat:?}");
    // The range is the panel's own: another one changes the heatmap row.
    let other = panel(&image, &stack, &combined, map, (0.0, 1.0), 1).unwrap();
    assert_ne!(other, fig);
    assert_tiles(
        &other,
        &expected_tiles(&image, &stack, &combined, map, (0.0, 1.0), 1),
        "range (0, 1)",
    );
}

/// Which pixels of character `i` of a label at `x0` are text: 6×10 (3×5
/// glyphs drawn twice as large, 8 px apart, from y = 3).
fn cell(fig: &RgbImage, x0: u32, i: u32) -> Vec<bool> {
    (3..13)
        .flat_map(|y| (0..6).map(move |dx| (x0 + i * 8 + dx, y)))
        .map(|(x, y)| fig.get_pixel(x, y).0 == TEXT)
        .collect()
}

#[test]
fn panel_labels_give_each_levels_counts() {
    let (image, stack, combined) = grid_explanation();
    let scale = 4;
    let tw = image.width() as u32 * scale;
    // "s=3 s'=4", "s=4 s'=4", "s=9 s'=9" and "combined" are 8 characters:
    // 62 px wide, within a 64 px column.
    let fig = panel(
        &image,
        &stack,
        &combined,
        Colormap::Viridis,
        (0.0, 1.0),
        scale,
    )
    .unwrap();
    let x0 = |col: u32| GAP + col * (tw + GAP);
    // The band holds only background and text, text only in the labels'
    // boxes (rows 3..13, 62 px from each column's left edge).
    for (x, y, p) in fig.enumerate_pixels().filter(|(_, y, _)| *y < LABEL) {
        assert!(p.0 == WHITE || p.0 == TEXT, "({x}, {y}) is {:?}", p.0);
        if p.0 == TEXT {
            let in_box = (0..4).any(|c| x >= x0(c) && x < x0(c) + 62);
            assert!(in_box && (3..13).contains(&y), "stray text at ({x}, {y})");
        }
    }
    let blank = vec![false; 60];
    // Label "s=D s'=A": 's' at 0 and 4, '=' at 1 and 6, the space at 3.
    for col in 0..3 {
        let c = |i| cell(&fig, x0(col), i);
        for i in 0..8 {
            if i == 3 {
                assert_eq!(c(i), blank, "column {col}: the space is blank");
            } else {
                assert_ne!(c(i), blank, "column {col}: character {i} is drawn");
            }
        }
        assert_eq!(c(0), c(4), "column {col}: 's' twice");
        assert_eq!(c(1), c(6), "column {col}: '=' twice");
        // '=' is two bars, glyph rows 1 and 3 (pixel rows 2, 3 and 6, 7).
        let bars: Vec<bool> = (0..10)
            .flat_map(|r| [matches!(r, 2 | 3 | 6 | 7); 6])
            .collect();
        assert_eq!(c(1), bars, "column {col}: '='");
    }
    let fig = &fig;
    let label = |col: u32| move |i| cell(fig, x0(col), i);
    let (a, b, c) = (label(0), label(1), label(2));
    for i in [0, 1, 4, 5, 6] {
        assert_eq!(a(i), b(i), "labels 0 and 1 share character {i}");
        assert_eq!(a(i), c(i), "labels 0 and 2 share character {i}");
    }
    // The digits: s = 3, s' = 4; s = s' = 4; s = s' = 9. A digit's glyph
    // is the same wherever it is drawn, so s and s' are in their places.
    assert_eq!(b(2), b(7), "level 1: 4 = 4");
    assert_eq!(c(2), c(7), "level 2: 9 = 9");
    assert_eq!(a(7), b(2), "level 0: s' = 4");
    assert_ne!(a(2), b(2), "level 0: s = 3, not 4");
    assert_ne!(a(2), c(2), "level 0: s = 3, not 9");
    assert_ne!(b(2), c(2), "4 ≠ 9");
    // "combined": eight drawn characters, and no 's' label.
    for i in 0..8 {
        assert_ne!(cell(fig, x0(3), i), blank, "'combined' character {i}");
    }
    assert_ne!(cell(fig, x0(3), 0), a(0));
}

#[test]
fn panel_errors_are_typed() {
    let (image, stack, combined) = grid_explanation();
    let map = Colormap::Viridis;
    let (name, value) = invalid(panel(&image, &stack, &combined, map, (0.0, 1.0), 0));
    assert_eq!((name, value.as_str()), ("scale", "0"));
    let (name, value) = invalid(panel(&image, &stack, &combined, map, (1.0, 0.0), 2));
    assert_eq!((name, value.as_str()), ("range", "(1.0, 0.0)"));
    // Another image's explanation: its combined heatmap, then its levels,
    // do not fit.
    let small = Image::from_rgb8(2, 3, &[100; 18]).unwrap();
    let lime = MultiScaleLime::builder()
        .segmenter(SquareGrid)
        .levels([4])
        .seed(7)
        .build()
        .unwrap();
    let e = lime
        .explain(&small, &rectangle_classifier(0, 1, 0, 2), Target::Class(0))
        .unwrap();
    let small_combined = Trapezoid.combine(&e.stacks()[0]).unwrap();
    assert_sizes_named(
        panel(&image, &stack, &small_combined, map, (0.0, 1.0), 1),
        ["(2, 3)", "(5, 16)"],
    );
    assert_sizes_named(
        panel(&small, &stack, &small_combined, map, (0.0, 1.0), 1),
        ["(5, 16)", "(2, 3)"],
    );
}

#[test]
fn panel_of_a_slic_explanation() {
    // The paper's setting end to end: SLIC levels, trapezoid fusion.
    let image = textured_image(24, 20);
    let clf = rectangle_classifier(0, 12, 0, 10);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([4, 12, 30])
        .build()
        .unwrap();
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let stack = &e.stacks()[0];
    let combined = Trapezoid.combine(stack).unwrap();
    let (map, range, scale) = (Colormap::Viridis, (0.0, 1.0), 2);
    let fig = panel(&image, stack, &combined, map, range, scale).unwrap();
    let (tw, th) = (20 * scale, 24 * scale);
    assert_eq!(
        fig.dimensions(),
        (4 * (tw + GAP) + GAP, LABEL + 2 * th + 3 * GAP)
    );
    assert_tiles(
        &fig,
        &expected_tiles(&image, stack, &combined, map, range, scale),
        "SLIC panel",
    );
    let dark = fig
        .enumerate_pixels()
        .filter(|(_, y, p)| *y < LABEL && p.0 == TEXT)
        .count();
    assert!(dark > 20, "label text missing ({dark} px)");
}
