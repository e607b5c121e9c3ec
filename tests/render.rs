//! Our rendering, checked against independent computations: colour maps
//! against `colorous`'s gradients, overlays against the blend formula
//! worked by hand, boundaries against the right/lower-neighbour rule, and
//! the panel figure tile by tile against each level rendered on its own,
//! the colour bar row by row against the colour map, text by its ink.
//! Every bad parameter is a typed error that carries the rejected value.

use image::{Rgb, RgbImage};
use multiscale_lime::prelude::*;
use multiscale_lime::render::{
    boundaries, color_bar, colorize, draw_text, overlay, panel, text_size, Colormap, PanelLayout,
};
use multiscale_lime::{
    CombinedHeatmap, Heatmap, HeatmapStack, Normalization, Segmentation, SquareGrid,
};
use multiscale_lime_testkit::{rectangle_classifier, textured_image};
use ndarray::array;

/// The colours the panel draws with.
const WHITE: [u8; 3] = [255, 255, 255];
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

/// The tiles the panel should hold, built independently: each level's
/// boundaries (yellow) above its colorized heatmap, then the image above
/// the combined heatmap, each enlarged `scale` times: `(column, row, tile)`.
fn expected_tiles(
    image: &Image,
    stack: &HeatmapStack,
    combined: &CombinedHeatmap,
    map: Colormap,
    range: (f32, f32),
    scale: u32,
) -> Vec<(u32, u32, RgbImage)> {
    let cols = stack.levels().len() as u32 + 1;
    let mut tiles = Vec::new();
    for (col, level) in stack.levels().iter().enumerate() {
        let col = col as u32;
        let edges = boundaries(image, &level.segmentation, YELLOW).unwrap();
        tiles.push((col, 0, upscale(&edges, scale)));
        let heat = colorize(&level.heatmap, map, range).unwrap();
        tiles.push((col, 1, upscale(&heat, scale)));
    }
    tiles.push((cols - 1, 0, upscale(&image.to_rgb8(), scale)));
    let heat = colorize(&combined.heatmap, map, range).unwrap();
    tiles.push((cols - 1, 1, upscale(&heat, scale)));
    tiles
}

