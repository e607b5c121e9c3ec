//! The model over every tile of a slide: batches decoded on other threads
//! while the model scores the previous one, so the model never waits for
//! the disk or the JPEG decoder.

use std::sync::mpsc::sync_channel;

use ndarray::{Array2, Array4, Axis};
use rayon::prelude::*;

use super::tiles::{read_tile, SlideTile, TileSpec};
use super::Slide;
use crate::classify::Classifier;
use crate::error::{Error, Result};

/// Every tile's class probabilities (as the model returns them).
#[derive(Debug, Clone)]
pub struct PredictionMap {
    /// The tiles, in the order given.
    pub tiles: Vec<SlideTile>,
    /// One row per tile, one column per class.
    pub scores: Array2<f32>,
}

impl PredictionMap {
    /// `class`'s scores on the tile grid (rows, columns; the smallest grid
    /// holding every scored tile): NaN where no tile was scored, and
    /// everywhere for a class the model lacks.
    pub fn grid(&self, class: usize) -> Array2<f32> {
        let cols = self.tiles.iter().map(|t| t.grid.0 + 1).max().unwrap_or(0) as usize;
        let rows = self.tiles.iter().map(|t| t.grid.1 + 1).max().unwrap_or(0) as usize;
        let mut out = Array2::from_elem((rows, cols), f32::NAN);
        if class < self.scores.ncols() {
            for (tile, score) in self.tiles.iter().zip(self.scores.column(class)) {
                out[[tile.grid.1 as usize, tile.grid.0 as usize]] = *score;
            }
        }
        out
    }
}

/// A batch of tiles as the classifier takes it: `N×H×W×3` in `[0, 1]`.
fn decode_batch(slide: &dyn Slide, tiles: &[SlideTile], spec: &TileSpec) -> Result<Array4<f32>> {
    let (w, h) = (spec.size.0 as usize, spec.size.1 as usize);
    let images: Vec<image::RgbImage> = tiles
        .par_iter()
        .map(|t| read_tile(slide, t, spec))
        .collect::<Result<_>>()?;
    let mut batch = Array4::zeros((tiles.len(), h, w, 3));
    for (mut slot, image) in batch.axis_iter_mut(Axis(0)).zip(&images) {
        for (dst, &src) in slot.iter_mut().zip(image.as_raw()) {
            *dst = f32::from(src) / 255.0;
        }
    }
    Ok(batch)
}

/// Scores every tile with `classifier`, `batch` tiles per model run,
/// decoding the next batch while the model runs.
///
/// # Errors
/// [`Error::InvalidParameter`] for `batch = 0`; the slide's read errors;
/// the classifier's errors, a score array of the wrong shape or a
/// non-finite score.
pub fn predict_tiles(
    slide: &dyn Slide,
    tiles: &[SlideTile],
    spec: &TileSpec,
    classifier: &(dyn Classifier + Sync),
    batch: usize,
) -> Result<PredictionMap> {
    if batch == 0 || batch > 4096 {
        return Err(Error::invalid("batch", batch, "1 to 4096 tiles"));
    }
    let classes = classifier.num_classes();
    let mut scores = Array2::zeros((tiles.len(), classes));
    std::thread::scope(|scope| -> Result<()> {
        // One decoded batch waits while the model scores another.
        let (send, receive) = sync_channel::<Result<Array4<f32>>>(1);
        scope.spawn(move || {
            for chunk in tiles.chunks(batch) {
                let decoded = decode_batch(slide, chunk, spec);
                let failed = decoded.is_err();
                // A closed channel: the model side stopped on an error.
                if send.send(decoded).is_err() || failed {
                    return;
                }
            }
        });
        let mut row = 0;
        for decoded in receive {
            let images = decoded?;
            let n = images.dim().0;
            let out = classifier
                .predict(images.view())
                .map_err(Error::Classifier)?;
            if out.dim() != (n, classes) {
                return Err(Error::ClassifierOutput {
                    got: out.dim(),
                    expected: (n, classes),
                });
            }
            if let Some(((i, class), &value)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(Error::ClassifierNonFinite {
                    value,
                    batch_row: i,
                    class,
                });
            }
            scores.slice_mut(ndarray::s![row..row + n, ..]).assign(&out);
            row += n;
        }
        Ok(())
    })?;
    Ok(PredictionMap {
        tiles: tiles.to_vec(),
        scores,
    })
}
