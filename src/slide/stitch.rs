//! Per-tile maps (heatmaps, uncertainties) stitched into one slide-level
//! map at a chosen downsample, overlaps averaged.

use ndarray::Array2;

use super::tiles::SlideTile;
use super::SlideLevel;
use crate::error::{Error, Result};
use crate::heatmap::HeatmapStack;

/// The most cells a slide map may hold (64 M: 256 MB of `f32` sums).
const MAX_CELLS: u64 = 1 << 26;

/// A slide-level map built from tiles: each cell the mean of the tile
/// pixels that fell in it.
#[derive(Debug, Clone)]
pub struct SlideMap {
    sums: Array2<f64>,
    counts: Array2<u32>,
    /// Level-0 pixels per cell.
    pub downsample: f64,
}

impl SlideMap {
    /// An empty map of level 0 at `downsample` level-0 pixels per cell.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a downsample under 1 or a map of
    /// over 64 M cells.
    pub fn new(level0: SlideLevel, downsample: f64) -> Result<SlideMap> {
        if !(downsample.is_finite() && downsample >= 1.0) {
            return Err(Error::invalid("downsample", downsample, "finite and ≥ 1"));
        }
        let w = (level0.width as f64 / downsample).ceil() as u64;
        let h = (level0.height as f64 / downsample).ceil() as u64;
        if w.saturating_mul(h) > MAX_CELLS {
            return Err(Error::invalid(
                "downsample",
                downsample,
                "a map of at most 67108864 cells (raise the downsample)",
            ));
        }
        let dim = (h.max(1) as usize, w.max(1) as usize);
        Ok(SlideMap {
            sums: Array2::zeros(dim),
            counts: Array2::zeros(dim),
            downsample,
        })
    }

    /// Adds a tile's map (`values`, the tile's pixels as the model read
    /// them) where the tile lies; NaN values are skipped. Cells larger
    /// than the tile's pixels take the mean of the pixels whose centres
    /// they hold; smaller cells take the pixel under their centre.
    pub fn add(&mut self, tile: &SlideTile, values: &Array2<f32>) {
        let (h, w) = values.dim();
        if h == 0 || w == 0 {
            return;
        }
        let (sx, sy) = (tile.width as f64 / w as f64, tile.height as f64 / h as f64);
        if self.downsample < sx.min(sy) {
            self.add_by_cells(tile, values, (sx, sy));
            return;
        }
        let (rows, cols) = self.sums.dim();
        for ((y, x), &v) in values.indexed_iter() {
            if !v.is_finite() {
                continue;
            }
            // The tile pixel's centre, in level 0, then in cells.
            let cx = ((tile.x as f64 + (x as f64 + 0.5) * sx) / self.downsample).floor();
            let cy = ((tile.y as f64 + (y as f64 + 0.5) * sy) / self.downsample).floor();
            if cx < 0.0 || cy < 0.0 || cx >= cols as f64 || cy >= rows as f64 {
                continue;
            }
            let at = [cy as usize, cx as usize];
            self.sums[at] += f64::from(v);
            self.counts[at] += 1;
        }
    }

    /// Every cell whose centre lies in the tile takes the tile pixel
    /// under that centre.
    fn add_by_cells(&mut self, tile: &SlideTile, values: &Array2<f32>, (sx, sy): (f64, f64)) {
        let (h, w) = values.dim();
        let (rows, cols) = self.sums.dim();
        let ds = self.downsample;
        let first = |start: f64| ((start / ds - 0.5).ceil().max(0.0)) as usize;
        let (c0, r0) = (first(tile.x as f64), first(tile.y as f64));
        let end_x = tile.x as f64 + tile.width as f64;
        let end_y = tile.y as f64 + tile.height as f64;
        for r in r0..rows {
            let y = (r as f64 + 0.5) * ds;
            if y >= end_y {
                break;
            }
            let py = (((y - tile.y as f64) / sy) as usize).min(h - 1);
            for c in c0..cols {
                let x = (c as f64 + 0.5) * ds;
                if x >= end_x {
                    break;
                }
                let px = (((x - tile.x as f64) / sx) as usize).min(w - 1);
                let v = values[[py, px]];
                if v.is_finite() {
                    self.sums[[r, c]] += f64::from(v);
                    self.counts[[r, c]] += 1;
                }
            }
        }
    }