/// Asserts that the figure holds the expected tiles where the layout puts
/// them, the colour bar beside the heatmaps, ink only in the titles band,
/// and white everywhere else.
fn assert_panel(
    fig: &RgbImage,
    layout: &PanelLayout,
    tiles: &[(u32, u32, RgbImage)],
    bar: &RgbImage,
    what: &str,
) {
    let mut covered = vec![false; (fig.width() * fig.height()) as usize];
    let mut cover = |x: u32, y: u32| covered[(y * fig.width() + x) as usize] = true;
    for (col, row, tile) in tiles {
        let (x0, y0) = layout.tile_origin(*col, *row);
        for (x, y, p) in tile.enumerate_pixels() {
            assert_eq!(
                fig.get_pixel(x0 + x, y0 + y),
                p,
                "{what}: tile ({col}, {row}), pixel ({x}, {y})"
            );
            cover(x0 + x, y0 + y);
        }
    }
    let (bx, by) = layout.color_bar;
    for (x, y, p) in bar.enumerate_pixels() {
        assert_eq!(
            fig.get_pixel(bx + x, by + y),
            p,
            "{what}: colour bar ({x}, {y})"
        );
        cover(bx + x, by + y);
    }
    for (x, y, p) in fig.enumerate_pixels() {
        if y >= layout.title && !covered[(y * fig.width() + x) as usize] {
            assert_eq!(p.0, WHITE, "{what}: stray ink at ({x}, {y})");
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
    for scale in [1, 2, 4, 24] {
        let fig = panel(&image, &stack, &combined, map, range, scale).unwrap();
        let layout = PanelLayout::new((5, 16), 3, scale).unwrap();
        assert_eq!(layout.tile, (w * scale, h * scale));
        let bar = color_bar(map, range, (h * scale).max(16)).unwrap();
        // Four columns (three levels and the combined one), two rows, the
        // colour bar on the right.
        assert_eq!(
            fig.dimensions(),
            (
                layout.color_bar.0 + bar.width() + layout.gap,
                (layout.title + 2 * (h * scale + layout.gap) + layout.gap)
                    .max(layout.color_bar.1 + bar.height() + layout.gap)
            ),
            "scale {scale}"
        );
        let want = expected_tiles(&image, &stack, &combined, map, range, scale);
        assert_panel(&fig, &layout, &want, &bar, &format!("scale {scale}"));
    }
    // Not vacuous: the boundary tiles hold yellow, and the heatmaps more
    // than one colour.
    let fig = panel(&image, &stack, &combined, map, range, 1).unwrap();
    let layout = PanelLayout::new((5, 16), 3, 1).unwrap();
    let tile = |row: u32| {
        let (x0, y0) = layout.tile_origin(0, row);
        (0..h).flat_map(move |y| (0..w).map(move |x| (x0 + x, y0 + y)))
    };
    assert!(tile(0).any(|(x, y)| fig.get_pixel(x, y).0 == YELLOW));
    let heat: std::collections::HashSet<[u8; 3]> =
        tile(1).map(|(x, y)| fig.get_pixel(x, y).0).collect();
    assert!(heat.len() > 1, "{heat:?}");
    // The range is the panel's own: another one changes the heatmap row
    // and the colour bar's labels.
    let other = panel(&image, &stack, &combined, map, (0.0, 1.0), 1).unwrap();
    assert_ne!(other, fig);
    assert_panel(
        &other,
        &layout,
        &expected_tiles(&image, &stack, &combined, map, (0.0, 1.0), 1),
        &color_bar(map, (0.0, 1.0), 16).unwrap(),
        "range (0, 1)",
    );
}

/// The titles band of column `col`: its ink pixels (not white).
fn title_ink(fig: &RgbImage, layout: &PanelLayout, col: u32) -> Vec<(u32, u32)> {
    let (x0, _) = layout.tile_origin(col, 0);
    (0..layout.title)
        .flat_map(|y| (x0..x0 + layout.tile.0).map(move |x| (x, y)))
        .filter(|&(x, y)| fig.get_pixel(x, y).0 != WHITE)
        .map(|(x, y)| (x - x0, y))
        .collect()
}

#[test]
fn panel_titles_give_each_levels_counts() {
    let (image, stack, combined) = grid_explanation();
    let scale = 24; // tiles of 384×120: a figure for print
    let fig = panel(
        &image,
        &stack,
        &combined,
        Colormap::Viridis,
        (0.0, 1.0),
        scale,
    )
    .unwrap();
    let layout = PanelLayout::new((5, 16), 3, scale).unwrap();
    assert!(layout.font >= 24.0, "{}", layout.font);
    // Each title is its text drawn at the layout's size, at the column's
    // left edge: compare against the text drawn alone.
    let titles = ["s=3 s′=4", "s=4 s′=4", "s=9 s′=9", "combined"];
    for (col, title) in titles.iter().enumerate() {
        let col = col as u32;
        let mut alone = RgbImage::from_pixel(layout.tile.0, layout.title, Rgb(WHITE));
        draw_text(
            &mut alone,
            0,
            (layout.gap / 2) as i32,
            title,
            layout.font,
            [40; 3],
        );
        let want: Vec<(u32, u32)> = alone
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 != WHITE)
            .map(|(x, y, _)| (x, y))
            .collect();
        let got = title_ink(&fig, &layout, col);
        assert_eq!(got, want, "title {title:?}");
        // The ink spans the text's measured width (within a pixel or two
        // of side bearing) and sits inside the band.
        let (tw, _) = text_size(title, layout.font);
        let right = got.iter().map(|p| p.0).max().unwrap();
        assert!(
            right + 4 >= tw && right < tw + 2,
            "{title}: ink to {right}, width {tw}"
        );
    }
    // Different counts, different titles; the same text, the same pixels.
    assert_ne!(title_ink(&fig, &layout, 0), title_ink(&fig, &layout, 1));
    assert_ne!(title_ink(&fig, &layout, 1), title_ink(&fig, &layout, 2));
    // Titles shrink to fit narrow columns: at scale 1 (16-px tiles) the
    // ink stays in its column.
    let small = panel(&image, &stack, &combined, Colormap::Viridis, (0.0, 1.0), 1).unwrap();
    let layout = PanelLayout::new((5, 16), 3, 1).unwrap();
    assert!(text_size("s=0000 s′=0000", layout.font).0 <= 16 || layout.font <= 6.0);
    for col in 0..3 {
        assert!(
            !title_ink(&small, &layout, col).is_empty(),
            "column {col} untitled"
        );
    }
}

#[test]
fn text_is_drawn_where_it_is_measured() {
    let size = 32.0;
    let (w, h) = text_size("combined", size);
    let mut img = RgbImage::from_pixel(w + 20, h + 20, Rgb(WHITE));
    draw_text(&mut img, 10, 10, "combined", size, [0, 0, 0]);
    let ink: Vec<(u32, u32)> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0 != WHITE)
        .map(|(x, y, _)| (x, y))
        .collect();
    let (x0, x1) = (
        ink.iter().map(|p| p.0).min().unwrap(),
        ink.iter().map(|p| p.0).max().unwrap(),
    );
    let (y0, y1) = (
        ink.iter().map(|p| p.1).min().unwrap(),
        ink.iter().map(|p| p.1).max().unwrap(),
    );
    assert!(
        (10..=14).contains(&x0) && x1 <= 10 + w && x1 + 4 >= 10 + w,
        "x {x0}..{x1}, width {w}"
    );
    assert!(y0 >= 10 && y1 < 10 + h, "y {y0}..{y1}, height {h}");
    // Anti-aliased: grey edges besides full ink.
    assert!(img.pixels().any(|p| p.0[0] > 0 && p.0[0] < 255));
    assert!(img.pixels().any(|p| p.0 == [0, 0, 0]));
    // Lower and upper case differ (the old bitmap font drew 'e' as 'E').
    let glyph = |c: &str| {
        let mut g = RgbImage::from_pixel(40, 40, Rgb(WHITE));
        draw_text(&mut g, 4, 2, c, 30.0, [0, 0, 0]);
        g
    };
    assert_ne!(glyph("e"), glyph("E"));
    // Twice the size, twice the width (to a pixel of rounding).
    let (w2, h2) = text_size("combined", 2.0 * size);
    assert!(
        w2.abs_diff(2 * w) <= 2 && h2.abs_diff(2 * h) <= 2,
        "{w2}×{h2} vs {w}×{h}"
    );
}

