//! The multi-scale LIME pipeline: [`MultiScaleLime::builder`] →
//! [`MultiScaleLime::explain`] → [`Explanation`].
//!
//! - `options`: what to explain and how many samples and images per call;
//! - `limits`: the memory bounds, checked before allocating;
//! - `builder`: the unchecked settings and `build`;
//! - `adaptive`: rounds of samples until a level's map is settled;
//! - `scoring`: perturbed images rendered in reused batches and scored, in
//!   the order `render_order` finds;
//! - `explanation`: the result.

mod adaptive;
mod builder;
mod explanation;
mod limits;
mod options;
mod pooling;
mod render_order;
mod response;
mod scoring;

pub use adaptive::{Adaptive, StopRule};
pub use builder::MultiScaleLimeBuilder;
pub use explanation::Explanation;
pub use limits::Limits;
pub use options::{BatchSize, SampleCount, Target};
pub use response::Response;

use std::sync::Arc;

use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::heatmap::{Heatmap, HeatmapStack, LevelExplanation, Normalization};
use crate::input::Image;
use crate::kernel::{cosine_distance, exponential_kernel};
use crate::perturb::{BernoulliPerturber, Perturber};
use crate::rng::level_rng;
use crate::segment::{Segmentation, Segmenter, Slic};
use crate::surrogate::{Ridge, SurrogateFitter};
use explanation::argsort_desc;
use options::Settings;
use rand_chacha::ChaCha8Rng;
use scoring::{check_scores, score_levels, LevelPlan};

/// A validated multi-scale LIME explainer. Immutable, `Send + Sync`: build
/// it once and explain many images, from many threads if you like.
///
/// # Parameters
/// | Name | Default | Range | Purpose |
/// |---|---|---|---|
/// | `levels` | `[10, 25, 50, 100, 200]` | non-empty, each ≥ 1 | desired segments per level |
/// | `compactness` | 5 | finite, > 0 | SLIC colour/space balance |
/// | `samples_per_segment` / `samples` | 10 per segment | ≥ 2 | perturbations per level |
/// | `kernel_width` | 0.25 | finite, > 0 | proximity kernel width |
/// | `batch_size` | [`BatchSize::Auto`] (≈ 1 MiB) | ≥ 1 | images per classifier call |
/// | `seed` | 0 | any | all randomness |
/// | `normalization` | `MinMax` | | coefficient → heatmap |
/// | `hide_color` | black | RGB in `[0, 1]`, mean, blur | what hidden segments show |
/// | `adaptive` | none | [`Adaptive`] | rounds of samples until each level is settled |
/// | `limits` | [`Limits::default`] | each ≥ 1 | memory bounds, checked before allocating |
/// | `segmenter` | `Slic` | | superpixels per level |
/// | `perturber` | `BernoulliPerturber` (0.5, black) | | masks and hide colour |
/// | `surrogate` | `Ridge` (α = 1) | | local linear model |
///
/// Only a built (validated) explainer can explain:
/// ```compile_fail
/// use multiscale_lime::MultiScaleLime;
/// let unchecked = MultiScaleLime::builder();
/// let _ = unchecked.explain(todo!(), todo!(), todo!());
/// ```
///
/// # Example
/// ```
/// use multiscale_lime::{Combiner, FnClassifier, Image, MultiScaleLime, SquareGrid, Target, Trapezoid};
/// use ndarray::{Array2, Array3, Axis};
///
/// // A classifier that only looks at the top-left quarter's brightness.
/// let clf = FnClassifier::new(1, |batch| {
///     let n = batch.dim().0;
///     Ok(Array2::from_shape_fn((n, 1), |(i, _)| {
///         batch.index_axis(Axis(0), i).slice(ndarray::s![..8, ..8, ..]).mean().unwrap_or(0.0)
///     }))
/// });
/// let image = Image::new(Array3::from_elem((16, 16, 3), 0.8))?;
/// let lime = MultiScaleLime::builder()
///     .segmenter(SquareGrid)
///     .levels([4, 16])
///     .seed(42)
///     .build()?;
/// let explanation = lime.explain(&image, &clf, Target::Class(0))?;
/// let combined = Trapezoid.combine(&explanation.stacks()[0])?;
/// let map = combined.heatmap.values();
/// assert!(map[[2, 2]] > map[[12, 12]]);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiScaleLime<S = Slic, P = BernoulliPerturber, F = Ridge> {
    settings: Settings,
    segmenter: S,
    perturber: P,
    surrogate: F,
}

