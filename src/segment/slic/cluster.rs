//! The k-means loop: from the starting grid, `max_iter` rounds of
//! assignment and update, then connectivity (or compacted labels).

use super::assign::{colour_boxes, Clustering};
use super::connectivity::enforce_connectivity;
use super::geometry::{Centre, Window, BLOCK};
use super::grid::Grid;
use super::lab::LabPlanes;
use super::update::{carry_limits, update_centres};
use super::Slic;
use crate::error::{Error, Result};
use crate::input::Image;
use crate::segment::Segmentation;

impl Slic {
    /// Clusters `features` (of `image`) into about `desired` superpixels.
    pub(super) fn cluster(
        &self,
        image: &Image,
        features: &LabPlanes,
        desired: usize,
    ) -> Result<Segmentation> {
        let (h, w) = (image.height(), image.width());
        let Grid {
            mut centres,
            spatial_weight,
            reach,
            labels,
        } = Grid::new(h, w, desired);
        let ctx = Clustering {
            planes: &features.planes,
            boxes: colour_boxes(&features.planes, h, w),
            h,
            w,
            spatial_weight,
            reach,
        };
        let labels = self.iterate(&ctx, &mut centres, labels);
        self.finish(labels, h, w, centres.len())
    }

    /// The `max_iter` k-means rounds from the grid's labels: each round but
    /// the first moves the centres to their pixels' means, then every round
    /// assigns every pixel. The last round's centres never move: its labels
    /// are final.
    fn iterate(
        &self,
        ctx: &Clustering<'_>,
        centres: &mut [Centre],
        mut labels: Vec<f64>,
    ) -> Vec<f64> {
        let (h, w) = (ctx.h, ctx.w);
        // Every band fills its distances before assigning.
        let mut distance = vec![0.0f64; h * w];
        let blocks_per_row = w.div_ceil(BLOCK);
        // Per row and block: the pruning limit of a round (an upper bound
        // on every pixel's winning distance); the band work leaves the
        // block's largest winning distance there for the next one.
        let mut limit = vec![f64::INFINITY; h * blocks_per_row];
        let mut block_move = vec![0.0f64; h * blocks_per_row];
        let mut runs = Vec::new();
        for round in 0..self.max_iter {
            if round > 0 {
                update_centres(
                    centres,
                    &labels,
                    ctx.planes,
                    w,
                    ctx.spatial_weight,
                    &mut runs,
                );
            }
            let windows: Vec<Window> = centres.iter().map(|c| ctx.window(c)).collect();
            if round > 0 {
                carry_limits(
                    centres,
                    &windows,
                    &runs,
                    &mut limit,
                    &mut block_move,
                    blocks_per_row,
                );
            }
            ctx.assign(
                centres,
                &windows,
                &mut labels,
                &mut distance,
                &mut limit,
                self.parallel,
            );
        }
        labels
    }

    /// The segmentation from the final labels of `n_centres` centres:
    /// 4-connected segments when connectivity is enforced, else the labels
    /// compacted to `0..count`.
    fn finish(
        &self,
        labels: Vec<f64>,
        h: usize,
        w: usize,
        n_centres: usize,
    ) -> Result<Segmentation> {
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

/// Renumbers the labels in use among `0..n` to `0..count`, keeping their
/// order; returns them and `count`.
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
