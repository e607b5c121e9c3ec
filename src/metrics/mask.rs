//! Agreement with a ground-truth mask.

use ndarray::ArrayView2;

use super::{check_finite, check_mask, saliency_order};
use crate::error::Result;
use crate::heatmap::Heatmap;

/// Pointing game (Zhang et al. 2018): does the heatmap's maximum (the first
/// in raster order on ties) lie within `tolerance` pixels (Euclidean) of the
/// ground-truth mask?
///
/// ```
/// use multiscale_lime::metrics::pointing_game;
/// use multiscale_lime::Heatmap;
/// use ndarray::array;
///
/// let heatmap = Heatmap::new(array![[0.1, 0.9, 0.2], [0.0, 0.3, 0.4]]);
/// let mask = array![[false, false, false], [false, false, true]];
/// assert!(!pointing_game(&heatmap, mask.view(), 0)?);
/// assert!(pointing_game(&heatmap, mask.view(), 2)?); // √2 away
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::InconsistentInput`] when the mask's size differs, the mask
/// is empty, or the heatmap holds non-finite values.
pub fn pointing_game(
    heatmap: &Heatmap,
    mask: ArrayView2<'_, bool>,
    tolerance: usize,
) -> Result<bool> {
    check_mask(heatmap, mask)?;
    let w = heatmap.dim().1;
    let top = saliency_order(heatmap)?[0];
    let (ty, tx) = ((top / w) as f64, (top % w) as f64);
    let t2 = (tolerance * tolerance) as f64;
    Ok(mask
        .indexed_iter()
        .any(|((y, x), &m)| m && (y as f64 - ty).powi(2) + (x as f64 - tx).powi(2) <= t2))
}

/// Relevance mass (Arras et al. 2022): the share of the positive relevance
/// that falls inside the mask, `Σ_mask max(E, 0) / Σ max(E, 0)` (0 when no
/// relevance is positive). The uniform heatmap scores the mask's area share.
///
/// ```
/// use multiscale_lime::metrics::relevance_mass;
/// use multiscale_lime::Heatmap;
/// use ndarray::array;
///
/// let heatmap = Heatmap::new(array![[3.0, 1.0], [-2.0, 0.0]]);
/// let mask = array![[true, false], [true, false]];
/// assert_eq!(relevance_mass(&heatmap, mask.view())?, 0.75);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// As [`pointing_game`].
pub fn relevance_mass(heatmap: &Heatmap, mask: ArrayView2<'_, bool>) -> Result<f64> {
    check_mask(heatmap, mask)?;
    check_finite(heatmap)?;
    let (mut inside, mut total) = (0.0f64, 0.0f64);
    for (&v, &m) in heatmap.values().iter().zip(mask.iter()) {
        let v = f64::from(v.max(0.0));
        total += v;
        if m {
            inside += v;
        }
    }
    Ok(if total > 0.0 { inside / total } else { 0.0 })
}

/// Pixel AUC-ROC: the probability that a pixel inside the ground-truth
/// mask has a higher heatmap value than a pixel outside it, ties counting
/// one half (the Mann–Whitney statistic; `sklearn.metrics.roc_auc_score`
/// of the mask against the heatmap). 1 ranks the mask first, 0.5 is
/// chance, and only the order of the values matters.
///
/// ```
/// use multiscale_lime::metrics::pixel_auc;
/// use multiscale_lime::Heatmap;
/// use ndarray::array;
///
/// let heatmap = Heatmap::new(array![[0.9, 0.2], [0.5, 0.5]]);
/// let mask = array![[true, false], [true, false]];
/// // Pairs (inside, outside): (0.9, 0.2) (0.9, 0.5) (0.5, 0.2) win, (0.5, 0.5) ties.
/// assert_eq!(pixel_auc(&heatmap, mask.view())?, 3.5 / 4.0);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// As [`pointing_game`], and also when the mask covers every pixel (no
/// pixel outside it to rank against).
pub fn pixel_auc(heatmap: &Heatmap, mask: ArrayView2<'_, bool>) -> Result<f64> {
    check_mask(heatmap, mask)?;
    check_finite(heatmap)?;
    let mut pairs: Vec<(f32, bool)> = heatmap
        .values()
        .iter()
        .zip(mask.iter())
        .map(|(&v, &m)| (v, m))
        .collect();
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if negatives == 0 {
        return Err(crate::Error::inconsistent(
            "metric",
            "the ground-truth mask covers every pixel",
        ));
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' ranks (1-based, ties sharing their mean rank).
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < pairs.len() {
        let end = start + pairs[start..].partition_point(|p| p.0 == pairs[start].0);
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let inside = pairs[start..end].iter().filter(|p| p.1).count();
        rank_sum += mean_rank * inside as f64;
        start = end;
    }
    let p = positives as f64;
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}