    /// The stitched map: each cell's mean, NaN where no tile reached.
    pub fn mean(&self) -> Array2<f32> {
        let mut out = Array2::from_elem(self.sums.dim(), f32::NAN);
        for ((at, &sum), &n) in self.sums.indexed_iter().zip(&self.counts) {
            if n > 0 {
                out[at] = (sum / f64::from(n)) as f32;
            }
        }
        out
    }
}

/// Each pixel's uncertainty in an explanation: per level, the standard
/// error of its superpixel's coefficient over the level's largest
/// |coefficient|, averaged over the levels (0 certain; near 1 the noise is
/// as large as the strongest evidence). NaN without standard errors.
pub fn pixel_uncertainty(stack: &HeatmapStack) -> Array2<f32> {
    let Some(first) = stack.levels().first() else {
        return Array2::zeros((0, 0));
    };
    let dim = first.segmentation.labels().dim();
    let mut sum = Array2::<f64>::zeros(dim);
    let mut levels = 0.0;
    for level in stack.levels() {
        let Some(se) = &level.std_errors else {
            return Array2::from_elem(dim, f32::NAN);
        };
        let biggest = level
            .coefficients
            .iter()
            .fold(0.0f64, |m, c| m.max(c.abs()));
        if biggest <= 0.0 {
            continue;
        }
        levels += 1.0;
        for (s, &label) in sum.iter_mut().zip(level.segmentation.labels()) {
            *s += se.get(label as usize).copied().unwrap_or(f64::NAN) / biggest;
        }
    }
    if levels == 0.0 {
        return Array2::from_elem(dim, f32::NAN);
    }
    sum.mapv(|s| (s / levels) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(x: i64, y: i64, side: u64) -> SlideTile {
        SlideTile {
            x,
            y,
            width: side,
            height: side,
            grid: (0, 0),
            tissue: 1.0,
        }
    }

    #[test]
    fn overlaps_average_and_gaps_stay_nan() {
        let level0 = SlideLevel {
            width: 16,
            height: 8,
            downsample: 1.0,
        };
        let mut map = SlideMap::new(level0, 2.0).unwrap();
        // Two 8×8 tiles of 4×4 pixels (downsample 2), overlapping by 4.
        map.add(&tile(0, 0, 8), &Array2::from_elem((4, 4), 1.0));
        map.add(&tile(4, 0, 8), &Array2::from_elem((4, 4), 3.0));
        let m = map.mean();
        assert_eq!(m.dim(), (4, 8));
        assert_eq!(m[[0, 0]], 1.0);
        assert_eq!(m[[0, 2]], 2.0); // both tiles: averaged
        assert_eq!(m[[0, 5]], 3.0);
        assert!(m[[0, 6]].is_nan()); // no tile
        assert!(SlideMap::new(level0, 0.5).is_err());
        // Cells finer than the tile's pixels: every cell in the tile is
        // filled, with the pixel under it.
        let mut fine = SlideMap::new(level0, 1.0).unwrap();
        let ramp = Array2::from_shape_fn((4, 4), |(y, x)| (4 * y + x) as f32);
        fine.add(&tile(4, 0, 8), &ramp);
        let m = fine.mean();
        for y in 0..8 {
            for x in 4..12 {
                assert_eq!(m[[y, x]], ramp[[y / 2, (x - 4) / 2]], "({x}, {y})");
            }
            assert!(m[[y, 3]].is_nan() && m[[y, 12]].is_nan());
        }
    }
}
