//! The multi-scale LIME pipeline: builder, validated configuration and
//! [`MultiScaleLime::explain`].

use std::sync::{Arc, Mutex};

use ndarray::{s, Array1, Array2, Array4, Axis};
use rayon::prelude::*;

use crate::classify::Classifier;
use crate::combine::{CombinedHeatmap, Combiner};
use crate::error::{Error, Result};
use crate::heatmap::{Heatmap, HeatmapStack, LevelExplanation, Normalization};
use crate::image::Image;
use crate::kernel::{cosine_distance, exponential_kernel};
use crate::perturb::{BernoulliPerturber, Perturber};
use crate::render_order::render_order;
use crate::rng::level_rng;
use crate::segment::{Segmentation, Segmenter, Slic};
use crate::surrogate::{Ridge, SurrogateFitter};

/// Which classes to explain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The class with the highest score on the original image.
    #[default]
    Predicted,
    /// One given class.
    Class(usize),
    /// The `k` highest-scoring classes, explained from one set of forward
    /// passes (ties: lower class index first).
    TopLabels(usize),
}

/// How many perturbed samples each level draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleCount {
    /// `n = per_segment · s'` (the paper: 10 · s').
    PerSegment(usize),
    /// The same `n` at every level.
    Fixed(usize),
}

impl SampleCount {
    fn for_segments(self, segments: usize) -> usize {
        match self {
            SampleCount::PerSegment(m) => m.saturating_mul(segments),
            SampleCount::Fixed(n) => n,
        }
    }
}

/// How many perturbed images go to the classifier per call.
///
/// The explainer renders a batch, hands it to the classifier, and reuses the
/// buffer for the next batch. With a cheap classifier, an explanation costs
/// mostly memory traffic, which is lowest when a batch (plus the image)
/// stays in the CPU cache; [`Auto`](BatchSize::Auto) sizes batches for that.
/// A model on an accelerator usually wants [`Fixed`](BatchSize::Fixed)
/// batches as large as its memory allows.
///
/// ```
/// use multiscale_lime::BatchSize;
///
/// assert_eq!(BatchSize::Auto.images(96, 96), 9); // 108 KiB per image
/// assert_eq!(BatchSize::Auto.images(512, 512), 1); // 3 MiB per image
/// assert_eq!(BatchSize::Auto.images(8, 8), 64);
/// assert_eq!(BatchSize::Fixed(10).images(512, 512), 10);
/// assert_eq!(BatchSize::from(10), BatchSize::Fixed(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BatchSize {
    /// As many `H×W×3` `f32` images as fit in [`BatchSize::AUTO_BYTES`],
    /// at least 1 and at most [`BatchSize::AUTO_MAX`] (the default).
    #[default]
    Auto,
    /// Exactly this many images per call (a level's last batch may be
    /// smaller); must be ≥ 1.
    Fixed(usize),
}

impl BatchSize {
    /// Bytes of images per automatic batch: 1 MiB, which with the image
    /// itself stays within a core's share of the cache (a cheap
    /// classifier's explanation of a 96² patch runs 5–8 % faster with 4 to
    /// 9 images per batch than with 37).
    pub const AUTO_BYTES: usize = 1 << 20;
    /// Most images per automatic batch.
    pub const AUTO_MAX: usize = 64;

    /// Images per classifier call for an image of `height × width` pixels.
    pub fn images(self, height: usize, width: usize) -> usize {
        match self {
            BatchSize::Fixed(n) => n,
            BatchSize::Auto => {
                let bytes = height
                    .saturating_mul(width)
                    .saturating_mul(3 * std::mem::size_of::<f32>());
                (Self::AUTO_BYTES / bytes.max(1)).clamp(1, Self::AUTO_MAX)
            }
        }
    }
}

impl From<usize> for BatchSize {
    fn from(n: usize) -> Self {
        BatchSize::Fixed(n)
    }
}

/// Unvalidated configuration of [`MultiScaleLime`]; see
/// [`MultiScaleLime::builder`] for the defaults and [`build`](Self::build)
/// for the checks.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MultiScaleLimeBuilder<S = Slic, P = BernoulliPerturber, F = Ridge> {
    levels: Vec<usize>,
    samples: SampleCount,
    kernel_width: f64,
    batch_size: BatchSize,
    seed: u64,
    normalization: Normalization,
    segmenter: S,
    perturber: P,
    surrogate: F,
    pending: Option<Error>,
}

