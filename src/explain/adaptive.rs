//! [`Adaptive`]: samples added to each level in rounds until its map is
//! known well enough, the explainer's sample count being the budget.

use std::sync::Arc;

use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::scoring::{score_levels, LevelPlan};
use super::{Fitted, MultiScaleLime, Run};
use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::heatmap::LevelExplanation;
use crate::perturb::Perturber;
use crate::segment::{Segmentation, Segmenter};
use crate::surrogate::SurrogateFitter;

/// When an adaptive level has enough samples.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum StopRule {
    /// The level's heatmap is expected to correlate at least this much
    /// with another seed's ([`LevelExplanation::expected_stability`]), for
    /// every explained class.
    Stability(f64),
    /// The `k` highest coefficients' 90 % intervals lie above every other
    /// coefficient's (a level of at most `k` segments is settled at once),
    /// for every explained class.
    TopK(usize),
}

/// Adaptive sampling: each level starts with `start · s'` samples and adds
/// `step · s'` per round (the new masks scored in one pass for all levels
/// still open) until its [`StopRule`] holds or the explainer's sample count
/// ([`samples_per_segment`](crate::MultiScaleLimeBuilder::samples_per_segment)
/// or [`samples`](crate::MultiScaleLimeBuilder::samples)) is spent. The
/// rule reads the surrogate's standard errors, so the surrogate must give
/// them ([`Ridge`](crate::Ridge) does unless told not to).
///
/// A level's rounds draw from its own seeded stream one after the other,
/// so with [`Sampling::Independent`](crate::Sampling::Independent) a level
/// that stops at `n` samples has exactly the masks, and the map, of a
/// plain explanation with `n` samples; and the rounds depend only on the
/// fits, so the result is as bit-reproducible as the plain one.
///
/// ```
/// use multiscale_lime::{Adaptive, FnClassifier, Image, MultiScaleLime, Preset, SquareGrid, Target};
/// use ndarray::{Array2, Array3};
///
/// // A nearly linear score: the fine level settles long before its budget.
/// let image = Image::new(Array3::from_elem((8, 8, 3), 0.8))?;
/// let clf = FnClassifier::new(1, |b| {
///     Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| b[[i, 0, 0, 0]] + 0.5 * b[[i, 7, 7, 0]]))
/// });
/// let lime = MultiScaleLime::preset(Preset::Paper)
///     .segmenter(SquareGrid)
///     .levels([4, 16])
///     .schedule(Adaptive::stability(0.98)?)
///     .build()?;
/// let explanation = lime.explain(&image, &clf, Target::Class(0))?;
/// for level in explanation.stacks()[0].levels() {
///     let budget = 10 * level.segmentation.count(); // the paper's 10 · s'
///     let settled = level.expected_stability().unwrap() >= 0.98;
///     assert!(level.calls <= budget && (settled || level.calls == budget));
/// }
/// assert!(explanation.stacks()[0].levels()[1].calls < 160);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptive {
    rule: StopRule,
    start: usize,
    step: usize,
}

impl Adaptive {
    /// Stop a level once its map's expected seed-to-seed Pearson
    /// correlation reaches `target` ([`StopRule::Stability`]); starting
    /// with 2 samples per segment, adding 1 per round.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < target < 1`.
    pub fn stability(target: f64) -> Result<Self> {
        if !(target > 0.0 && target < 1.0) {
            return Err(Error::invalid(
                "adaptive stability",
                target,
                "a correlation in (0, 1)",
            ));
        }
        Ok(Adaptive {
            rule: StopRule::Stability(target),
            start: 2,
            step: 1,
        })
    }