impl MultiScaleLime {
    /// A builder with the paper's defaults (see the table above).
    pub fn builder() -> MultiScaleLimeBuilder {
        MultiScaleLimeBuilder::default()
    }
}

impl<S: Clone, P: Clone, F: Clone> MultiScaleLime<S, P, F> {
    /// The same explainer with another seed (every other parameter stays
    /// validated).
    #[must_use]
    pub fn with_seed(&self, seed: u64) -> Self {
        let mut other = self.clone();
        other.settings.seed = seed;
        other
    }
}

/// Up to this size all levels are segmented side by side and their batches
/// scored in one pass; above it, one level at a time, so that one fill image
/// and one segmenter working set (some 50 bytes per pixel for SLIC) are held
/// at a time, not one per level.
const LEVELS_TOGETHER_MAX_PIXELS: usize = 1 << 20;

impl<S: Segmenter, P: Perturber, F: SurrogateFitter> MultiScaleLime<S, P, F> {
    /// Desired segment counts per level.
    pub fn levels(&self) -> &[usize] {
        &self.settings.levels
    }
    /// Samples per level.
    pub fn sample_count(&self) -> SampleCount {
        self.settings.samples
    }
    /// Kernel width.
    pub fn kernel_width(&self) -> f64 {
        self.settings.kernel_width
    }
    /// Images per classifier call.
    pub fn batch_size(&self) -> BatchSize {
        self.settings.batch_size
    }

    /// Whether every level is fitted on the passes of all levels.
    pub fn shares_passes(&self) -> bool {
        self.settings.share_passes
    }

    /// What each level's surrogate regresses ([`Response`]).
    pub fn response(&self) -> Response {
        self.settings.response
    }

    /// The adaptive sampling rule, if any.
    pub fn adaptive(&self) -> Option<Adaptive> {
        self.settings.adaptive
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.settings.seed
    }
    /// Coefficient normalisation.
    pub fn normalization(&self) -> Normalization {
        self.settings.normalization
    }
    /// The bounds on what one explanation may allocate.
    pub fn limits(&self) -> Limits {
        self.settings.limits
    }
    /// The segmenter.
    pub fn segmenter(&self) -> &S {
        &self.segmenter
    }
    /// The perturber.
    pub fn perturber(&self) -> &P {
        &self.perturber
    }
    /// The surrogate fitter.
    pub fn surrogate(&self) -> &F {
        &self.surrogate
    }

