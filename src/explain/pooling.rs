//! Sharing model calls across levels: every level's surrogate is fitted on
//! the passes of all levels, each pass described by the share of each of
//! the level's superpixels it left visible.
//!
//! A pass drawn at level `m` hides whole superpixels of `m`; seen from
//! level `l`, superpixel `T_k` of `l` is visible in the share
//! `x_k = Σ_j z_j |S_j ∩ T_k| / |T_k|` (`S_j` the superpixels of `m`,
//! `z_j ∈ {0, 1}` the pass's mask), a continuous feature in `[0, 1]`; for
//! `m = l` it is the mask itself. The surrogate stays LIME's: the weighted
//! ridge, fitted to all passes' scores, with the exponential kernel on
//! `d = 1 − √x̄` (`x̄` the mean share visible), which for a binary mask is
//! LIME's cosine distance `1 − √(kept/K)`. (The cosine itself would not
//! do: it is blind to scale, so a pass that hides half of every coarse
//! superpixel would look like the unperturbed image.) A coarse pass tells a fine level which groups
//! of its superpixels matter; a fine pass tells a coarse level how much
//! of each superpixel matters, with a feature whose spread shrinks as the
//! coarse superpixel holds more fine ones; with `n = m·s'` per level, each
//! level gets about as much information from every finer level as from its
//! own passes.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use super::{Fitted, MultiScaleLime, Run, Targets};
use crate::classify::Classifier;
use crate::error::Result;
use crate::heatmap::LevelExplanation;
use crate::kernel::exponential_kernel;
use crate::perturb::Perturber;
use crate::segment::{Segmentation, Segmenter};
use crate::surrogate::SurrogateFitter;

/// A level's segmentation, masks and scores, kept until every level is
/// scored.
struct Scored {
    desired: usize,
    segmentation: Arc<Segmentation>,
    masks: Array2<u8>,
    scores: Array2<f32>,
}

impl<S: Segmenter, P: Perturber, F: SurrogateFitter> MultiScaleLime<S, P, F> {
    /// [`Schedule::SharedPasses`](super::Schedule::SharedPasses): every
    /// level's passes scored, then every level fitted on all of them.
    pub(super) fn explain_shared<C: Classifier + ?Sized>(
        &self,
        run: &mut Run<'_, C>,
    ) -> Result<Fitted> {
        let mut scored: Vec<Scored> = Vec::with_capacity(self.settings.levels.len());
        self.score_groups(run, |_, plans, _, scores| {
            scored.extend(plans.into_iter().zip(scores).map(|(plan, scores)| Scored {
                desired: plan.desired,
                segmentation: plan.segmentation,
                masks: plan.masks,
                scores,
            }));
            Ok(())
        })?;
        let fits: Vec<Result<Vec<LevelExplanation>>> = (0..scored.len())
            .into_par_iter()
            .map(|l| self.fit_pooled(l, &scored, &run.targets))
            .collect();
        let levels = fits.into_iter().collect::<Result<Vec<_>>>()?;
        Ok((levels, scored.into_iter().map(|s| s.segmentation).collect()))
    }

    /// Level `l` fitted on the passes of every level, its own first.
    fn fit_pooled(
        &self,
        l: usize,
        scored: &[Scored],
        targets: &Targets,
    ) -> Result<Vec<LevelExplanation>> {
        let own = &scored[l];
        let k = own.segmentation.count();
        let rows: usize = scored.iter().map(|s| s.masks.nrows()).sum();
        self.settings.limits.check_masks(rows, k)?;
        let mut z = Array2::<f32>::zeros((rows, k));
        let mut ys = Array2::<f32>::zeros((rows, own.scores.ncols()));
        let mut at = 0;
        let order = std::iter::once(l).chain((0..scored.len()).filter(|&m| m != l));
        for m in order {
            let from = &scored[m];
            let n = from.masks.nrows();
            let features = project(from.masks.view(), &from.segmentation, &own.segmentation);
            z.slice_mut(ndarray::s![at..at + n, ..]).assign(&features);
            ys.slice_mut(ndarray::s![at..at + n, ..])
                .assign(&from.scores);
            at += n;
        }
        let weights = kernel_weights(z.view(), self.settings.kernel_width);
        let calls = own.masks.nrows();
        self.fit_features(
            own.desired,
            &own.segmentation,
            z,
            ys.view(),
            weights,
            calls,
            targets,
        )
    }
}

