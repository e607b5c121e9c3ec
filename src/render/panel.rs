//! The paper's panel figure (Figs. 1–3): one column per level, then the
//! combined heatmap, with titles and a colour bar.

use image::{Rgb, RgbImage};

use super::color_bar::color_bar;
use super::text::{draw_text, text_size};
use super::{boundaries, check_range, check_size, colorize, Colormap};
use crate::combine::CombinedHeatmap;
use crate::error::{Error, Result};
use crate::heatmap::HeatmapStack;
use crate::input::Image;

/// The largest enlargement [`panel`] draws: a 96-pixel patch at 32× is
/// already 3072 pixels a tile.
const MAX_SCALE: u32 = 32;

/// The most pixels a panel figure may hold (300 MB of RGB).
const MAX_FIGURE: u64 = 100_000_000;

/// Where the parts of a [`panel`] figure lie, in pixels of the figure.
///
/// ```
/// use multiscale_lime::render::PanelLayout;
///
/// // A 96×96 image, five levels, drawn 4× larger.
/// let layout = PanelLayout::new((96, 96), 5, 4)?;
/// assert_eq!(layout.tile, (384, 384));
/// assert_eq!(layout.columns, 6);
/// let (x, y) = layout.tile_origin(5, 1); // the combined heatmap
/// assert!(x + 384 <= layout.color_bar.0 && y >= layout.title);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PanelLayout {
    /// A tile's width and height: the image's, times the scale.
    pub tile: (u32, u32),
    /// Space between tiles and around them.
    pub gap: u32,
    /// The titles' font size (pixels).
    pub font: f32,
    /// Height of the band of titles above the tiles (gap included).
    pub title: u32,
    /// Columns of tiles: one per level, then the combined heatmap.
    pub columns: u32,
    /// Top-left corner of the colour bar, beside the heatmap row.
    pub color_bar: (u32, u32),
}

impl PanelLayout {
    /// The layout for an image of `(height, width)` pixels, `levels`
    /// levels and tiles `scale` times the image's size. Titles get a
    /// font that grows with the tiles and shrinks to fit their column.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `scale` outside `1..=32` or a
    /// figure of over 100 million pixels; [`Error::InconsistentInput`] for
    /// no levels or an empty image.
    pub fn new(image: (usize, usize), levels: usize, scale: u32) -> Result<PanelLayout> {
        if !(1..=MAX_SCALE).contains(&scale) {
            return Err(Error::invalid("scale", scale, "1 to 32"));
        }
        if levels == 0 {
            return Err(Error::inconsistent("render", "the stack has no levels"));
        }
        let (h, w) = image;
        let (Ok(h), Ok(w)) = (u32::try_from(h), u32::try_from(w)) else {
            return Err(Error::inconsistent(
                "render",
                "the image is too large to draw",
            ));
        };
        if h == 0 || w == 0 {
            return Err(Error::inconsistent("render", "the image is empty"));
        }
        // Bounded before anything is allocated: the columns of tiles and
        // a colour bar's width, two rows, at most MAX_FIGURE pixels.
        let (cols, scale64) = (levels as u64 + 2, u64::from(scale));
        let pixels = (cols * (u64::from(w) * scale64 + 48)) * (2 * u64::from(h) * scale64 + 120);
        if levels > 4096 || pixels > MAX_FIGURE {
            return Err(Error::invalid(
                "scale",
                scale,
                "a figure under 100 million pixels",
            ));
        }
        let tile = (w * scale, h * scale);
        let gap = (tile.0 / 32).clamp(4, 24);
        // The widest title the panel draws ("s=10000 s′=10000" is 16
        // characters) fits its column at this size.
        let mut font = (tile.0 as f32 * 0.085).clamp(11.0, 40.0);
        let widest = text_size("s=0000 s′=0000", font).0.max(1);
        if widest > tile.0 {
            font = (font * tile.0 as f32 / widest as f32).max(6.0);
        }
        let title = text_size("s′", font).1 + gap;
        let columns = levels as u32 + 1;
        let color_bar = (gap + columns * (tile.0 + gap), title + gap + tile.1 + gap);
        Ok(PanelLayout {
            tile,
            gap,
            font,
            title,
            columns,
            color_bar,
        })
    }

