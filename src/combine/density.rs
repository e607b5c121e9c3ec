//! [`Density`]: fusing levels in one unit, relevance per pixel.

use ndarray::Array2;

use super::{check_stack, CombinedHeatmap, Combiner};
use crate::error::{Error, Result};
use crate::heatmap::{Heatmap, HeatmapStack, LevelExplanation, Normalization};

/// Relevance density: each level's coefficient `β_k` of segment `k` is the
/// score change of hiding its `a_k` pixels, so `β_k / a_k` is a per-pixel
/// relevance in the same unit at every scale. The fused map is the mean of
/// the levels' density maps, `F(p) = (1/L) Σ_l β_{l,k(p)} / a_{l,k(p)}`,
/// rescaled to `[0, 1]` by its minimum and maximum (all equal → all 0).
///
/// Unlike the paper's rules it reads the raw coefficients, not the
/// min-max–normalised level heatmaps: a coarse segment that only touches
/// the evidence gets its relevance spread over all its pixels instead of
/// the top value of its level. The map does not change when every
/// coefficient is scaled by the same `c > 0`, nor with the order of the
/// levels.
///
/// ```
/// use multiscale_lime::{Combiner, Density, FnClassifier, Image, MultiScaleLime, SquareGrid, Target};
/// # let image = Image::new(ndarray::Array3::from_elem((8, 8, 3), 0.5))?;
/// # let classifier = FnClassifier::new(1, |b: ndarray::ArrayView4<'_, f32>| {
/// #     Ok(ndarray::Array2::from_shape_fn((b.dim().0, 1), |(i, _)| b[[i, 0, 0, 0]]))
/// # });
/// let lime = MultiScaleLime::builder().segmenter(SquareGrid).levels([4, 16]).build()?;
/// let explanation = lime.explain(&image, &classifier, Target::Class(0))?;
/// let fused = Density.combine(&explanation.stacks()[0])?;
/// assert_eq!(fused.weights, vec![0.5, 0.5]);
/// // The classifier reads the top-left pixel only: its segment leads.
/// let map = fused.heatmap.values();
/// assert_eq!(map[[0, 0]], 1.0);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Density;

impl Combiner for Density {
    /// Uniform: every level is one estimate of the same density.
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        super::check_counts(counts)?;
        Ok(vec![1.0 / counts.len() as f64; counts.len()])
    }

    fn combine(&self, stack: &HeatmapStack) -> Result<CombinedHeatmap> {
        fuse_densities(stack, self.weights(&stack.counts())?, |_, _| {})
    }
}

/// Each level's relevance density `β_k / a_k` painted on its pixels, passed
/// through `smooth` (the level and its `h×w` plane, row-major), averaged with
/// `weights` and rescaled to `[0, 1]` by its minimum and maximum.
pub(super) fn fuse_densities(
    stack: &HeatmapStack,
    weights: Vec<f64>,
    smooth: impl Fn(&LevelExplanation, &mut [f64]),
) -> Result<CombinedHeatmap> {
    let dim = check_stack(stack)?;
    let mut acc = Array2::<f64>::zeros(dim);
    let mut plane = vec![0.0; dim.0 * dim.1];
    for (level, &w) in stack.levels().iter().zip(&weights) {
        let density = level_density(level)?;
        for (p, &label) in plane.iter_mut().zip(level.segmentation.as_slice()) {
            *p = density[label as usize];
        }
        smooth(level, &mut plane);
        for (a, &p) in acc.iter_mut().zip(&plane) {
            *a += w * p;
        }
    }
    if let Some(v) = acc.iter().find(|v| !v.is_finite()) {
        return Err(Error::inconsistent(
            "combine",
            format!("a coefficient density is {v}"),
        ));
    }
    let scaled = Normalization::MinMax.apply(acc.as_slice().unwrap_or_default());
    let heatmap = Array2::from_shape_vec(dim, scaled.into_iter().map(|v| v as f32).collect())
        .map_err(|e| Error::inconsistent("combine", e.to_string()))?;
    Ok(CombinedHeatmap {
        heatmap: Heatmap::new(heatmap),
        weights,
        uniform_fallback: false,
    })
}

/// `β_k / a_k` for every segment of `level`.
fn level_density(level: &LevelExplanation) -> Result<Vec<f64>> {
    let sizes = level.segmentation.sizes();
    if level.coefficients.len() != sizes.len() {
        return Err(Error::inconsistent(
            "combine",
            format!(
                "{} coefficients for {} segments",
                level.coefficients.len(),
                sizes.len()
            ),
        ));
    }
    Ok(level
        .coefficients
        .iter()
        .zip(sizes)
        .map(|(&b, &a)| if a > 0 { b / a as f64 } else { 0.0 })
        .collect())
}