impl Default for MultiScaleLimeBuilder {
    fn default() -> Self {
        MultiScaleLimeBuilder {
            levels: vec![10, 25, 50, 100, 200],
            samples: SampleCount::PerSegment(10),
            kernel_width: 0.25,
            batch_size: BatchSize::Auto,
            seed: 0,
            normalization: Normalization::MinMax,
            segmenter: Slic::default(),
            perturber: BernoulliPerturber::default(),
            surrogate: Ridge::default(),
            pending: None,
        }
    }
}

impl<P, F> MultiScaleLimeBuilder<Slic, P, F> {
    /// SLIC compactness for every level (default 5, the paper's `c`).
    /// Available while the segmenter is [`Slic`]; checked by `build`.
    pub fn compactness(mut self, compactness: f64) -> Self {
        match self.segmenter.with_compactness(compactness) {
            Ok(slic) => self.segmenter = slic,
            Err(e) => self.pending = Some(e),
        }
        self
    }
}

impl<S, P, F> MultiScaleLimeBuilder<S, P, F> {
    /// Desired segment counts `s_1..s_L`, coarse to fine by convention
    /// (default `[10, 25, 50, 100, 200]`, for 96×96 patches).
    pub fn levels(mut self, levels: impl IntoIterator<Item = usize>) -> Self {
        self.levels = levels.into_iter().collect();
        self
    }

    /// `n = per_segment · s'` samples per level (default 10, the paper's).
    pub fn samples_per_segment(mut self, per_segment: usize) -> Self {
        self.samples = SampleCount::PerSegment(per_segment);
        self
    }

    /// The same number of samples `n` at every level (as `lime`'s `num_samples`).
    pub fn samples(mut self, n: usize) -> Self {
        self.samples = SampleCount::Fixed(n);
        self
    }

    /// Width of LIME's exponential kernel on cosine distance (default 0.25).
    pub fn kernel_width(mut self, width: f64) -> Self {
        self.kernel_width = width;
        self
    }

    /// Images per classifier call: a number, or [`BatchSize::Auto`] (the
    /// default: about 1 MiB of images, 1 to 64). Perturbed images exist only
    /// batch by batch: memory use is bounded by `images × H × W × 3 × 4`
    /// bytes per worker thread, whatever the sample count.
    pub fn batch_size(mut self, batch_size: impl Into<BatchSize>) -> Self {
        self.batch_size = batch_size.into();
        self
    }

    /// The seed every random choice flows from (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How coefficients become heatmap values (default [`Normalization::MinMax`]).
    pub fn normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Replaces the segmenter (default [`Slic`] with compactness 5).
    pub fn segmenter<S2: Segmenter>(self, segmenter: S2) -> MultiScaleLimeBuilder<S2, P, F> {
        MultiScaleLimeBuilder {
            levels: self.levels,
            samples: self.samples,
            kernel_width: self.kernel_width,
            batch_size: self.batch_size,
            seed: self.seed,
            normalization: self.normalization,
            segmenter,
            perturber: self.perturber,
            surrogate: self.surrogate,
            pending: self.pending,
        }
    }

    /// Replaces the perturber (default [`BernoulliPerturber`]: keep 0.5, black).
    pub fn perturber<P2: Perturber>(self, perturber: P2) -> MultiScaleLimeBuilder<S, P2, F> {
        MultiScaleLimeBuilder {
            levels: self.levels,
            samples: self.samples,
            kernel_width: self.kernel_width,
            batch_size: self.batch_size,
            seed: self.seed,
            normalization: self.normalization,
            segmenter: self.segmenter,
            perturber,
            surrogate: self.surrogate,
            pending: self.pending,
        }
    }

    /// Replaces the surrogate (default [`Ridge`] with `alpha = 1`).
    pub fn surrogate<F2: SurrogateFitter>(self, surrogate: F2) -> MultiScaleLimeBuilder<S, P, F2> {
        MultiScaleLimeBuilder {
            levels: self.levels,
            samples: self.samples,
            kernel_width: self.kernel_width,
            batch_size: self.batch_size,
            seed: self.seed,
            normalization: self.normalization,
            segmenter: self.segmenter,
            perturber: self.perturber,
            surrogate,
            pending: self.pending,
        }
    }