    /// Explains `classifier`'s decision on `image` at every level.
    ///
    /// Segments every level and draws its masks from the level's own seeded
    /// stream; scores the perturbed images of all levels in batches, in one
    /// parallel pass (each worker renders into a reused buffer, so memory is
    /// bounded by the batch size, not the sample count); then, per level,
    /// weights samples by the proximity kernel, fits the surrogate for every
    /// target class and paints the normalised coefficients. The result is
    /// bit-identical for a given seed whatever the thread count or batch
    /// size, provided the classifier scores each image independently of its
    /// batch. Errors are reported in level order. Images above one
    /// megapixel are explained one level at a time, which bounds memory.
    ///
    /// # Errors
    /// - [`Error::SegmentCount`] when a level asks for more segments than the
    ///   image has pixels;
    /// - [`Error::LimitExceeded`] when the image, a level's segments, its
    ///   mask entries or a batch buffer would exceed the [`Limits`] (checked
    ///   before allocating for them);
    /// - [`Error::Target`] for a class or `k` the classifier does not have;
    /// - [`Error::InvalidParameter`] when the classifier reports 0 classes;
    /// - [`Error::Classifier`], [`Error::ClassifierOutput`],
    ///   [`Error::ClassifierNonFinite`] for a failing or misbehaving classifier;
    /// - errors of the segmenter, perturber and surrogate.
    pub fn explain<C: Classifier + ?Sized>(
        &self,
        image: &Image,
        classifier: &C,
        target: Target,
    ) -> Result<Explanation> {
        let classes = classifier.num_classes();
        if classes == 0 {
            return Err(Error::invalid(
                "num_classes",
                0,
                "a classifier with at least 1 class",
            ));
        }
        match target {
            Target::Class(c) if c >= classes => {
                return Err(Error::Target {
                    what: "class",
                    value: c,
                    classes,
                })
            }
            Target::TopLabels(k) if k == 0 || k > classes => {
                return Err(Error::Target {
                    what: "top labels",
                    value: k,
                    classes,
                })
            }
            _ => {}
        }

        let limits = self.settings.limits;
        limits.check_pixels(image.pixels())?;
        let original = image.view().insert_axis(Axis(0));
        let scores = classifier.predict(original)?;
        check_scores(&scores, 1, classes)?;
        let prediction = scores.row(0).to_owned();
        let ranked = argsort_desc(prediction.view());
        let targets: Vec<usize> = match target {
            Target::Predicted => ranked[..1].to_vec(),
            Target::Class(c) => vec![c],
            Target::TopLabels(k) => ranked[..k].to_vec(),
        };

        // Three phases so that both cores stay busy with a slow classifier:
        // the levels' segmentations and masks, then the batches of all those
        // levels in one parallel pass, then the fits. Large images go one
        // level at a time instead, which bounds memory (one fill image, one
        // segmenter working set) and costs no idle core: their levels have
        // many batches each. Each level draws from its own seeded stream, so
        // the grouping changes no bit.
        let levels = &self.settings.levels;
        let group = if image.pixels() <= LEVELS_TOGETHER_MAX_PIXELS {
            levels.len()
        } else {
            1
        };
        let batch = self.settings.batch_size.images_for(
            image.height(),
            image.width(),
            classifier.preferred_batch_size(),
        );
        let mut per_class: Vec<Vec<LevelExplanation>> = vec![Vec::new(); targets.len()];
        let mut segmentations = Vec::with_capacity(levels.len());
        let mut scored: Vec<Scored> = Vec::new();
        for first in (0..levels.len()).step_by(group) {
            let last = (first + group).min(levels.len());
            let desired = &levels[first..last];
            let segmented = self.segmenter.segment_levels(image, desired);
            if segmented.len() != desired.len() {
                return Err(Error::inconsistent(
                    "segmenter",
                    format!(
                        "segment_levels returned {} results for {} levels",
                        segmented.len(),
                        desired.len()
                    ),
                ));
            }
            let plans: Vec<Result<(LevelPlan, ChaCha8Rng)>> = segmented
                .into_par_iter()
                .enumerate()
                .map(|(i, seg)| self.plan_level(image, first + i, desired[i], seg?))
                .collect();
            let (plans, rngs): (Vec<LevelPlan>, Vec<ChaCha8Rng>) = plans
                .into_iter()
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .unzip();
            let rows = plans.iter().map(|p| p.masks.nrows()).max().unwrap_or(0);
            limits.check_batch(batch.min(rows), image.height(), image.width())?;
            let scores = score_levels(&self.perturber, image, classifier, &plans, batch)?;
            if let Some(adaptive) = self.settings.adaptive {
                let fits = self.refine(
                    &adaptive, image, classifier, plans, rngs, scores, batch, &targets,
                )?;
                for (level_fits, seg) in fits {
                    for (stack, level_fit) in per_class.iter_mut().zip(level_fits) {
                        stack.push(level_fit);
                    }
                    segmentations.push(seg);
                }
                continue;
            }
            if self.settings.share_passes {
                // Fitted once every level's passes are scored.
                scored.extend(plans.into_iter().zip(scores).map(|(plan, scores)| Scored {
                    desired: plan.desired,
                    segmentation: plan.segmentation,
                    masks: plan.masks,
                    scores,
                }));
                continue;
            }
            let fits: Vec<Result<Vec<LevelExplanation>>> = plans
                .par_iter()
                .zip(&scores)
                .map(|(plan, scores)| {
                    self.fit_level(
                        plan.desired,
                        &plan.segmentation,
                        plan.masks.view(),
                        scores.view(),
                        &targets,
                    )
                })
                .collect();
            for level_fits in fits {
                for (stack, level_fit) in per_class.iter_mut().zip(level_fits?) {
                    stack.push(level_fit);
                }
            }
            segmentations.extend(plans.into_iter().map(|p| p.segmentation));
        }
        if self.settings.share_passes {
            let fits: Vec<Result<Vec<LevelExplanation>>> = (0..scored.len())
                .into_par_iter()
                .map(|l| self.fit_pooled(l, &scored, &targets))
                .collect();
            for level_fits in fits {
                for (stack, level_fit) in per_class.iter_mut().zip(level_fits?) {
                    stack.push(level_fit);
                }
            }
            segmentations.extend(scored.into_iter().map(|s| s.segmentation));
        }
        let stacks = targets
            .iter()
            .zip(per_class)
            .map(|(&class, levels)| HeatmapStack::new(class, levels))
            .collect();
        Ok(Explanation {
            prediction,
            stacks,
            segmentations,
        })
    }

