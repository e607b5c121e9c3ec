//! The k-means loop: centres on scikit-image's regular grid, ten rounds of
//! assignment and update, then connectivity.

use rayon::prelude::*;

use super::assign::{colour_boxes, Band, BandSlices, Clustering, Window, BLOCK};
use super::connectivity::enforce_connectivity;
use super::lab::LabPlanes;
use super::update::{carry_limits, update_centres, LabelRun};
use super::Slic;
use crate::error::{Error, Result};
use crate::input::Image;
use crate::segment::Segmentation;

/// Rows per work unit of the assignment step; fixed, so the parallel and the
/// sequential paths visit pixels and centres in the same order.
pub(super) const BAND_ROWS: usize = 8;

/// `skimage.util.regular_grid` for a `(1, H, W)` volume: per axis `(start, step)`.
pub(super) fn regular_grid(shape: [usize; 3], n_points: usize) -> [(usize, usize); 3] {
    let space = shape.iter().map(|&s| s as f64).product::<f64>();
    if space <= n_points as f64 {
        return [(0, 1); 3];
    }
    let mut order = [0usize, 1, 2];
    order.sort_by_key(|&i| shape[i]); // stable, like numpy's argsort on 3 items
    let sorted = order.map(|i| shape[i] as f64);
    let n = n_points as f64;
    let mut steps = [(space / n).powf(1.0 / 3.0); 3];
    if (0..3).any(|i| sorted[i] < steps[i]) {
        for dim in 0..3 {
            steps[dim] = sorted[dim];
            let rest: f64 = sorted[dim + 1..].iter().product();
            if dim + 1 < 3 {
                let s = (rest / n).powf(1.0 / (3 - dim - 1) as f64);
                for step in &mut steps[dim + 1..] {
                    *step = s;
                }
            }
            if (0..3).all(|i| sorted[i] >= steps[i]) {
                break;
            }
        }
    }
    let mut out = [(0usize, 1usize); 3];
    for (pos, &axis) in order.iter().enumerate() {
        out[axis] = (
            (steps[pos] / 2.0).floor() as usize,
            steps[pos].round_ties_even() as usize,
        );
    }
    out
}

pub(super) struct Centre {
    pub(super) y: f64,
    pub(super) x: f64,
    pub(super) colour: [f64; 3],
    pub(super) alive: bool,
    /// How far the last update moved it, in the distance's metric (√D).
    pub(super) moved: f64,
}