    /// Validates every parameter.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for: no levels or a level of 0; fewer
    /// than 2 samples (per segment or fixed); a kernel width that is not
    /// finite and > 0; a batch size of 0; an invalid compactness.
    pub fn build(self) -> Result<MultiScaleLime<S, P, F>>
    where
        S: Segmenter,
        P: Perturber,
        F: SurrogateFitter,
    {
        if let Some(e) = self.pending {
            return Err(e);
        }
        if self.levels.is_empty() || self.levels.contains(&0) {
            return Err(Error::invalid(
                "levels",
                format!("{:?}", self.levels),
                "at least one level, each asking for ≥ 1 segment",
            ));
        }
        let n = match self.samples {
            SampleCount::PerSegment(m) | SampleCount::Fixed(m) => m,
        };
        if n < 2 {
            return Err(Error::invalid("samples", n, "at least 2"));
        }
        if !(self.kernel_width.is_finite() && self.kernel_width > 0.0) {
            return Err(Error::invalid(
                "kernel_width",
                self.kernel_width,
                "a finite value > 0",
            ));
        }
        if self.batch_size == BatchSize::Fixed(0) {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        Ok(MultiScaleLime {
            levels: self.levels,
            samples: self.samples,
            kernel_width: self.kernel_width,
            batch_size: self.batch_size,
            seed: self.seed,
            normalization: self.normalization,
            segmenter: self.segmenter,
            perturber: self.perturber,
            surrogate: self.surrogate,
        })
    }
}

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
/// use multiscale_lime::{FnClassifier, Image, MultiScaleLime, SquareGrid, Target, Trapezoid};
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
/// let combined = explanation.combine(&Trapezoid)?;
/// let map = combined.heatmap.values();
/// assert!(map[[2, 2]] > map[[12, 12]]);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiScaleLime<S = Slic, P = BernoulliPerturber, F = Ridge> {
    levels: Vec<usize>,
    samples: SampleCount,
    kernel_width: f64,
    batch_size: BatchSize,
    seed: u64,
    normalization: Normalization,
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
        MultiScaleLime {
            seed,
            ..self.clone()
        }
    }
}

/// The result of [`MultiScaleLime::explain`].
#[derive(Debug, Clone)]
pub struct Explanation {
    prediction: Array1<f32>,
    stacks: Vec<HeatmapStack>,
    segmentations: Vec<Arc<Segmentation>>,
}

impl Explanation {
    /// The classifier's scores on the original image.
    pub fn prediction(&self) -> &Array1<f32> {
        &self.prediction
    }

    /// The highest-scoring class on the original image (lowest index on ties).
    pub fn predicted_class(&self) -> usize {
        argsort_desc(self.prediction.as_slice().unwrap_or(&[]))
            .first()
            .copied()
            .unwrap_or(0)
    }

    /// One stack per explained class, in target order (for
    /// [`Target::TopLabels`]: best first).
    pub fn stacks(&self) -> &[HeatmapStack] {
        &self.stacks
    }

    /// The stack of `class`, if it was explained.
    pub fn stack(&self, class: usize) -> Option<&HeatmapStack> {
        self.stacks.iter().find(|s| s.class() == class)
    }

    /// The segmentation of each level, in request order.
    pub fn segmentations(&self) -> &[Arc<Segmentation>] {
        &self.segmentations
    }

    /// Fuses the levels of the first explained class.
    ///
    /// # Errors
    /// As [`Combiner::combine`].
    pub fn combine<C: Combiner + ?Sized>(&self, combiner: &C) -> Result<CombinedHeatmap> {
        match self.stacks.first() {
            Some(stack) => combiner.combine(stack),
            None => Err(Error::inconsistent(
                "combine",
                "the explanation has no class",
            )),
        }
    }
}

fn argsort_desc(scores: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

fn check_scores(scores: &Array2<f32>, rows: usize, classes: usize) -> Result<()> {
    if scores.dim() != (rows, classes) {
        return Err(Error::ClassifierOutput {
            expected: (rows, classes),
            got: scores.dim(),
        });
    }
    if let Some(((image, class), &value)) = scores.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::ClassifierNonFinite {
            image,
            class,
            value,
        });
    }
    Ok(())
}