    /// Draws one level's masks (with adaptive sampling, its first round's)
    /// and fill for its segmentation; returns the level's stream for later
    /// rounds.
    fn plan_level(
        &self,
        image: &Image,
        level: usize,
        desired: usize,
        seg: Segmentation,
    ) -> Result<(LevelPlan, ChaCha8Rng)> {
        let seg = Arc::new(seg);
        seg.check_fits(image)?;
        let k = seg.count();
        let n = self.settings.samples.for_segments(k);
        // Before the masks, the fill and the fits allocate for n and k.
        let limits = self.settings.limits;
        limits.check_segments(k)?;
        limits.check_masks(n, k)?;
        let mut rng = level_rng(self.settings.seed, level);
        let rows = match self.settings.adaptive {
            Some(adaptive) => adaptive.first_rows(k, n),
            None => n,
        };
        let masks = self.draw_masks(k, rows, &mut rng)?;
        let fill = self.perturber.fill(image, &seg)?;
        let plan = LevelPlan {
            desired,
            segmentation: seg,
            masks,
            fill,
        };
        Ok((plan, rng))
    }

    /// `n × k` masks from the perturber, checked.
    fn draw_masks(&self, k: usize, n: usize, rng: &mut ChaCha8Rng) -> Result<Array2<u8>> {
        let masks = self.perturber.masks(k, n, rng)?;
        if masks.dim() != (n, k) || masks.row(0).iter().any(|&v| v == 0) {
            return Err(Error::inconsistent(
                "perturber",
                format!(
                    "masks must be {n}×{k} with row 0 all ones, got {:?}",
                    masks.dim()
                ),
            ));
        }
        Ok(masks)
    }