#[test]
fn color_bar_runs_the_colour_map_from_top_to_bottom() {
    for map in MAPS {
        let bar = color_bar(map, (-1.0, 1.0), 101).unwrap();
        assert_eq!(bar.height(), 101);
        for y in 0..101 {
            let t = 1.0 - f64::from(y) / 100.0;
            assert_eq!(bar.get_pixel(0, y).0, reference(map, t), "{map:?} row {y}");
        }
        // Labels to the right of the strip: ink beyond it.
        let strip = (0..bar.width())
            .take_while(|&x| bar.get_pixel(x, 50).0 == reference(map, 0.5))
            .count() as u32;
        assert!(strip >= 6, "strip {strip}");
        let ink = bar
            .enumerate_pixels()
            .filter(|(x, _, p)| *x > strip + 2 && p.0 != WHITE)
            .count();
        assert!(ink > 40, "{map:?}: labels missing ({ink} px)");
    }
    // Another range, other labels; the same colours.
    let a = color_bar(Colormap::Viridis, (0.0, 1.0), 64).unwrap();
    let b = color_bar(Colormap::Viridis, (0.0, 250.0), 64).unwrap();
    assert_eq!(a.get_pixel(0, 10), b.get_pixel(0, 10));
    assert_ne!(a, b);
}

#[test]
fn color_bar_and_layout_errors_are_typed() {
    let (name, value) = invalid(color_bar(Colormap::Viridis, (0.0, 1.0), 3));
    assert_eq!((name, value.as_str()), ("height", "3"));
    let (name, value) = invalid(color_bar(Colormap::Viridis, (0.0, 1.0), 1 << 20));
    assert_eq!((name, value.as_str()), ("height", "1048576"));
    let (name, value) = invalid(color_bar(Colormap::Viridis, (1.0, f32::NAN), 64));
    assert_eq!(name, "range");
    assert!(value.contains("NaN"), "{value}");
    let (name, value) = invalid(PanelLayout::new((96, 96), 5, 33));
    assert_eq!((name, value.as_str()), ("scale", "33"));
    // A figure that would not fit in memory is refused before drawing.
    let (name, value) = invalid(PanelLayout::new((4096, 4096), 5, 32));
    assert_eq!((name, value.as_str()), ("scale", "32"));
    inconsistent(PanelLayout::new((96, 96), 0, 1));
    inconsistent(PanelLayout::new((0, 96), 2, 1));
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
    let (map, range) = (Colormap::Viridis, (0.0, 1.0));
    let scale = PanelLayout::print_scale((24, 20));
    assert_eq!(scale, 16);
    let fig = panel(&image, stack, &combined, map, range, scale).unwrap();
    let layout = PanelLayout::new((24, 20), 3, scale).unwrap();
    assert_panel(
        &fig,
        &layout,
        &expected_tiles(&image, stack, &combined, map, range, scale),
        &color_bar(map, range, 24 * scale).unwrap(),
        "SLIC panel",
    );
    for col in 0..4 {
        assert!(
            title_ink(&fig, &layout, col).len() > 100,
            "column {col} untitled"
        );
    }
}
