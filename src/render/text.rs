//! Text on figures: DejaVu Sans (bundled, a subset: Latin-1 and the few
//! symbols the figures use, such as ′ − ≤ α σ), rasterised with
//! anti-aliasing by `ab_glyph` at any size.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::RgbImage;

/// The bundled font's bytes (licence: `assets/fonts/LICENSE-DejaVu`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

fn font() -> FontRef<'static> {
    // The bytes are a valid TrueType font, bundled and tested: a failure
    // here is a broken build, not a user's input.
    FontRef::try_from_slice(FONT).expect("the bundled font parses")
}

/// Pixel sizes are clamped to this range (a size of 0 or NaN draws at the
/// smallest; an absurd one cannot make the rasteriser allocate without
/// bound).
const SIZE_RANGE: (f32, f32) = (4.0, 512.0);

fn scale(size: f32) -> PxScale {
    let size = if size.is_nan() { SIZE_RANGE.0 } else { size };
    PxScale::from(size.clamp(SIZE_RANGE.0, SIZE_RANGE.1))
}

/// The box `text` takes at `size` pixels (the font's line height): width
/// and height in pixels, rounded up.
///
/// ```
/// use multiscale_lime::render::text_size;
///
/// let (w, h) = text_size("combined", 20.0);
/// assert!(w > 60 && w < 120 && h >= 20 && h < 30, "{w}×{h}");
/// assert_eq!(text_size("", 20.0).0, 0);
/// ```
pub fn text_size(text: &str, size: f32) -> (u32, u32) {
    let font = font();
    let scaled = font.as_scaled(scale(size));
    let mut width = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    let height = scaled.ascent() - scaled.descent();
    (width.max(0.0).ceil() as u32, height.ceil() as u32)
}

/// Draws `text` in `color` with its box's top-left corner at `(x, y)`,
/// `size` pixels high (the font's line height), blending anti-aliased
/// edges into the image. What falls outside the image is clipped;
/// characters the bundled font lacks are drawn as its missing-glyph box.
///
/// ```
/// use image::{Rgb, RgbImage};
/// use multiscale_lime::render::draw_text;
///
/// let mut img = RgbImage::from_pixel(80, 24, Rgb([255; 3]));
/// draw_text(&mut img, 2, 2, "s′=12", 18.0, [0, 0, 0]);
/// assert!(img.pixels().any(|p| p.0 == [0, 0, 0]));
/// ```
pub fn draw_text(image: &mut RgbImage, x: i32, y: i32, text: &str, size: f32, color: [u8; 3]) {
    let font = font();
    let px = scale(size);
    let scaled = font.as_scaled(px);
    let baseline = y as f32 + scaled.ascent();
    let mut pen = x as f32;
    let mut previous = None;
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            pen += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(px, ab_glyph::point(pen, baseline));
        pen += scaled.h_advance(id);
        previous = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue; // a space
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px >= w || py >= h {
                return;
            }
            let pixel = image.get_pixel_mut(px as u32, py as u32);
            let a = coverage.clamp(0.0, 1.0);
            for (channel, &ink) in pixel.0.iter_mut().zip(&color) {
                let mixed = (1.0 - a) * f32::from(*channel) + a * f32::from(ink);
                *channel = mixed.round().clamp(0.0, 255.0) as u8;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn the_bundled_font_has_every_figure_character() {
        let font = font();
        for c in "0123456789 s′=.−+e combinedfusedlevelασ≤≥×µ–".chars() {
            if c != ' ' {
                assert_ne!(font.glyph_id(c).0, 0, "{c:?} missing");
            }
        }
    }

    #[test]
    fn text_is_clipped_not_a_panic() {
        let mut img = RgbImage::from_pixel(10, 10, Rgb([255; 3]));
        draw_text(&mut img, -30, -5, "combined", 24.0, [0; 3]);
        draw_text(&mut img, 5, 5, "combined", f32::INFINITY, [0; 3]);
        draw_text(&mut img, 5, 5, "x", f32::NAN, [0; 3]);
        draw_text(&mut img, i32::MAX, i32::MIN, "x", 12.0, [0; 3]);
    }
}
