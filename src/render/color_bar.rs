//! A colour bar: the colour map over its range, high at the top, with
//! ticks labelled at the low end, the middle and the high end.

use image::{Rgb, RgbImage};

use super::text::{draw_text, text_size};
use super::{check_range, Colormap};
use crate::error::{Error, Result};

/// The longest colour bar drawn (pixels): larger figures than this are
/// not figures.
pub const MAX_COLOR_BAR: u32 = 16_384;

/// A tick value as a label: at most three decimals, trailing zeros
/// dropped, a real minus sign (`−0.5`, `0`, `1`, `0.125`).
pub fn tick_label(value: f32) -> String {
    let text = format!("{value:.3}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    match text.as_str() {
        "-0" => "0".to_string(),
        _ => text.replace('-', "−"),
    }
}

/// A vertical colour bar `height` pixels tall on white: the colours of
/// `colormap` over `range` (high at the top), a tick at each end and in
/// the middle, each labelled with its value ([`tick_label`]) in a font
/// that grows with the bar. Its width follows from the labels.
///
/// ```
/// use multiscale_lime::render::{color_bar, Colormap};
///
/// let bar = color_bar(Colormap::Viridis, (0.0, 1.0), 200)?;
/// assert_eq!(bar.height(), 200);
/// // The bar's top is the colour map's end, its bottom the start.
/// let x = 2;
/// assert_eq!(bar.get_pixel(x, 0).0, Colormap::Viridis.rgb(1.0));
/// assert_eq!(bar.get_pixel(x, 199).0, Colormap::Viridis.rgb(0.0));
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a range that is not finite and
/// increasing, or a `height` under 16 or over [`MAX_COLOR_BAR`].
pub fn color_bar(colormap: Colormap, range: (f32, f32), height: u32) -> Result<RgbImage> {
    check_range(range)?;
    if !(16..=MAX_COLOR_BAR).contains(&height) {
        return Err(Error::invalid("height", height, "16 to 16384 pixels"));
    }
    let layout = Layout::new(range, height);
    let mut out = RgbImage::from_pixel(layout.width, height, Rgb([255; 3]));
    for y in 0..height {
        // Row 0 is the high end, the last row the low end.
        let t = 1.0 - f64::from(y) / f64::from(height - 1);
        let colour = Rgb(colormap.rgb(t));
        for x in 0..layout.bar {
            out.put_pixel(x, y, colour);
        }
    }
    let ink = [40; 3];
    for (label, y) in layout.labels.iter().zip(layout.ticks) {
        for x in layout.bar..layout.bar + layout.tick {
            out.put_pixel(x, y, Rgb(ink));
        }
        // Labels centred on their tick, kept inside the bar's height.
        let (_, th) = text_size(label, layout.font);
        let top = (y as i64 - i64::from(th) / 2).clamp(0, i64::from(height.saturating_sub(th)));
        let x = (layout.bar + layout.tick + layout.pad) as i32;
        draw_text(&mut out, x, top as i32, label, layout.font, ink);
    }
    Ok(out)
}

/// Where a colour bar's parts go.
struct Layout {
    /// Width of the coloured strip.
    bar: u32,
    /// Length of a tick mark, and the space between tick and label.
    tick: u32,
    pad: u32,
    font: f32,
    labels: [String; 3],
    /// Rows of the high, middle and low ticks.
    ticks: [u32; 3],
    width: u32,
}

impl Layout {
    fn new(range: (f32, f32), height: u32) -> Layout {
        let font = (height as f32 / 14.0).clamp(9.0, 26.0);
        let bar = (height / 12).clamp(6, 32);
        let tick = (bar / 3).max(2);
        let pad = tick.max(2);
        let mid = range.0 + (range.1 - range.0) / 2.0;
        let labels = [range.1, mid, range.0].map(tick_label);
        let widest = labels
            .iter()
            .map(|l| text_size(l, font).0)
            .max()
            .unwrap_or(0);
        Layout {
            bar,
            tick,
            pad,
            font,
            labels,
            ticks: [0, (height - 1) / 2, height - 1],
            width: bar + tick + pad + widest + pad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(-0.0), "0");
        assert_eq!(tick_label(1.0), "1");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(-1.0), "−1");
        assert_eq!(tick_label(0.125), "0.125");
        assert_eq!(tick_label(1.0 / 3.0), "0.333");
        assert_eq!(tick_label(-0.0001), "0");
        assert_eq!(tick_label(250.0), "250");
    }
}