/// For each superpixel `j` of `from`, the `(k, share)` pairs: the share of
/// superpixel `k` of `to` that `j` covers (`|S_j ∩ T_k| / |T_k|`).
fn overlaps(from: &Segmentation, to: &Segmentation) -> Vec<Vec<(usize, f32)>> {
    let kt = to.count() as u64;
    let mut keys: Vec<u64> = from
        .as_slice()
        .iter()
        .zip(to.as_slice())
        .map(|(&a, &b)| u64::from(a) * kt + u64::from(b))
        .collect();
    keys.sort_unstable();
    let sizes = to.sizes();
    let mut out = vec![Vec::new(); from.count()];
    let mut i = 0;
    while i < keys.len() {
        let key = keys[i];
        let run = keys[i..].iter().take_while(|&&k| k == key).count();
        let (a, b) = ((key / kt) as usize, (key % kt) as usize);
        out[a].push((b, run as f32 / sizes[b] as f32));
        i += run;
    }
    out
}

/// The features of `masks` (passes drawn on `from`) as seen by `to`.
fn project(masks: ArrayView2<'_, u8>, from: &Segmentation, to: &Segmentation) -> Array2<f32> {
    if std::ptr::eq(from, to) {
        // A level's own passes: the masks themselves, without counting
        // every pixel against itself.
        return masks.mapv(|v| f32::from(u8::from(v != 0)));
    }
    let shares = overlaps(from, to);
    let mut x = Array2::<f32>::zeros((masks.nrows(), to.count()));
    for (row, mut out) in masks.rows().into_iter().zip(x.rows_mut()) {
        for (j, &z) in row.iter().enumerate() {
            if z != 0 {
                for &(k, share) in &shares[j] {
                    out[k] += share;
                }
            }
        }
    }
    // Sums of shares may exceed 1 by rounding.
    x.mapv_inplace(|v| v.min(1.0));
    x
}

/// LIME's kernel weight of each row of features: `d = 1 − √x̄`, for a
/// binary row exactly the kept count's cosine distance.
fn kernel_weights(features: ArrayView2<'_, f32>, width: f64) -> Array1<f64> {
    let k = features.ncols() as f64;
    features
        .rows()
        .into_iter()
        .map(|row| {
            let visible: f64 = row.iter().map(|&v| f64::from(v)).sum::<f64>() / k;
            exponential_kernel(1.0 - visible.sqrt(), width)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::cosine_distance;
    use ndarray::array;

    #[test]
    fn a_level_seen_from_itself_is_its_masks() {
        let seg = Segmentation::new(array![[0, 0, 1], [2, 2, 1]]).unwrap();
        let masks = array![[1u8, 1, 1], [0, 1, 0], [1, 0, 1]];
        let x = project(masks.view(), &seg, &seg);
        assert_eq!(x, masks.mapv(f32::from));
        // The same labels held elsewhere go through the overlap counts,
        // which agree.
        let copy = seg.clone();
        assert_eq!(project(masks.view(), &seg, &copy), x);
    }

    #[test]
    fn shares_of_a_finer_pass_on_a_coarser_level() {
        // Coarse: left half / right half; fine: four columns.
        let coarse = Segmentation::new(array![[0, 0, 1, 1], [0, 0, 1, 1]]).unwrap();
        let fine = Segmentation::new(array![[0, 1, 2, 3], [0, 1, 2, 3]]).unwrap();
        let masks = array![[1u8, 0, 1, 1], [0, 0, 0, 1]];
        let x = project(masks.view(), &fine, &coarse);
        assert_eq!(x, array![[0.5f32, 1.0], [0.0, 0.5]]);
        // And back: a coarse pass hides whole columns of the fine level.
        let x = project(array![[0u8, 1]].view(), &coarse, &fine);
        assert_eq!(x, array![[0.0f32, 0.0, 1.0, 1.0]]);
    }

    #[test]
    fn weights_of_binary_rows_are_lime_s_and_shares_count_what_is_visible() {
        let x = array![
            [1.0f32, 1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5, 0.5],
            [1.0, 1.0, 1.0, 1.0]
        ];
        let w = kernel_weights(x.view(), 0.25);
        let lime = exponential_kernel(cosine_distance(2, 4), 0.25);
        assert_eq!(w[0].to_bits(), lime.to_bits());
        // Half of everything visible weighs as half of the superpixels kept.
        assert_eq!(w[1].to_bits(), lime.to_bits());
        assert_eq!(w[2], 1.0);
    }
}