impl<S: Segmenter, P: Perturber, F: SurrogateFitter> MultiScaleLime<S, P, F> {
    /// Desired segment counts per level.
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }
    /// Samples per level.
    pub fn sample_count(&self) -> SampleCount {
        self.samples
    }
    /// Kernel width.
    pub fn kernel_width(&self) -> f64 {
        self.kernel_width
    }
    /// Images per classifier call.
    pub fn batch_size(&self) -> BatchSize {
        self.batch_size
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Coefficient normalisation.
    pub fn normalization(&self) -> Normalization {
        self.normalization
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

        let original = image.view().insert_axis(Axis(0));
        let scores = classifier.predict(original)?;
        check_scores(&scores, 1, classes)?;
        let prediction = scores.row(0).to_owned();
        let ranked = argsort_desc(prediction.as_slice().unwrap_or(&[]));
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
        let group = if image.pixels() <= LEVELS_TOGETHER_MAX_PIXELS {
            self.levels.len()
        } else {
            1
        };
        let mut per_class: Vec<Vec<LevelExplanation>> = vec![Vec::new(); targets.len()];
        let mut segmentations = Vec::with_capacity(self.levels.len());
        for first in (0..self.levels.len()).step_by(group) {
            let last = (first + group).min(self.levels.len());
            let desired = &self.levels[first..last];
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
            let plans: Vec<Result<LevelPlan>> = segmented
                .into_par_iter()
                .enumerate()
                .map(|(i, seg)| self.plan_level(image, first + i, desired[i], seg?))
                .collect();
            let plans: Vec<LevelPlan> = plans.into_iter().collect::<Result<_>>()?;
            let scores = self.score_levels(image, classifier, &plans)?;
            let fits: Vec<Result<Vec<LevelExplanation>>> = plans
                .par_iter()
                .zip(&scores)
                .map(|(plan, scores)| self.fit_level(plan, scores, &targets))
                .collect();
            for level_fits in fits {
                for (stack, level_fit) in per_class.iter_mut().zip(level_fits?) {
                    stack.push(level_fit);
                }
            }
            segmentations.extend(plans.into_iter().map(|p| p.segmentation));
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

    /// Draws one level's masks and fill image for its segmentation.
    fn plan_level(
        &self,
        image: &Image,
        level: usize,
        desired: usize,
        seg: Segmentation,
    ) -> Result<LevelPlan> {
        let seg = Arc::new(seg);
        seg.check_fits(image)?;
        let k = seg.count();
        let n = self.samples.for_segments(k);
        let mut rng = level_rng(self.seed, level);
        let masks = self.perturber.masks(k, n, &mut rng)?;
        if masks.dim() != (n, k) || masks.row(0).iter().any(|&v| v == 0) {
            return Err(Error::inconsistent(
                "perturber",
                format!(
                    "masks must be {n}×{k} with row 0 all ones, got {:?}",
                    masks.dim()
                ),
            ));
        }
        let fill = self.perturber.fill(image, &seg)?;
        Ok(LevelPlan {
            desired,
            segmentation: seg,
            masks,
            fill,
        })
    }

    /// Weights the samples, fits the surrogate for every target and paints
    /// the normalised coefficients.
    fn fit_level(
        &self,
        plan: &LevelPlan,
        scores: &Array2<f32>,
        targets: &[usize],
    ) -> Result<Vec<LevelExplanation>> {
        let (seg, masks) = (&plan.segmentation, &plan.masks);
        let (n, k) = masks.dim();
        let weights: Array1<f64> = masks
            .rows()
            .into_iter()
            .map(|row| {
                let kept = row.iter().filter(|&&v| v != 0).count();
                exponential_kernel(cosine_distance(kept, k), self.kernel_width)
            })
            .collect();
        let ys = Array2::from_shape_fn((n, targets.len()), |(i, t)| {
            f64::from(scores[[i, targets[t]]])
        });
        let z = masks.mapv(|v| f32::from(u8::from(v != 0)));
        let fits = self
            .surrogate
            .fit_many(z.view(), ys.view(), weights.view())?;
        if fits.len() != targets.len() || fits.iter().any(|f| f.coefficients.len() != k) {
            return Err(Error::inconsistent(
                "surrogate",
                format!("expected {} fits of {k} coefficients", targets.len()),
            ));
        }
        Ok(fits
            .into_iter()
            .map(|fit| {
                let values = self
                    .normalization
                    .apply(fit.coefficients.as_slice().unwrap_or(&[]));
                LevelExplanation {
                    desired: plan.desired,
                    actual: k,
                    segmentation: Arc::clone(seg),
                    samples: n,
                    heatmap: Heatmap::paint(seg, &values),
                    coefficients: fit.coefficients,
                    intercept: fit.intercept,
                    score: fit.score,
                    local_prediction: fit.local_prediction,
                }
            })
            .collect())
    }

    /// Scores every mask row of every level, `batch_size` images at a time.
    /// The batches of all levels form one parallel pass (a coarse level is
    /// often a single small batch, which alone would leave cores idle); each
    /// worker renders into one reused buffer, rows in the order of
    /// [`render_order`] so that each slot changes little from one batch to
    /// the next. Scores go back to the rows' places.
    fn score_levels<C: Classifier + ?Sized>(
        &self,
        image: &Image,
        classifier: &C,
        plans: &[LevelPlan],
    ) -> Result<Vec<Array2<f32>>> {
        let classes = classifier.num_classes();
        let (h, w) = (image.height(), image.width());
        let batch = self.batch_size.images(h, w).max(1);
        let jobs: Vec<(usize, usize, usize)> = plans
            .iter()
            .enumerate()
            .flat_map(|(level, plan)| {
                let n = plan.masks.nrows();
                (0..n)
                    .step_by(batch)
                    .map(move |start| (level, start, (start + batch).min(n)))
            })
            .collect();
        // Per level: the render order and the mask rows in that order.
        let (orders, ordered): (Vec<Vec<usize>>, Vec<Array2<u8>>) = plans
            .par_iter()
            .map(|plan| {
                let order = render_order(plan.masks.view(), batch);
                let masks = plan.masks.select(Axis(0), &order);
                (order, masks)
            })
            .unzip();
        let largest = jobs.iter().map(|&(_, a, b)| b - a).max().unwrap_or(0);
        let pool = BufferPool {
            shape: (largest, h, w, 3),
            free: Mutex::new(Vec::new()),
        };
        let results: Vec<Result<Array2<f32>>> = jobs
            .par_iter()
            .map_init(
                || pool.take(),
                |buffer, &(level, start, end)| {
                    let plan = &plans[level];
                    let (seg, fill, masks) = (&plan.segmentation, &plan.fill, &ordered[level]);
                    let rows = end - start;
                    let mut view = buffer.images.slice_mut(s![..rows, .., .., ..]);
                    // Rows that hold this level's images of an earlier batch
                    // need only the segments whose mask entry changed.
                    let reused = match buffer.held.take() {
                        Some((held_level, held_start, held_end)) if held_level == level => {
                            let common = rows.min(held_end - held_start);
                            self.perturber.render_over(
                                image,
                                seg,
                                fill,
                                masks.slice(s![start..start + common, ..]),
                                masks.slice(s![held_start..held_start + common, ..]),
                                view.slice_mut(s![..common, .., .., ..]),
                            )?;
                            common
                        }
                        _ => 0,
                    };
                    if reused < rows {
                        self.perturber.render(
                            image,
                            seg,
                            fill,
                            masks.slice(s![start + reused..end, ..]),
                            view.slice_mut(s![reused.., .., .., ..]),
                        )?;
                    }
                    buffer.held = Some((level, start, end));
                    let out = classifier.predict(view.view())?;
                    check_scores(&out, rows, classes)?;
                    Ok(out)
                },
            )
            .collect();
        let mut scores: Vec<Array2<f32>> = plans
            .iter()
            .map(|p| Array2::<f32>::zeros((p.masks.nrows(), classes)))
            .collect();
        for (&(level, start, _), part) in jobs.iter().zip(results) {
            let part = part?;
            for (row, &to) in part.rows().into_iter().zip(&orders[level][start..]) {
                scores[level].row_mut(to).assign(&row);
            }
        }
        Ok(scores)
    }
}

/// Batch buffers passed from one rayon job to the next. rayon calls
/// `map_init`'s init once per job it splits off (8 to 16 times in one pass
/// here), and a fresh buffer of 64 large images costs its size again in page
/// faults; with the pool a pass allocates about one buffer per thread.
struct BufferPool {
    shape: (usize, usize, usize, usize),
    free: Mutex<Vec<(Array4<f32>, Option<Held>)>>,
}

/// Which images a buffer's first rows hold: level and mask rows `start..end`.
type Held = (usize, usize, usize);

impl BufferPool {
    fn take(&self) -> PooledBuffer<'_> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let (images, held) = reused.unwrap_or_else(|| (Array4::zeros(self.shape), None));
        PooledBuffer {
            images,
            held,
            pool: self,
        }
    }
}

/// A buffer that returns to its pool, with what it holds, when its job ends.
struct PooledBuffer<'a> {
    images: Array4<f32>,
    held: Option<Held>,
    pool: &'a BufferPool,
}

impl Drop for PooledBuffer<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.pool.free.lock() {
            free.push((std::mem::take(&mut self.images), self.held));
        }
    }
}

/// Up to this size all levels are segmented side by side and their batches
/// scored in one pass; above it, one level at a time, so that one fill image
/// and one segmenter working set (some 50 bytes per pixel for SLIC) are held
/// at a time, not one per level.
const LEVELS_TOGETHER_MAX_PIXELS: usize = 1 << 20;

/// One level's inputs to scoring and fitting.
struct LevelPlan {
    desired: usize,
    segmentation: Arc<Segmentation>,
    masks: Array2<u8>,
    fill: Image,
}
