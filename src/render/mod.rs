//! Showing an explanation: heatmaps through perceptual colour maps
//! (`colorous`, d3's scales), overlays on the image, segment boundaries,
//! colour bars, text in a bundled font, and the paper's panel figure (each
//! level's segmentation and heatmap, then the combined heatmap, with a
//! colour bar) at any resolution.

mod color_bar;
mod panel;
mod text;

pub use color_bar::{color_bar, tick_label, MAX_COLOR_BAR};
pub use panel::{panel, PanelLayout};
pub use text::{draw_text, text_size};

use image::{Rgb, RgbImage};

use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::input::Image;
use crate::segment::Segmentation;

/// A colour map for heatmaps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Colormap {
    /// Perceptually uniform, colour-blind safe (dark blue → yellow).
    #[default]
    Viridis,
    /// Perceptually uniform (black → yellow through red).
    Inferno,
    /// Perceptually uniform (black → white through purple).
    Magma,
    /// Optimised for colour-vision deficiency.
    Cividis,
    /// Diverging blue (low) → white → red (high): for signed heatmaps
    /// ([`Normalization::MaxAbs`](crate::Normalization::MaxAbs)) with range `(−1, 1)`.
    BlueRed,
}

impl Colormap {
    /// The colour of `t ∈ [0, 1]` (clamped, so ±∞ are the ends; NaN is
    /// the start).
    pub fn rgb(&self, t: f64) -> [u8; 3] {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let c = match self {
            Colormap::Viridis => colorous::VIRIDIS.eval_continuous(t),
            Colormap::Inferno => colorous::INFERNO.eval_continuous(t),
            Colormap::Magma => colorous::MAGMA.eval_continuous(t),
            Colormap::Cividis => colorous::CIVIDIS.eval_continuous(t),
            Colormap::BlueRed => colorous::RED_BLUE.eval_continuous(1.0 - t),
        };
        [c.r, c.g, c.b]
    }
}

fn check_range(range: (f32, f32)) -> Result<()> {
    if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
        return Err(Error::invalid(
            "range",
            format!("{range:?}"),
            "finite (low, high) with low < high",
        ));
    }
    Ok(())
}

fn check_size(image: &Image, dim: (usize, usize), what: &str) -> Result<()> {
    if dim != (image.height(), image.width()) {
        return Err(Error::inconsistent(
            "render",
            format!(
                "{what} is {dim:?} but the image is {:?}",
                (image.height(), image.width())
            ),
        ));
    }
    Ok(())
}

/// The heatmap in colour: `range.0` maps to the colour map's start,
/// `range.1` to its end (values outside are clamped).
///
/// ```
/// use multiscale_lime::render::{colorize, Colormap};
/// use multiscale_lime::Heatmap;
/// use ndarray::array;
///
/// let img = colorize(&Heatmap::new(array![[0.0, 1.0]]), Colormap::Viridis, (0.0, 1.0))?;
/// assert_eq!(img.dimensions(), (2, 1));
/// assert_eq!(img.get_pixel(0, 0).0, Colormap::Viridis.rgb(0.0));
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a range that is not finite and increasing.
pub fn colorize(heatmap: &Heatmap, colormap: Colormap, range: (f32, f32)) -> Result<RgbImage> {
    check_range(range)?;
    let (h, w) = heatmap.dim();
    // In f64: the span of a finite f32 range can overflow f32.
    let (lo, span) = (f64::from(range.0), f64::from(range.1) - f64::from(range.0));
    let values = heatmap.values();
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = f64::from(values[[y as usize, x as usize]]);
        Rgb(colormap.rgb((v - lo) / span))
    }))
}