impl Slic {
    /// Clusters `features` (of `image`) into about `desired` superpixels.
    pub(super) fn cluster(
        &self,
        image: &Image,
        features: &LabPlanes,
        desired: usize,
    ) -> Result<Segmentation> {
        let (h, w) = (image.height(), image.width());

        let grid = regular_grid([1, h, w], desired);
        let (ys, xs) = (grid[1], grid[2]);
        let mut centres: Vec<Centre> = (ys.0..h)
            .step_by(ys.1)
            .flat_map(|y| {
                (xs.0..w).step_by(xs.1).map(move |x| Centre {
                    y: y as f64,
                    x: x as f64,
                    colour: [0.0; 3],
                    alive: true,
                    moved: 0.0,
                })
            })
            .collect();
        let n_centres = centres.len();
        let step = grid.iter().map(|g| g.1).max().unwrap_or(1) as f64;
        let spatial_weight = 1.0 / (step * step);
        let window = regular_grid([1, h, w], n_centres);
        let (wy, wx) = ((2 * window[1].1) as f64, (2 * window[2].1) as f64);

        let ctx = Clustering {
            planes: &features.planes,
            boxes: colour_boxes(&features.planes, h, w),
            h,
            w,
            spatial_weight,
            reach: (wy, wx),
        };
        // Every band fills its distances before assigning.
        let mut distance = vec![0.0f64; h * w];
        let blocks_per_row = w.div_ceil(BLOCK);
        // Per row and block: the pruning limit of an iteration (an upper
        // bound on every pixel's winning distance); the band work leaves
        // the block's largest winning distance there for the next one.
        let mut limit = vec![f64::INFINITY; h * blocks_per_row];
        let mut block_move = vec![0.0f64; h * blocks_per_row];
        let mut runs: Vec<LabelRun> = Vec::new();
        let ny = (ys.0..h).step_by(ys.1).count();
        let nx = n_centres / ny.max(1);
        let nearest = |p: usize, (start, step): (usize, usize), n: usize| {
            ((p as f64 - start as f64) / step as f64)
                .round()
                .clamp(0.0, (n - 1) as f64) as usize
        };
        // The nearest grid column of every x, found once, not per pixel.
        let grid_columns: Vec<usize> = (0..w).map(|x| nearest(x, xs, nx)).collect();
        // Labels start at the nearest grid centre (what a pixel no window
        // reaches keeps) and are held as f64, exact small integers, so the
        // scan updates them with the same vector arithmetic as distances.
        let mut labels: Vec<f64> = (0..h)
            .flat_map(|y| {
                let first = nearest(y, ys, ny) * nx;
                grid_columns
                    .iter()
                    .map(move |&column| (first + column) as f64)
            })
            .collect();
        for iteration in 0..self.max_iter {
            if iteration > 0 {
                // The last iteration's centres never move: its labels are final.
                update_centres(
                    &mut centres,
                    &labels,
                    &features.planes,
                    w,
                    spatial_weight,
                    &mut runs,
                );
            }
            let windows: Vec<Window> = centres.iter().map(|c| ctx.window(c)).collect();
            if iteration > 0 {
                carry_limits(
                    &centres,
                    &windows,
                    &runs,
                    &mut limit,
                    &mut block_move,
                    blocks_per_row,
                );
            }
            let band = BAND_ROWS * w;
            let work = |(b, ((lab, dist), limit)): BandSlices<'_>| {
                let y0 = b * BAND_ROWS;
                ctx.band(
                    &centres,
                    &windows,
                    Band {
                        y0,
                        lab,
                        dist,
                        limit,
                    },
                );
            };
            if self.parallel {
                labels
                    .par_chunks_mut(band)
                    .zip(distance.par_chunks_mut(band))
                    .zip(limit.par_chunks_mut(BAND_ROWS * blocks_per_row))
                    .enumerate()
                    .for_each(work);
            } else {
                labels
                    .chunks_mut(band)
                    .zip(distance.chunks_mut(band))
                    .zip(limit.chunks_mut(BAND_ROWS * blocks_per_row))
                    .enumerate()
                    .for_each(work);
            }
        }

        let labels: Vec<u32> = labels.into_iter().map(|l| l as u32).collect();
        let (labels, count) = if self.enforce_connectivity {
            let segment_size = (h * w) as f64 / n_centres as f64;
            let min_size = (self.min_size_factor * segment_size) as usize;
            let max_size = (self.max_size_factor * segment_size) as usize;
            enforce_connectivity(&labels, h, w, min_size, max_size)
        } else {
            compact(labels, n_centres)
        };
        let labels = ndarray::Array2::from_shape_vec((h, w), labels).map_err(|e| {
            Error::InvalidSegmentation {
                reason: e.to_string(),
            }
        })?;
        debug_assert!(Segmentation::new(labels.clone()).is_ok());
        Ok(Segmentation::from_trusted(labels, count))
    }
}

/// Rows (or columns) `[trunc(max(c − r, 0)), trunc(min(c + r + 1, n)))`, as
/// the Cython code computes its windows.
pub(super) fn window_range(c: f64, r: f64, n: usize) -> (usize, usize) {
    let lo = (c - r).max(0.0) as usize;
    let hi = (c + r + 1.0).min(n as f64) as usize;
    (lo, hi)
}

pub(super) fn compact(labels: Vec<u32>, n: usize) -> (Vec<u32>, usize) {
    let mut map = vec![u32::MAX; n.max(1)];
    let mut used = vec![false; n.max(1)];
    for &l in &labels {
        used[l as usize] = true;
    }
    let mut next = 0u32;
    for (slot, &u) in map.iter_mut().zip(&used) {
        if u {
            *slot = next;
            next += 1;
        }
    }
    (
        labels.into_iter().map(|l| map[l as usize]).collect(),
        next as usize,
    )
}
