//! From a slide to the tiles a model reads: a thumbnail streamed from the
//! coarsest useful level, tissue found on it (Otsu's threshold on
//! luminance), and a grid of tiles of the model's input size at a chosen
//! resolution, kept where there is tissue. Coordinates are level-0 pixels.

use image::{imageops, Rgb, RgbImage};
use ndarray::Array2;

use super::{level0, Slide};
use crate::error::{Error, Result};

/// A thumbnail's longest side at most (pixels).
const MAX_THUMBNAIL: u32 = 8192;
/// Rows and columns of one read while streaming a thumbnail.
const CHUNK: u32 = 2048;

/// The slide shrunk so that its longer side is at most `max_side` pixels,
/// and its downsample (level-0 pixels per thumbnail pixel). Read from the
/// finest level no finer than needed, a chunk at a time, box-averaged:
/// memory is the thumbnail plus one chunk, whatever the slide's size.
///
/// # Errors
/// [`Error::InvalidParameter`] for `max_side` outside `16..=8192`; the
/// slide's read errors.
pub fn thumbnail(slide: &dyn Slide, max_side: u32) -> Result<(RgbImage, f64)> {
    if !(16..=MAX_THUMBNAIL).contains(&max_side) {
        return Err(Error::invalid("max_side", max_side, "16 to 8192 pixels"));
    }
    let level0 = level0(slide)?;
    let longest = level0.width.max(level0.height) as f64;
    let downsample = (longest / f64::from(max_side)).max(1.0);
    let (tw, th) = (
        ((level0.width as f64 / downsample).round() as u32).max(1),
        ((level0.height as f64 / downsample).round() as u32).max(1),
    );
    let level = slide.best_level_for_downsample(downsample);
    let info = slide.levels()[level];
    // Thumbnail pixels per level pixel.
    let scale = info.downsample / downsample;
    let mut sums = vec![0f64; tw as usize * th as usize * 3];
    let mut counts = vec![0u32; tw as usize * th as usize];
    for cy in (0..info.height).step_by(CHUNK as usize) {
        for cx in (0..info.width).step_by(CHUNK as usize) {
            let w = (info.width - cx).min(u64::from(CHUNK)) as u32;
            let h = (info.height - cy).min(u64::from(CHUNK)) as u32;
            let x0 = (cx as f64 * info.downsample) as i64;
            let y0 = (cy as f64 * info.downsample) as i64;
            let chunk = slide.read_region(level, x0, y0, w, h)?;
            for (x, y, p) in chunk.enumerate_pixels() {
                let tx = (((cx + u64::from(x)) as f64 + 0.5) * scale) as usize;
                let ty = (((cy + u64::from(y)) as f64 + 0.5) * scale) as usize;
                if tx < tw as usize && ty < th as usize {
                    let i = ty * tw as usize + tx;
                    counts[i] += 1;
                    for c in 0..3 {
                        sums[3 * i + c] += f64::from(p.0[c]);
                    }
                }
            }
        }
    }
    let image = RgbImage::from_fn(tw, th, |x, y| {
        let i = (y * tw + x) as usize;
        match counts[i] {
            0 => Rgb([255; 3]),
            n => Rgb(std::array::from_fn(|c| {
                (sums[3 * i + c] / f64::from(n)).round() as u8
            })),
        }
    });
    Ok((image, downsample))
}

/// Where the tissue is, on a thumbnail of the slide.
#[derive(Debug, Clone)]
pub struct TissueMask {
    /// `true` where a thumbnail pixel is tissue (rows, columns).
    pub mask: Array2<bool>,
    /// Level-0 pixels per mask pixel.
    pub downsample: f64,
    /// The luminance threshold used (Otsu's, 0–255): darker is tissue.
    pub threshold: u8,
}

