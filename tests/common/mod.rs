//! Helpers shared by the integration tests.
#![allow(dead_code)]

use multiscale_lime::{ClassifierError, FnClassifier, Image};
use ndarray::{Array2, Array3, ArrayView4, Axis};

/// A deterministic, textured test image (no two neighbouring blocks alike),
/// so SLIC has edges to follow.
pub fn textured_image(h: usize, w: usize) -> Image {
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let block = (y / 6) * 31 + (x / 6) * 17 + c * 7;
        0.15 + 0.7 * ((block * 2654435761usize) % 1000) as f32 / 1000.0
    });
    Image::new(data).unwrap()
}

/// One class: the mean of all channels inside rows `r0..r1`, columns `c0..c1`.
/// Everything outside the rectangle is ignored.
pub fn rectangle_classifier(
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) -> FnClassifier<impl Fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> + Sync> {
    FnClassifier::new(2, move |batch: ArrayView4<'_, f32>| {
        let mut out = Array2::zeros((batch.dim().0, 2));
        for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
            let m = img
                .slice(ndarray::s![r0..r1, c0..c1, ..])
                .mean()
                .unwrap_or(0.0);
            out[[i, 0]] = m;
            out[[i, 1]] = 1.0 - m;
        }
        Ok(out)
    })
}