/// The heatmap's colours blended over the image: `alpha = 0` shows the image,
/// `1` the colorized heatmap.
///
/// # Errors
/// As [`colorize`], plus [`Error::InvalidParameter`] for `alpha` outside
/// `[0, 1]` and [`Error::InconsistentInput`] when the sizes differ.
pub fn overlay(
    image: &Image,
    heatmap: &Heatmap,
    colormap: Colormap,
    range: (f32, f32),
    alpha: f32,
) -> Result<RgbImage> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::invalid("alpha", alpha, "a value in [0, 1]"));
    }
    check_size(image, heatmap.dim(), "heatmap")?;
    let colours = colorize(heatmap, colormap, range)?;
    let mut out = image.to_rgb8();
    for (o, c) in out.pixels_mut().zip(colours.pixels()) {
        for ch in 0..3 {
            let blended = (1.0 - alpha) * f32::from(o.0[ch]) + alpha * f32::from(c.0[ch]);
            o.0[ch] = blended.round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(out)
}

/// The image with segment boundaries drawn in `color` (a pixel is on a
/// boundary when its right or lower neighbour has another label).
///
/// # Errors
/// [`Error::InconsistentInput`] when the segmentation does not fit the image.
pub fn boundaries(image: &Image, segmentation: &Segmentation, color: [u8; 3]) -> Result<RgbImage> {
    check_size(image, segmentation.dim(), "segmentation")?;
    let labels = segmentation.labels();
    let (h, w) = segmentation.dim();
    let mut out = image.to_rgb8();
    for ((y, x), &l) in labels.indexed_iter() {
        let edge = (x + 1 < w && labels[[y, x + 1]] != l) || (y + 1 < h && labels[[y + 1, x]] != l);
        if edge {
            out.put_pixel(x as u32, y as u32, Rgb(color));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2, Array3};

    #[test]
    fn colorize_spans_the_colour_map() {
        let ramp = Heatmap::new(Array2::from_shape_fn((1, 11), |(_, x)| x as f32 / 10.0));
        let img = colorize(&ramp, Colormap::Inferno, (0.0, 1.0)).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, Colormap::Inferno.rgb(0.0));
        assert_eq!(img.get_pixel(10, 0).0, Colormap::Inferno.rgb(1.0));
        // Inferno runs from near-black to pale yellow.
        let (lo, hi) = (img.get_pixel(0, 0).0, img.get_pixel(10, 0).0);
        assert!(lo.iter().map(|&v| u32::from(v)).sum::<u32>() < 60);
        assert!(hi.iter().map(|&v| u32::from(v)).sum::<u32>() > 600);
        assert!(colorize(&ramp, Colormap::Viridis, (1.0, 1.0)).is_err());
    }

    #[test]
    fn overlay_blends_between_image_and_colours() {
        let image = Image::new(Array3::from_elem((2, 3, 3), 0.5)).unwrap();
        let heat = Heatmap::new(array![[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]);
        assert_eq!(
            overlay(&image, &heat, Colormap::Viridis, (0.0, 1.0), 0.0).unwrap(),
            image.to_rgb8()
        );
        assert_eq!(
            overlay(&image, &heat, Colormap::Viridis, (0.0, 1.0), 1.0).unwrap(),
            colorize(&heat, Colormap::Viridis, (0.0, 1.0)).unwrap()
        );
        assert!(overlay(&image, &heat, Colormap::Viridis, (0.0, 1.0), 1.5).is_err());
        let wrong = Heatmap::new(Array2::zeros((3, 3)));
        assert!(overlay(&image, &wrong, Colormap::Viridis, (0.0, 1.0), 0.5).is_err());
    }

    #[test]
    fn boundaries_mark_label_changes() {
        let image = Image::new(Array3::zeros((2, 4, 3))).unwrap();
        let seg = Segmentation::new(array![[0, 0, 1, 1], [0, 0, 1, 1]]).unwrap();
        let img = boundaries(&image, &seg, [255, 0, 0]).unwrap();
        let red: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [255, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert_eq!(red, vec![(1, 0), (1, 1)]);
    }

    #[test]
    fn blue_red_is_diverging() {
        let [r0, _, b0] = Colormap::BlueRed.rgb(0.0);
        let [r1, _, b1] = Colormap::BlueRed.rgb(1.0);
        assert!(b0 > r0 && r1 > b1);
    }
}