    /// The scale that draws an image of `(height, width)` pixels in tiles
    /// of at least 384 pixels a side (about 3 cm at 300 dpi: a figure fit
    /// for print), 1 for images already that large, at most 32.
    ///
    /// ```
    /// use multiscale_lime::render::PanelLayout;
    ///
    /// assert_eq!(PanelLayout::print_scale((96, 96)), 4);
    /// assert_eq!(PanelLayout::print_scale((100, 120)), 4);
    /// assert_eq!(PanelLayout::print_scale((512, 512)), 1);
    /// ```
    pub fn print_scale(image: (usize, usize)) -> u32 {
        let side = image.0.max(image.1).max(1);
        (384usize.div_ceil(side)).clamp(1, MAX_SCALE as usize) as u32
    }

    /// Top-left corner of the tile in `column` (levels, then the combined
    /// heatmap) and `row` (0: segments over the image, 1: heatmaps).
    pub fn tile_origin(&self, column: u32, row: u32) -> (u32, u32) {
        (
            self.gap + column * (self.tile.0 + self.gap),
            self.title + self.gap + row * (self.tile.1 + self.gap),
        )
    }
}

/// The paper's figure (Figs. 1–3): one column per level, titled with its
/// desired and actual segment counts (`s=… s′=…`), showing the
/// segmentation's boundaries over the image above the level's heatmap; a
/// last column shows the image and the combined heatmap, and a colour bar
/// with its scale stands beside the heatmaps. Tiles are enlarged `scale`
/// times (nearest neighbour, so superpixel edges stay sharp) and titles
/// grow with them: a scale that makes tiles of 300–600 pixels gives a
/// figure fit for print. Heatmaps are drawn over `range`. Where each part
/// lies is [`PanelLayout::new`]`(image size, levels, scale)`.
///
/// # Errors
/// [`Error::InvalidParameter`] for `scale` outside `1..=32` or a bad range;
/// [`Error::InconsistentInput`] when sizes disagree or the stack is empty.
pub fn panel(
    image: &Image,
    stack: &HeatmapStack,
    combined: &CombinedHeatmap,
    colormap: Colormap,
    range: (f32, f32),
    scale: u32,
) -> Result<RgbImage> {
    let layout = PanelLayout::new((image.height(), image.width()), stack.levels().len(), scale)?;
    check_range(range)?;
    check_size(image, combined.heatmap.dim(), "combined heatmap")?;
    for level in stack.levels() {
        check_size(image, level.heatmap.dim(), "level heatmap")?;
        check_size(image, level.segmentation.dim(), "segmentation")?;
    }
    let bar = color_bar(
        colormap,
        range,
        layout.tile.1.clamp(16, super::MAX_COLOR_BAR),
    )?;
    let (tw, th) = layout.tile;
    let width = (layout.color_bar.0 + bar.width() + layout.gap).max(tw + 2 * layout.gap);
    // A colour bar is at least 16 pixels tall, taller than tiny tiles.
    let height = (layout.title + 2 * (th + layout.gap) + layout.gap)
        .max(layout.color_bar.1 + bar.height() + layout.gap);
    let mut out = RgbImage::from_pixel(width, height, Rgb([255; 3]));
    let paste = |out: &mut RgbImage, tile: &RgbImage, col: u32, row: u32| {
        let (x0, y0) = layout.tile_origin(col, row);
        for (x, y, p) in tile.enumerate_pixels() {
            for dy in 0..scale {
                for dx in 0..scale {
                    out.put_pixel(x0 + x * scale + dx, y0 + y * scale + dy, *p);
                }
            }
        }
    };
    let ink = [40; 3];
    let title = |out: &mut RgbImage, col: u32, text: &str| {
        let (x, _) = layout.tile_origin(col, 0);
        let y = layout.gap / 2;
        draw_text(out, x as i32, y as i32, text, layout.font, ink);
    };
    for (col, level) in stack.levels().iter().enumerate() {
        let col = col as u32;
        let edges = boundaries(image, &level.segmentation, [255, 255, 0])?;
        paste(&mut out, &edges, col, 0);
        paste(
            &mut out,
            &colorize(&level.heatmap, colormap, range)?,
            col,
            1,
        );
        title(
            &mut out,
            col,
            &format!("s={} s′={}", level.desired, level.actual),
        );
    }
    let last = layout.columns - 1;
    paste(&mut out, &image.to_rgb8(), last, 0);
    paste(
        &mut out,
        &colorize(&combined.heatmap, colormap, range)?,
        last,
        1,
    );
    title(&mut out, last, "combined");
    let (bx, by) = (layout.color_bar.0, layout.tile_origin(0, 1).1);
    for (x, y, p) in bar.enumerate_pixels() {
        out.put_pixel(bx + x, by + y, *p);
    }
    Ok(out)
}