    /// Stop a level once its `k` top segments are separated from the rest
    /// at 90 % ([`StopRule::TopK`]); starting with 2 samples per segment,
    /// adding 1 per round.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `k = 0`.
    pub fn top_k(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("adaptive top k", k, "at least 1"));
        }
        Ok(Adaptive {
            rule: StopRule::TopK(k),
            start: 2,
            step: 1,
        })
    }

    /// Samples per segment of the first round (default 2).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_start(mut self, per_segment: usize) -> Result<Self> {
        if per_segment == 0 {
            return Err(Error::invalid("adaptive start", per_segment, "at least 1"));
        }
        self.start = per_segment;
        Ok(self)
    }

    /// Samples per segment added each round (default 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_step(mut self, per_segment: usize) -> Result<Self> {
        if per_segment == 0 {
            return Err(Error::invalid("adaptive step", per_segment, "at least 1"));
        }
        self.step = per_segment;
        Ok(self)
    }

    /// The stopping rule.
    pub fn rule(&self) -> StopRule {
        self.rule
    }

    /// Samples per segment of the first round.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Samples per segment added each round.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Rows of a level of `segments` segments in its first round, within
    /// the budget (at least the unperturbed image and one mask).
    pub(crate) fn first_rows(&self, segments: usize, budget: usize) -> usize {
        self.start.saturating_mul(segments).max(2).min(budget)
    }

    /// Rows the next round adds to a level that has `rows` of `budget`.
    pub(crate) fn next_rows(&self, segments: usize, rows: usize, budget: usize) -> usize {
        self.step
            .saturating_mul(segments)
            .max(1)
            .min(budget.saturating_sub(rows))
    }

    /// Whether a level whose fits (one per explained class) are `fits` has
    /// enough samples.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a fit with more samples than
    /// parameters has no standard errors: the surrogate does not give them
    /// and the rule cannot be read.
    pub(crate) fn settled(&self, fits: &[LevelExplanation]) -> Result<bool> {
        for fit in fits {
            let Some(se) = &fit.std_errors else {
                if fit.samples > fit.actual + 1 {
                    return Err(Error::invalid(
                        "adaptive",
                        "a surrogate without standard errors",
                        "a surrogate that gives standard errors (Ridge with std_errors(true))",
                    ));
                }
                return Ok(false);
            };
            let settled = match self.rule {
                StopRule::Stability(target) => fit.expected_stability().unwrap_or(0.0) >= target,
                StopRule::TopK(k) => top_k_separated(fit.coefficients.as_slice(), se, k),
            };
            if !settled {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl<S: Segmenter, P: Perturber, F: SurrogateFitter> MultiScaleLime<S, P, F> {
    /// [`Schedule::Adaptive`](super::Schedule::Adaptive): each group of
    /// levels scored in rounds ([`refine`](Self::refine)).
    pub(super) fn explain_adaptive<C: Classifier + ?Sized>(
        &self,
        run: &mut Run<'_, C>,
        adaptive: &Adaptive,
    ) -> Result<Fitted> {
        let mut levels = Vec::with_capacity(self.settings.levels.len());
        let mut segmentations = Vec::with_capacity(self.settings.levels.len());
        self.score_groups(run, |run, plans, rngs, scores| {
            for (fits, seg) in self.refine(adaptive, run, plans, rngs, scores)? {
                levels.push(fits);
                segmentations.push(seg);
            }
            Ok(())
        })?;
        Ok((levels, segmentations))
    }

    /// Adaptive sampling: fits every open level on its rows so far, closes
    /// those whose rule holds or whose budget is spent, and scores the next
    /// round of the others together, until none is open. Returns each
    /// level's fits and segmentation, in level order.
    fn refine<C: Classifier + ?Sized>(
        &self,
        adaptive: &Adaptive,
        run: &Run<'_, C>,
        mut plans: Vec<LevelPlan>,
        mut rngs: Vec<ChaCha8Rng>,
        mut scores: Vec<Array2<f32>>,
    ) -> Result<Vec<(Vec<LevelExplanation>, Arc<Segmentation>)>> {
        let budgets: Vec<usize> = plans
            .iter()
            .map(|p| self.settings.samples.for_segments(p.segmentation.count()))
            .collect();
        let mut masks: Vec<Array2<u8>> = plans
            .iter_mut()
            .map(|p| std::mem::take(&mut p.masks))
            .collect();
        let mut done: Vec<Option<Vec<LevelExplanation>>> = vec![None; plans.len()];
        loop {
            let open: Vec<usize> = (0..plans.len()).filter(|&l| done[l].is_none()).collect();
            let fits: Vec<Result<(Vec<LevelExplanation>, bool)>> = open
                .par_iter()
                .map(|&l| {
                    let plan = &plans[l];
                    let fits = self.fit_level(
                        plan.desired,
                        &plan.segmentation,
                        masks[l].view(),
                        scores[l].view(),
                        &run.targets,
                    )?;
                    let closed = masks[l].nrows() >= budgets[l] || adaptive.settled(&fits)?;
                    Ok((fits, closed))
                })
                .collect();
            for (&l, fit) in open.iter().zip(fits) {
                let (fits, closed) = fit?;
                if closed {
                    done[l] = Some(fits);
                }
            }
            if done.iter().all(Option::is_some) {
                break;
            }
            // The next round of every open level; closed levels score nothing.
            for (l, plan) in plans.iter_mut().enumerate() {
                let k = plan.segmentation.count();
                plan.masks = if done[l].is_some() {
                    Array2::zeros((0, k))
                } else {
                    let add = adaptive.next_rows(k, masks[l].nrows(), budgets[l]);
                    // Row 0 of a draw is the unperturbed image, already scored.
                    let drawn = self.draw_masks(k, add + 1, &mut rngs[l])?;
                    drawn.slice(ndarray::s![1.., ..]).to_owned()
                };
            }
            let added = score_levels(
                &self.perturber,
                run.image,
                run.classifier,
                &plans,
                run.batch,
            )?;
            for (l, (plan, new)) in plans.iter().zip(added).enumerate() {
                if plan.masks.nrows() > 0 {
                    masks[l] = ndarray::concatenate![Axis(0), masks[l], plan.masks];
                    scores[l] = ndarray::concatenate![Axis(0), scores[l], new];
                }
            }
        }
        Ok(done
            .into_iter()
            .zip(plans)
            .map(|(fits, plan)| (fits.unwrap_or_default(), plan.segmentation))
            .collect())
    }
}

/// Whether the `k` largest coefficients' lower 90 % bounds are all above
/// every other coefficient's upper bound.
fn top_k_separated(coefficients: Option<&[f64]>, se: &ndarray::Array1<f64>, k: usize) -> bool {
    const Z90: f64 = 1.644_853_626_951_472_2;
    let Some(b) = coefficients else {
        return false;
    };
    if b.len() <= k {
        return true;
    }
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by(|&i, &j| b[j].total_cmp(&b[i]).then(i.cmp(&j)));
    let lowest_top = order[..k]
        .iter()
        .map(|&i| b[i] - Z90 * se[i])
        .fold(f64::INFINITY, f64::min);
    let highest_rest = order[k..]
        .iter()
        .map(|&i| b[i] + Z90 * se[i])
        .fold(f64::NEG_INFINITY, f64::max);
    lowest_top > highest_rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        for bad in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
            assert!(Adaptive::stability(bad).is_err(), "{bad}");
        }
        assert!(Adaptive::top_k(0).is_err());
        let a = Adaptive::stability(0.9).unwrap();
        assert!(a.with_start(0).is_err() && a.with_step(0).is_err());
        let a = a.with_start(4).unwrap().with_step(3).unwrap();
        assert_eq!(
            (a.start(), a.step(), a.rule()),
            (4, 3, StopRule::Stability(0.9))
        );
    }

    #[test]
    fn rounds_stay_within_the_budget() {
        let a = Adaptive::top_k(3).unwrap().with_step(2).unwrap();
        assert_eq!(a.first_rows(10, 100), 20);
        assert_eq!(a.first_rows(1, 100), 2);
        assert_eq!(a.first_rows(10, 15), 15);
        assert_eq!(a.next_rows(10, 20, 100), 20);
        assert_eq!(a.next_rows(10, 90, 100), 10);
        assert_eq!(a.next_rows(10, 100, 100), 0);
    }

    #[test]
    fn top_k_separation_by_hand() {
        let se = ndarray::arr1(&[0.1, 0.1, 0.1, 0.1]);
        let b = [1.0, 0.2, 0.9, 0.0];
        // Top two {0, 2}: lowest bound 0.9 − 0.164 = 0.736 > 0.2 + 0.164.
        assert!(top_k_separated(Some(&b), &se, 2));
        // Top one {0}: 0.836 < 0.9 + 0.164: not separated from segment 2.
        assert!(!top_k_separated(Some(&b), &se, 1));
        assert!(top_k_separated(Some(&b), &se, 4));
        assert!(top_k_separated(Some(&b), &ndarray::arr1(&[0.0; 4]), 1));
    }
}
