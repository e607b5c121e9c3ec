//! Evaluating an explanation: does it point at what the model uses?
//!
//! - [`explanation_accuracy`]: keep only the most salient pixels and
//!   re-classify (the paper's *explanation accuracy*); [`accuracy_rate`]
//!   aggregates over a data set.
//! - [`deletion_curve`] / [`insertion_curve`]: Petsiuk et al. (2018) causal
//!   metrics; a faithful heatmap makes the score fall fast when its pixels
//!   are deleted (low deletion AUC) and rise fast when they are inserted
//!   (high insertion AUC).
//! - [`pixel_auc`], [`pointing_game`] and [`relevance_mass`]: agreement with a ground-truth
//!   mask (e.g. a pathologist's annotation).
//! - [`pearson`], [`jaccard_at_k`] and [`stability`]: does the explanation
//!   survive a change of seed?
//!
//! Pixels are ranked by decreasing saliency; ties keep raster order, so
//! every metric is deterministic.

mod accuracy;
mod curves;
mod mask;
mod stability;

pub use accuracy::{accuracy_rate, explanation_accuracy, AccuracyReport};
pub use curves::{deletion_curve, insertion_curve, Curve};
pub use mask::{pixel_auc, pointing_game, relevance_mass};
pub use stability::{jaccard_at_k, pearson, stability, StabilityReport};

use ndarray::{Array2, Array3, ArrayView2};

use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::input::Image;
use crate::perturb::HideColor;
use crate::segment::Segmentation;

/// Pixel indices (row-major) by decreasing saliency, ties in raster order.
pub(crate) fn saliency_order(heatmap: &Heatmap) -> Result<Vec<usize>> {
    check_finite(heatmap)?;
    let values = heatmap.values();
    let flat: Vec<f32> = values.iter().copied().collect();
    let mut order: Vec<usize> = (0..flat.len()).collect();
    order.sort_by(|&a, &b| flat[b].total_cmp(&flat[a]).then(a.cmp(&b)));
    Ok(order)
}

/// Rejects a heatmap holding NaN or an infinity.
pub(crate) fn check_finite(heatmap: &Heatmap) -> Result<()> {
    match heatmap.values().iter().find(|v| !v.is_finite()) {
        Some(v) => Err(Error::inconsistent("metric", format!("heatmap holds {v}"))),
        None => Ok(()),
    }
}

pub(crate) fn check_same_size(image: &Image, heatmap: &Heatmap) -> Result<()> {
    if heatmap.dim() != (image.height(), image.width()) {
        return Err(Error::inconsistent(
            "metric",
            format!(
                "heatmap is {:?} but the image is {:?}",
                heatmap.dim(),
                (image.height(), image.width())
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_mask(heatmap: &Heatmap, mask: ArrayView2<'_, bool>) -> Result<()> {
    if heatmap.dim() != mask.dim() {
        return Err(Error::inconsistent(
            "metric",
            format!(
                "heatmap is {:?} but the mask is {:?}",
                heatmap.dim(),
                mask.dim()
            ),
        ));
    }
    if !mask.iter().any(|&m| m) {
        return Err(Error::inconsistent(
            "metric",
            "the ground-truth mask is empty",
        ));
    }
    Ok(())
}

/// The image a hidden pixel shows, for metrics that hide whole pixels: the
/// hide colour over one segment covering the image (so `SegmentMean` is the
/// image's mean colour).
pub(crate) fn hidden_fill(image: &Image, hide: HideColor) -> Result<Image> {
    let (h, w) = (image.height(), image.width());
    let whole = Segmentation::new(Array2::zeros((h, w)))?;
    Ok(hide.fill(image, &whole)?.into_image(h, w))
}

/// `image` with the pixels whose `keep` entry is false replaced by `fill`.
pub(crate) fn compose(image: &Image, fill: &Image, keep: &[bool]) -> Image {
    let (h, w) = (image.height(), image.width());
    let mut data = Array3::<f32>::zeros((h, w, 3));
    if let Some(out) = data.as_slice_mut() {
        for (((dst, src), alt), &k) in out
            .chunks_exact_mut(3)
            .zip(image.as_slice().chunks_exact(3))
            .zip(fill.as_slice().chunks_exact(3))
            .zip(keep)
        {
            dst.copy_from_slice(if k { src } else { alt });
        }
    }
    Image::from_trusted(data)
}