impl TissueMask {
    /// The share of tissue in the level-0 rectangle `(x, y, width,
    /// height)`, from the mask pixels it covers (0 outside the slide).
    pub fn fraction(&self, x: i64, y: i64, width: u64, height: u64) -> f64 {
        let (h, w) = self.mask.dim();
        let to = |v: f64, n: usize| (v / self.downsample).floor().clamp(0.0, n as f64) as usize;
        let (x0, y0) = (to(x as f64, w), to(y as f64, h));
        let (x1, y1) = (
            to(x as f64 + width as f64, w).max(x0 + 1).min(w),
            to(y as f64 + height as f64, h).max(y0 + 1).min(h),
        );
        if x0 >= x1 || y0 >= y1 {
            return 0.0;
        }
        let cells = ((x1 - x0) * (y1 - y0)) as f64;
        let tissue = self
            .mask
            .slice(ndarray::s![y0..y1, x0..x1])
            .iter()
            .filter(|&&t| t)
            .count();
        tissue as f64 / cells
    }
}

/// Otsu's threshold of a 256-bin histogram: the level that maximises the
/// between-class variance (ties: the lowest).
pub fn otsu(histogram: &[u64; 256]) -> u8 {
    let total: u64 = histogram.iter().sum();
    let sum_all: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut best, mut best_t) = (-1.0f64, 0u8);
    let (mut weight_low, mut sum_low) = (0u64, 0.0f64);
    for (t, &count) in histogram.iter().enumerate() {
        weight_low += count;
        sum_low += t as f64 * count as f64;
        let weight_high = total - weight_low;
        if weight_low == 0 || weight_high == 0 {
            continue;
        }
        let mean_low = sum_low / weight_low as f64;
        let mean_high = (sum_all - sum_low) / weight_high as f64;
        let between = weight_low as f64 * weight_high as f64 * (mean_low - mean_high).powi(2);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Luminance (ITU-R BT.601, as scikit-image's `rgb2gray` weights it).
fn luminance(p: &Rgb<u8>) -> u8 {
    let [r, g, b] = p.0.map(f64::from);
    (0.2125 * r + 0.7154 * g + 0.0721 * b).round() as u8
}

/// Tissue on a thumbnail of at most `max_side` pixels: pixels darker than
/// Otsu's threshold of the thumbnail's luminance (a slide's glass is
/// bright). A slide that is all tissue splits at its own threshold; pass a
/// mask of your own to [`tiles`] where that matters.
///
/// # Errors
/// As [`thumbnail`].
pub fn detect_tissue(slide: &dyn Slide, max_side: u32) -> Result<TissueMask> {
    let (thumb, downsample) = thumbnail(slide, max_side)?;
    let mut histogram = [0u64; 256];
    for p in thumb.pixels() {
        histogram[usize::from(luminance(p))] += 1;
    }
    let threshold = otsu(&histogram);
    let (w, h) = thumb.dimensions();
    let mask = Array2::from_shape_fn((h as usize, w as usize), |(y, x)| {
        luminance(thumb.get_pixel(x as u32, y as u32)) <= threshold
    });
    Ok(TissueMask {
        mask,
        downsample,
        threshold,
    })
}

/// What tiles to cut: their size in pixels (the model's input), their
/// resolution, their spacing, and how much tissue they must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct TileSpec {
    /// Tile width and height in pixels, as the model reads them.
    pub size: (u32, u32),
    /// Level-0 pixels per tile pixel: 1 reads level 0; from a resolution,
    /// [`TileSpec::at_mpp`].
    pub downsample: f64,
    /// Tile pixels between tiles' corners (`size` for no overlap; smaller
    /// overlaps).
    pub stride: (u32, u32),
    /// The least share of tissue a kept tile holds (`0` keeps every tile).
    pub min_tissue: f64,
}

impl TileSpec {
    /// Tiles of `size` at level 0, edge to edge, half tissue or more.
    pub fn new(size: (u32, u32)) -> TileSpec {
        TileSpec {
            size,
            downsample: 1.0,
            stride: size,
            min_tissue: 0.5,
        }
    }

    /// The same tiles at `mpp` micrometres per pixel, for a slide whose
    /// level 0 has `slide_mpp`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when either is not finite and positive,
    /// or `mpp` is finer than the slide.
    pub fn at_mpp(mut self, mpp: f64, slide_mpp: f64) -> Result<TileSpec> {
        if !(mpp.is_finite() && mpp > 0.0) {
            return Err(Error::invalid("mpp", mpp, "finite and positive"));
        }
        if !(slide_mpp.is_finite() && slide_mpp > 0.0) {
            return Err(Error::invalid(
                "slide_mpp",
                slide_mpp,
                "finite and positive",
            ));
        }
        if mpp < slide_mpp * 0.99 {
            return Err(Error::invalid(
                "mpp",
                mpp,
                "no finer than the slide's level 0 (its µm per pixel)",
            ));
        }
        self.downsample = (mpp / slide_mpp).max(1.0);
        Ok(self)
    }

    fn check(&self) -> Result<()> {
        let (w, h) = self.size;
        if w == 0 || h == 0 || u64::from(w) * u64::from(h) > 1 << 24 {
            return Err(Error::invalid(
                "size",
                format!("{w}×{h}"),
                "1 to 16777216 pixels",
            ));
        }
        if !(self.downsample.is_finite() && self.downsample >= 1.0) {
            return Err(Error::invalid(
                "downsample",
                self.downsample,
                "finite and ≥ 1",
            ));
        }
        if self.stride.0 == 0 || self.stride.1 == 0 {
            return Err(Error::invalid(
                "stride",
                format!("{:?}", self.stride),
                "positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_tissue) {
            return Err(Error::invalid(
                "min_tissue",
                self.min_tissue,
                "a share in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// One tile: its level-0 rectangle, and how it is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlideTile {
    /// Level-0 corner.
    pub x: i64,
    /// Level-0 corner.
    pub y: i64,
    /// Level-0 extent (the tile's size times its downsample).
    pub width: u64,
    /// Level-0 extent.
    pub height: u64,
    /// Column and row in the grid.
    pub grid: (u32, u32),
    /// Its share of tissue.
    pub tissue: f64,
}

/// The most tiles one grid may hold.
pub const MAX_TILES: usize = 1 << 22;

/// The grid of tiles `spec` cuts from `slide`, keeping those with at
/// least `spec.min_tissue` tissue on `mask`, in bands of columns 4096
/// pixels wide (at the tiles' resolution), each band in rows from the top
/// left: neighbours follow each other, so that a slide's stored tiles
/// (larger than a model's) are decoded about once each within a bounded
/// cache, however wide the slide.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad spec or a grid of over 4 M tiles.
pub fn tiles(slide: &dyn Slide, mask: &TissueMask, spec: &TileSpec) -> Result<Vec<SlideTile>> {
    spec.check()?;
    let level0 = level0(slide)?;
    let step = (
        f64::from(spec.stride.0) * spec.downsample,
        f64::from(spec.stride.1) * spec.downsample,
    );
    let extent = (
        (f64::from(spec.size.0) * spec.downsample).round() as u64,
        (f64::from(spec.size.1) * spec.downsample).round() as u64,
    );
    // Tiles that fit inside level 0.
    let fit = |len: u64, ext: u64, step: f64| {
        if len < ext {
            0
        } else {
            ((len - ext) as f64 / step).floor() as u64 + 1
        }
    };
    let (cols, rows) = (
        fit(level0.width, extent.0, step.0),
        fit(level0.height, extent.1, step.1),
    );
    if cols.saturating_mul(rows) > MAX_TILES as u64 {
        return Err(Error::invalid(
            "stride",
            format!("{:?}", spec.stride),
            "a grid of at most 4194304 tiles",
        ));
    }
    let mut out = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            let (x, y) = (
                (col as f64 * step.0).round() as i64,
                (row as f64 * step.1).round() as i64,
            );
            let tissue = mask.fraction(x, y, extent.0, extent.1);
            if tissue >= spec.min_tissue {
                out.push(SlideTile {
                    x,
                    y,
                    width: extent.0,
                    height: extent.1,
                    grid: (col as u32, row as u32),
                    tissue,
                });
            }
        }
    }
    // Stable: rows stay in order within a band.
    let band = (BAND_PIXELS / spec.stride.0).max(1);
    out.sort_by_key(|t| t.grid.0 / band);
    Ok(out)
}

/// The width of a band of [`tiles`], in pixels at the tiles' resolution.
const BAND_PIXELS: u32 = 4096;

/// The pixels of `tile` as the model reads them (`spec.size`): read from
/// the finest level no finer than the spec's resolution and resampled
/// (bilinear) when no level has it exactly.
///
/// # Errors
/// The slide's read errors.
pub fn read_tile(slide: &dyn Slide, tile: &SlideTile, spec: &TileSpec) -> Result<RgbImage> {
    let level = slide.best_level_for_downsample(spec.downsample);
    let ds = slide.levels()[level].downsample;
    let (w, h) = spec.size;
    if (ds / spec.downsample - 1.0).abs() < 1e-3 {
        return slide.read_region(level, tile.x, tile.y, w, h);
    }
    let (rw, rh) = (
        ((tile.width as f64 / ds).round() as u32).max(1),
        ((tile.height as f64 / ds).round() as u32).max(1),
    );
    let region = slide.read_region(level, tile.x, tile.y, rw, rh)?;
    Ok(imageops::resize(
        &region,
        w,
        h,
        imageops::FilterType::Triangle,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slide::{SlideLevel, SlideProperties};

    /// A slide of one level that is never read (only its size counts).
    struct Blank(Vec<SlideLevel>, SlideProperties);

    impl Slide for Blank {
        fn levels(&self) -> &[SlideLevel] {
            &self.0
        }
        fn properties(&self) -> &SlideProperties {
            &self.1
        }
        fn read_region(&self, _: usize, _: i64, _: i64, w: u32, h: u32) -> Result<RgbImage> {
            Ok(RgbImage::new(w, h))
        }
    }

    #[test]
    fn tiles_come_in_bands_of_columns_each_in_rows() {
        let level = SlideLevel {
            width: 10_000,
            height: 500,
            downsample: 1.0,
        };
        let slide = Blank(vec![level], SlideProperties::default());
        let mask = TissueMask {
            mask: Array2::from_elem((5, 100), true),
            downsample: 100.0,
            threshold: 128,
        };
        let spec = TileSpec::new((100, 100));
        let grid = tiles(&slide, &mask, &spec).unwrap();
        // Every tile of the 100×5 grid, once.
        let mut cells: Vec<(u32, u32)> = grid.iter().map(|t| t.grid).collect();
        assert_eq!(cells.len(), 500);
        cells.sort_unstable();
        cells.dedup();
        assert_eq!(cells.len(), 500);
        // Bands of 4096 / 100 = 40 columns: 0–39, 40–79, 80–99; rows from
        // the top within each, columns from the left within a row.
        let order: Vec<(u32, u32, u32)> = grid
            .iter()
            .map(|t| (t.grid.0 / 40, t.grid.1, t.grid.0))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "not banded");
        assert_eq!(grid[40].grid, (0, 1));
        assert_eq!(grid[200].grid, (40, 0));
        for t in &grid {
            assert_eq!(
                (t.x, t.y),
                (i64::from(t.grid.0) * 100, i64::from(t.grid.1) * 100)
            );
        }
    }

    #[test]
    fn otsu_splits_two_modes() {
        let mut h = [0u64; 256];
        h[40] = 100;
        h[50] = 80;
        h[220] = 300;
        h[230] = 200;
        let t = otsu(&h);
        assert!((50..220).contains(&t), "{t}");
        // One value: no split, threshold 0.
        let mut one = [0u64; 256];
        one[128] = 10;
        assert_eq!(otsu(&one), 0);
    }
}
