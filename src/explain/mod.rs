//! The multi-scale LIME pipeline: [`MultiScaleLime::builder`] →
//! [`MultiScaleLime::explain`] → [`Explanation`].
//!
//! - `config`: every setting as plain data, the presets and the text forms;
//! - `options`: what to explain and how many samples and images per call;
//! - `limits`: the memory bounds, checked before allocating;
//! - `builder`: the unchecked settings and `build`;
//! - `schedule`: how model calls are spent across the levels, each
//!   schedule's algorithm beside it: per level (here), `pooling` (shared
//!   passes) and `adaptive` (rounds until a level's map is settled);
//! - `scoring`: perturbed images rendered in reused batches and scored, in
//!   the order `render_order` finds;
//! - `explanation`: the result.

mod adaptive;
mod builder;
mod config;
mod explanation;
mod limits;
mod options;
mod pooling;
mod render_order;
mod response;
mod schedule;
mod scoring;

pub use adaptive::{Adaptive, StopRule};
pub use builder::MultiScaleLimeBuilder;
pub use config::{Config, Preset, Setting};
pub use explanation::Explanation;
pub use limits::Limits;
pub use options::{BatchSize, SampleCount, Target};
pub use response::Response;
pub use schedule::Schedule;

use std::sync::Arc;

use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use crate::classify::Classifier;
use crate::combine::Fusion;
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
/// The defaults are [`Preset::Recommended`]'s; [`MultiScaleLime::preset`]
/// starts from another ([`Preset::Paper`]: the paper's setting).
///
/// | Name | Default | Range | Purpose |
/// |---|---|---|---|
/// | `levels` | `[10, 25, 50, 100, 200]` | non-empty, each ≥ 1 | desired segments per level |
/// | `compactness` | 20 (paper: 5) | finite, > 0 | SLIC colour/space balance |
/// | `samples_per_segment` / `samples` | 2 per segment (paper: 10) | ≥ 2 | perturbations per level |
/// | `sampling` | [`Sampling::Orthogonal`](crate::Sampling::Orthogonal) (paper: independent) | [`Sampling`](crate::Sampling) | how masks are drawn |
/// | `response` | [`Response::Auto`] (paper: score) | [`Response`] | what the surrogate regresses |
/// | `schedule` | [`Schedule::PerLevel`] | [`Schedule`] | how calls are spent across levels |
/// | `fusion` | [`Fusion::Density`] (paper: trapezoid) | [`Fusion`] | level heatmaps → [`Explanation::fused`] |
/// | `kernel_width` | 0.25 | finite, > 0 | proximity kernel width |
/// | `batch_size` | [`BatchSize::Auto`] (≈ 1 MiB) | ≥ 1 | images per classifier call |
/// | `seed` | 0 | any | all randomness |
/// | `normalization` | `MinMax` | | coefficient → heatmap |
/// | `hide_color` | black | RGB in `[0, 1]`, mean, blur | what hidden segments show |
/// | `limits` | [`Limits::default`] | each ≥ 1 | memory bounds, checked before allocating |
/// | `segmenter` | `Slic` | | superpixels per level |
/// | `perturber` | `BernoulliPerturber` (0.5, black, orthogonal) | | masks and hide colour |
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
/// // The explainer's own fusion rule (Density by default)…
/// let map = explanation.fused().heatmap.values();
/// assert!(map[[2, 2]] > map[[12, 12]]);
/// // …or any other.
/// let combined = Trapezoid.combine(&explanation.stacks()[0])?;
/// assert!(combined.heatmap.values()[[2, 2]] > combined.heatmap.values()[[12, 12]]);
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
    /// A builder with the defaults of the table above
    /// ([`Preset::Recommended`]).
    pub fn builder() -> MultiScaleLimeBuilder {
        MultiScaleLimeBuilder::default()
    }

    /// A builder starting from `preset`'s settings: `Preset::Paper` for
    /// the paper's setting exactly.
    ///
    /// ```
    /// use multiscale_lime::{Fusion, MultiScaleLime, Preset, Response, SampleCount};
    ///
    /// let paper = MultiScaleLime::preset(Preset::Paper).build()?;
    /// assert_eq!(paper.sample_count(), SampleCount::PerSegment(10));
    /// assert_eq!(paper.response(), Response::Score);
    /// assert_eq!(paper.fusion(), &Fusion::Trapezoid);
    /// assert_eq!(paper.segmenter().compactness(), 5.0);
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn preset(preset: Preset) -> MultiScaleLimeBuilder {
        preset.config().builder()
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

    /// How model calls are spent across the levels.
    pub fn schedule(&self) -> Schedule {
        self.settings.schedule
    }

    /// Whether every level is fitted on the passes of all levels
    /// ([`Schedule::SharedPasses`]).
    pub fn shares_passes(&self) -> bool {
        self.settings.schedule == Schedule::SharedPasses
    }

    /// What each level's surrogate regresses ([`Response`]; an
    /// explanation records what [`Response::Auto`] became).
    pub fn response(&self) -> Response {
        self.settings.response
    }

    /// The adaptive sampling rule, if the schedule is adaptive.
    pub fn adaptive(&self) -> Option<Adaptive> {
        self.settings.schedule.adaptive()
    }

    /// The fusion rule of [`Explanation::fused`].
    pub fn fusion(&self) -> &Fusion {
        &self.settings.fusion
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
        target.check(classes)?;
        self.settings.limits.check_pixels(image.pixels())?;
        let original = image.view().insert_axis(Axis(0));
        let scores = classifier.predict(original)?;
        check_scores(&scores, 1, classes)?;
        let prediction = scores.row(0).to_owned();
        let ranked = argsort_desc(prediction.view());
        let classes: Vec<usize> = match target {
            Target::Predicted => ranked[..1].to_vec(),
            Target::Class(c) => vec![c],
            Target::TopLabels(k) => ranked[..k].to_vec(),
        };
        // The response is settled on the unperturbed image: log-odds of a
        // score outside [0, 1] fail here, before any mask is scored; `Auto`
        // takes the log-odds only of a row of probabilities.
        let response = self.settings.response.resolve(prediction.iter().copied());
        for &class in &classes {
            response.check_original(class, prediction[class])?;
        }
        let mut run = Run {
            image,
            classifier,
            targets: Targets { classes, response },
            batch: self.settings.batch_size.images_for(
                image.height(),
                image.width(),
                classifier.preferred_batch_size(),
            ),
        };
        let (levels, segmentations) = match self.settings.schedule {
            Schedule::PerLevel => self.explain_per_level(&mut run)?,
            Schedule::SharedPasses => self.explain_shared(&mut run)?,
            Schedule::Adaptive(adaptive) => self.explain_adaptive(&mut run, &adaptive)?,
        };
        let stacks = stacks_by_class(&run.targets.classes, levels);
        Explanation::assemble(
            prediction,
            stacks,
            self.settings.fusion.clone(),
            run.targets.response,
            segmentations,
        )
    }

    /// Segments the levels, draws their first masks and scores them, a
    /// group of levels at a time (all together up to
    /// [`LEVELS_TOGETHER_MAX_PIXELS`], else one by one), and hands each
    /// group to `each` with the levels' streams for later rounds.
    ///
    /// Segmentations and masks first, then the batches of all the group's
    /// levels in one parallel pass, so that both cores stay busy with a
    /// slow classifier; large images go one level at a time instead, which
    /// bounds memory (one fill image, one segmenter working set) and costs
    /// no idle core: their levels have many batches each. Each level draws
    /// from its own seeded stream, so the grouping changes no bit.
    fn score_groups<C: Classifier + ?Sized>(
        &self,
        run: &mut Run<'_, C>,
        mut each: impl FnMut(
            &Run<'_, C>,
            Vec<LevelPlan>,
            Vec<ChaCha8Rng>,
            Vec<Array2<f32>>,
        ) -> Result<()>,
    ) -> Result<()> {
        let image = run.image;
        let levels = &self.settings.levels;
        let group = if image.pixels() <= LEVELS_TOGETHER_MAX_PIXELS {
            levels.len()
        } else {
            1
        };
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
            self.settings
                .limits
                .check_batch(run.batch.min(rows), image.height(), image.width())?;
            let scores = score_levels(&self.perturber, image, run.classifier, &plans, run.batch)?;
            let auto = self.settings.response == Response::Auto;
            if auto && first == 0 && run.targets.response == Response::LogOdds {
                let classes = &run.targets.classes;
                let outside = scores.iter().any(|s| {
                    classes
                        .iter()
                        .any(|&c| s.column(c).iter().any(|v| !(0.0..=1.0).contains(v)))
                });
                if outside {
                    run.targets.response = Response::Score;
                }
            }
            each(run, plans, rngs, scores)?;
        }
        Ok(())
    }

    /// [`Schedule::PerLevel`]: each level fitted on its own passes. Returns
    /// per level its fits (one per class) and its segmentation.
    fn explain_per_level<C: Classifier + ?Sized>(&self, run: &mut Run<'_, C>) -> Result<Fitted> {
        let mut levels = Vec::with_capacity(self.settings.levels.len());
        let mut segmentations = Vec::with_capacity(self.settings.levels.len());
        self.score_groups(run, |run, plans, _, scores| {
            let fits: Vec<Result<Vec<LevelExplanation>>> = plans
                .par_iter()
                .zip(&scores)
                .map(|(plan, scores)| {
                    self.fit_level(
                        plan.desired,
                        &plan.segmentation,
                        plan.masks.view(),
                        scores.view(),
                        &run.targets,
                    )
                })
                .collect();
            for level_fits in fits {
                levels.push(level_fits?);
            }
            segmentations.extend(plans.into_iter().map(|p| p.segmentation));
            Ok(())
        })?;
        Ok((levels, segmentations))
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
        let rows = match self.settings.schedule {
            Schedule::Adaptive(adaptive) => adaptive.first_rows(k, n),
            _ => n,
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

    /// Weights the samples, fits the surrogate for every target and paints
    /// the normalised coefficients.
    fn fit_level(
        &self,
        desired: usize,
        seg: &Arc<Segmentation>,
        masks: ndarray::ArrayView2<'_, u8>,
        scores: ndarray::ArrayView2<'_, f32>,
        targets: &Targets,
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
        targets: &Targets,
    ) -> Result<Vec<LevelExplanation>> {
        let (n, k) = z.dim();
        let classes = &targets.classes;
        let mut ys = Array2::<f64>::zeros((n, classes.len()));
        for ((i, t), y) in ys.indexed_iter_mut() {
            let value = scores[[i, classes[t]]];
            *y = targets
                .response
                .apply(value)
                .ok_or(Error::ClassifierNotProbability {
                    sample: i,
                    class: classes[t],
                    value,
                })?;
        }
        let fits = self
            .surrogate
            .fit_many(z.view(), ys.view(), weights.view())?;
        if fits.len() != classes.len() || fits.iter().any(|f| f.coefficients.len() != k) {
            return Err(Error::inconsistent(
                "surrogate",
                format!("expected {} fits of {k} coefficients", classes.len()),
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
                    r2: fit.r2,
                    local_prediction: fit.local_prediction,
                    std_errors: fit.std_errors,
                })
            })
            .collect()
    }
}

/// One explanation's inputs shared by every schedule.
struct Run<'a, C: ?Sized> {
    image: &'a Image,
    classifier: &'a C,
    targets: Targets,
    /// Images per classifier call.
    batch: usize,
}

/// The explained classes and what their surrogates regress.
struct Targets {
    classes: Vec<usize>,
    /// Resolved: never [`Response::Auto`].
    response: Response,
}

/// Per level, its fits (one per explained class); and the levels'
/// segmentations.
type Fitted = (Vec<Vec<LevelExplanation>>, Vec<Arc<Segmentation>>);

/// One stack per explained class from `levels`, which holds per level one
/// fit per class.
fn stacks_by_class(classes: &[usize], levels: Vec<Vec<LevelExplanation>>) -> Vec<HeatmapStack> {
    let mut per_class: Vec<Vec<LevelExplanation>> =
        vec![Vec::with_capacity(levels.len()); classes.len()];
    for level_fits in levels {
        for (stack, fit) in per_class.iter_mut().zip(level_fits) {
            stack.push(fit);
        }
    }
    classes
        .iter()
        .zip(per_class)
        .map(|(&class, levels)| HeatmapStack::new(class, levels))
        .collect()
}