    /// Adaptive sampling: fits every open level on its rows so far, closes
    /// those whose rule holds or whose budget is spent, and scores the next
    /// round of the others together, until none is open. Returns each
    /// level's fits and segmentation, in level order.
    #[allow(clippy::too_many_arguments)]
    fn refine<C: Classifier + ?Sized>(
        &self,
        adaptive: &Adaptive,
        image: &Image,
        classifier: &C,
        mut plans: Vec<LevelPlan>,
        mut rngs: Vec<ChaCha8Rng>,
        mut scores: Vec<Array2<f32>>,
        batch: usize,
        targets: &[usize],
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
                        targets,
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
            let added = score_levels(&self.perturber, image, classifier, &plans, batch)?;
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

    /// Weights the samples, fits the surrogate for every target and paints
    /// the normalised coefficients.
    fn fit_level(
        &self,
        desired: usize,
        seg: &Arc<Segmentation>,
        masks: ndarray::ArrayView2<'_, u8>,
        scores: ndarray::ArrayView2<'_, f32>,
        targets: &[usize],
    ) -> Result<Vec<LevelExplanation>> {
        let (n, k) = masks.dim();
        let width = self.settings.kernel_width;
        let weights: Array1<f64> = masks
            .rows()
            .into_iter()
            .map(|row| {
                let kept = row.iter().filter(|&&v| v != 0).count();
                exponential_kernel(cosine_distance(kept, k), width)
            })
            .collect();
        let z = masks.mapv(|v| f32::from(u8::from(v != 0)));
        self.fit_features(desired, seg, z, scores, weights, n, targets)
    }

    /// Level `l` fitted on the passes of every level (`pooling`), its own
    /// first.
    fn fit_pooled(
        &self,
        l: usize,
        scored: &[Scored],
        targets: &[usize],
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
            let features =
                pooling::project(from.masks.view(), &from.segmentation, &own.segmentation);
            z.slice_mut(ndarray::s![at..at + n, ..]).assign(&features);
            ys.slice_mut(ndarray::s![at..at + n, ..])
                .assign(&from.scores);
            at += n;
        }
        let weights = pooling::kernel_weights(z.view(), self.settings.kernel_width);
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

    /// Fits the surrogate to features `z` (one row per scored image) and
    /// the scores of `targets`, and paints the normalised coefficients.
    #[allow(clippy::too_many_arguments)]
    fn fit_features(
        &self,
        desired: usize,
        seg: &Arc<Segmentation>,
        z: Array2<f32>,
        scores: ndarray::ArrayView2<'_, f32>,
        weights: Array1<f64>,
        calls: usize,
        targets: &[usize],
    ) -> Result<Vec<LevelExplanation>> {
        let (n, k) = z.dim();
        let response = self.settings.response;
        let mut ys = Array2::<f64>::zeros((n, targets.len()));
        for ((i, t), y) in ys.indexed_iter_mut() {
            let value = scores[[i, targets[t]]];
            *y = response
                .apply(value)
                .ok_or(Error::ClassifierNotProbability {
                    image: i,
                    class: targets[t],
                    value,
                })?;
        }
        let fits = self
            .surrogate
            .fit_many(z.view(), ys.view(), weights.view())?;
        if fits.len() != targets.len() || fits.iter().any(|f| f.coefficients.len() != k) {
            return Err(Error::inconsistent(
                "surrogate",
                format!("expected {} fits of {k} coefficients", targets.len()),
            ));
        }
        if let Some(c) = fits
            .iter()
            .flat_map(|f| &f.coefficients)
            .find(|c| !c.is_finite())
        {
            return Err(Error::inconsistent(
                "surrogate",
                format!("a coefficient is {c}; a heatmap needs finite ones"),
            ));
        }
        fits.into_iter()
            .map(|fit| {
                // `to_vec` also reads a surrogate's strided coefficients.
                let values = self
                    .settings
                    .normalization
                    .apply(&fit.coefficients.to_vec());
                Ok(LevelExplanation {
                    desired,
                    actual: k,
                    segmentation: Arc::clone(seg),
                    samples: n,
                    calls,
                    heatmap: Heatmap::paint(seg, &values)?,
                    coefficients: fit.coefficients,
                    intercept: fit.intercept,
                    score: fit.score,
                    local_prediction: fit.local_prediction,
                    std_errors: fit.std_errors,
                })
            })
            .collect()
    }
}

/// A level's segmentation, masks and scores, kept until every level is
/// scored when passes are shared.
struct Scored {
    desired: usize,
    segmentation: Arc<Segmentation>,
    masks: Array2<u8>,
    scores: Array2<f32>,
}
