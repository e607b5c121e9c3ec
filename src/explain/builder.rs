//! [`MultiScaleLimeBuilder`]: settings in any order, checked once by
//! [`build`](MultiScaleLimeBuilder::build).

use super::options::BatchSize;
use super::Limits;
use super::{Adaptive, MultiScaleLime, Response, SampleCount};
use crate::error::{Error, Result};
use crate::heatmap::Normalization;
use crate::perturb::{BernoulliPerturber, HideColor, Perturber, Sampling};
use crate::segment::{Segmenter, Slic};
use crate::surrogate::{Ridge, SurrogateFitter};

/// Unvalidated configuration of [`MultiScaleLime`]: the explainer it will
/// become, held unchecked until [`build`](Self::build). See
/// [`MultiScaleLime::builder`] for the defaults.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MultiScaleLimeBuilder<S = Slic, P = BernoulliPerturber, F = Ridge> {
    config: MultiScaleLime<S, P, F>,
    /// A setter that validates on the spot (e.g. the compactness of
    /// [`Slic`]) leaves its error here; `build` returns it.
    pending: Option<Error>,
}

impl Default for MultiScaleLimeBuilder {
    fn default() -> Self {
        MultiScaleLimeBuilder {
            config: MultiScaleLime {
                settings: Default::default(),
                segmenter: Slic::default(),
                perturber: BernoulliPerturber::default(),
                surrogate: Ridge::default(),
            },
            pending: None,
        }
    }
}

impl<S, P, F> MultiScaleLimeBuilder<S, P, F> {
    fn defer(mut self, result: Result<()>) -> Self {
        if let Err(e) = result {
            self.pending.get_or_insert(e);
        }
        self
    }
}

impl<P, F> MultiScaleLimeBuilder<Slic, P, F> {
    /// SLIC compactness for every level (default 5, the paper's `c`).
    /// Available while the segmenter is [`Slic`]; checked by `build`.
    pub fn compactness(mut self, compactness: f64) -> Self {
        let checked = self.config.segmenter.with_compactness(compactness);
        let result = checked.map(|slic| self.config.segmenter = slic);
        self.defer(result)
    }
}

impl<S, F> MultiScaleLimeBuilder<S, BernoulliPerturber, F> {
    /// What hidden segments show (default black, the paper's). Available
    /// while the perturber is [`BernoulliPerturber`]; its keep probability
    /// stays. Checked by `build`.
    ///
    /// ```
    /// use multiscale_lime::{HideColor, MultiScaleLime};
    ///
    /// let lime = MultiScaleLime::builder()
    ///     .hide_color(HideColor::Constant([1.0; 3])) // white, a slide's background
    ///     .build()?;
    /// assert_eq!(lime.perturber().hide_color(), HideColor::Constant([1.0; 3]));
    /// assert!(MultiScaleLime::builder().hide_color(HideColor::Constant([2.0; 3])).build().is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn hide_color(mut self, hide_color: HideColor) -> Self {
        let current = self.config.perturber;
        let checked = BernoulliPerturber::new(current.keep_probability(), hide_color)
            .and_then(|p| p.with_sampling(current.sampling()));
        let result = checked.map(|p| self.config.perturber = p);
        self.defer(result)
    }

    /// How each level's masks are drawn (default [`Sampling::Independent`],
    /// the paper's), while the perturber is [`BernoulliPerturber`]; its keep
    /// probability and hide colour stay. Checked by `build`.
    ///
    /// ```
    /// use multiscale_lime::perturb::Sampling;
    /// use multiscale_lime::MultiScaleLime;
    ///
    /// let lime = MultiScaleLime::builder().sampling(Sampling::Antithetic).build()?;
    /// assert_eq!(lime.perturber().sampling(), Sampling::Antithetic);
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        let checked = self.config.perturber.with_sampling(sampling);
        let result = checked.map(|p| self.config.perturber = p);
        self.defer(result)
    }
}

impl<S, P, F> MultiScaleLimeBuilder<S, P, F> {
    /// Desired segment counts `s_1..s_L`, coarse to fine by convention
    /// (default `[10, 25, 50, 100, 200]`, for 96×96 patches).
    pub fn levels(mut self, levels: impl IntoIterator<Item = usize>) -> Self {
        self.config.settings.levels = levels.into_iter().collect();
        self
    }

    /// `n = per_segment · s'` samples per level (default 10, the paper's).
    pub fn samples_per_segment(mut self, per_segment: usize) -> Self {
        self.config.settings.samples = SampleCount::PerSegment(per_segment);
        self
    }

    /// The same number of samples `n` at every level (as `lime`'s `num_samples`).
    pub fn samples(mut self, n: usize) -> Self {
        self.config.settings.samples = SampleCount::Fixed(n);
        self
    }

    /// Width of LIME's exponential kernel on cosine distance (default 0.25).
    pub fn kernel_width(mut self, width: f64) -> Self {
        self.config.settings.kernel_width = width;
        self
    }

    /// Images per classifier call: a number, or [`BatchSize::Auto`] (the
    /// default: about 1 MiB of images, 1 to 64). Perturbed images exist only
    /// batch by batch: memory use is bounded by `images × H × W × 3 × 4`
    /// bytes per worker thread, whatever the sample count.
    pub fn batch_size(mut self, batch_size: impl Into<BatchSize>) -> Self {
        self.config.settings.batch_size = batch_size.into();
        self
    }

    /// The seed every random choice flows from (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.settings.seed = seed;
        self
    }

    /// How coefficients become heatmap values (default [`Normalization::MinMax`]).
    pub fn normalization(mut self, normalization: Normalization) -> Self {
        self.config.settings.normalization = normalization;
        self
    }

    /// What each level's surrogate regresses (default
    /// [`Response::Score`], the paper's: the score as it is). With
    /// [`Response::LogOdds`] it regresses `ln(p / (1 − p))` of a
    /// probability-scoring classifier, which a sigmoid or softmax model's
    /// additive evidence fits far better: as stable a map from a fraction
    /// of the samples. The classifier's scores must then lie in `[0, 1]`
    /// ([`Error::ClassifierNotProbability`](crate::Error::ClassifierNotProbability)
    /// otherwise).
    ///
    /// ```
    /// use multiscale_lime::{Error, FnClassifier, Image, MultiScaleLime, Response, SquareGrid, Target};
    /// use ndarray::{Array2, Array3};
    ///
    /// // A logistic model of two corners' brightness.
    /// let image = Image::new(Array3::from_elem((8, 8, 3), 0.9))?;
    /// let clf = FnClassifier::new(1, |b| {
    ///     Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| {
    ///         let evidence = 4.0 * b[[i, 0, 0, 0]] + 2.0 * b[[i, 7, 7, 0]] - 3.0;
    ///         1.0 / (1.0 + (-evidence).exp())
    ///     }))
    /// });
    /// let lime = MultiScaleLime::builder()
    ///     .segmenter(SquareGrid)
    ///     .levels([4])
    ///     .samples_per_segment(5)
    ///     .response(Response::LogOdds)
    ///     .build()?;
    /// let explanation = lime.explain(&image, &clf, Target::Class(0))?;
    /// let level = &explanation.stacks()[0].levels()[0];
    /// // The log-odds are linear in the masks: corner 0 weighs about twice
    /// // corner 3 (the ridge shrinks both), the two others nothing.
    /// let b = &level.coefficients;
    /// assert!(b[0] > 1.5 * b[3] && b[3] > 10.0 * b[1].abs().max(b[2].abs()));
    ///
    /// // A model returning logits has no log-odds to take.
    /// let logits = FnClassifier::new(1, |b| Ok(Array2::from_elem((b.dim().0, 1), 2.5)));
    /// let err = lime.explain(&image, &logits, Target::Class(0)).unwrap_err();
    /// assert!(matches!(err, Error::ClassifierNotProbability { value, .. } if value == 2.5));
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn response(mut self, response: Response) -> Self {
        self.config.settings.response = response;
        self
    }

    /// Fit every level on the passes of all levels (default false: each
    /// level on its own `n`, the paper's): a pass drawn at one level is
    /// seen by every other as the share of each of its superpixels left
    /// visible, so each level learns from the model calls of all, at no
    /// extra call. `LevelExplanation::samples` is then the rows fitted and
    /// `LevelExplanation::calls` the level's own passes.
    ///
    /// ```
    /// use multiscale_lime::MultiScaleLime;
    ///
    /// let lime = MultiScaleLime::builder().share_passes(true).samples_per_segment(5).build()?;
    /// assert!(lime.shares_passes());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn share_passes(mut self, on: bool) -> Self {
        self.config.settings.share_passes = on;
        self
    }

    /// Add samples to each level in rounds until its map is settled
    /// ([`Adaptive`]); the sample count
    /// ([`samples_per_segment`](Self::samples_per_segment), [`samples`](Self::samples))
    /// becomes the budget. Default: none, every level draws its whole
    /// sample count (the paper's). Not with [`share_passes`](Self::share_passes).
    ///
    /// ```
    /// use multiscale_lime::{Adaptive, MultiScaleLime};
    ///
    /// let lime = MultiScaleLime::builder().adaptive(Adaptive::stability(0.98)?).build()?;
    /// assert_eq!(lime.adaptive(), Some(Adaptive::stability(0.98)?));
    /// assert!(MultiScaleLime::builder()
    ///     .adaptive(Adaptive::top_k(5)?)
    ///     .share_passes(true)
    ///     .build()
    ///     .is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn adaptive(mut self, adaptive: Adaptive) -> Self {
        self.config.settings.adaptive = Some(adaptive);
        self
    }

    /// Bounds on what one explanation may allocate (default
    /// [`Limits::default`]: a 4096² image with the paper's settings).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.settings.limits = limits;
        self
    }

    /// Replaces the segmenter (default [`Slic`] with compactness 5).
    pub fn segmenter<S2: Segmenter>(self, segmenter: S2) -> MultiScaleLimeBuilder<S2, P, F> {
        self.replace_parts(|_, p, f| (segmenter, p, f))
    }

    /// Replaces the perturber (default [`BernoulliPerturber`]: keep 0.5, black).
    pub fn perturber<P2: Perturber>(self, perturber: P2) -> MultiScaleLimeBuilder<S, P2, F> {
        self.replace_parts(|s, _, f| (s, perturber, f))
    }

    /// Replaces the surrogate (default [`Ridge`] with `alpha = 1`).
    pub fn surrogate<F2: SurrogateFitter>(self, surrogate: F2) -> MultiScaleLimeBuilder<S, P, F2> {
        self.replace_parts(|s, p, _| (s, p, surrogate))
    }

    /// The same settings with other components (the type-changing setters).
    fn replace_parts<S2, P2, F2>(
        self,
        parts: impl FnOnce(S, P, F) -> (S2, P2, F2),
    ) -> MultiScaleLimeBuilder<S2, P2, F2> {
        let MultiScaleLime {
            settings,
            segmenter,
            perturber,
            surrogate,
        } = self.config;
        let (segmenter, perturber, surrogate) = parts(segmenter, perturber, surrogate);
        MultiScaleLimeBuilder {
            config: MultiScaleLime {
                settings,
                segmenter,
                perturber,
                surrogate,
            },
            pending: self.pending,
        }
    }

    /// Validates every parameter.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for: no levels or a level of 0; fewer
    /// than 2 samples (per segment or fixed); a kernel width that is not
    /// finite and > 0; a batch size of 0; an invalid compactness or hide
    /// colour (the first such setter's error); a limit of 0; adaptive
    /// sampling with shared passes.
    /// [`Error::LimitExceeded`] for a level asking for more segments than
    /// [`Limits::max_segments`].
    pub fn build(self) -> Result<MultiScaleLime<S, P, F>>
    where
        S: Segmenter,
        P: Perturber,
        F: SurrogateFitter,
    {
        if let Some(e) = self.pending {
            return Err(e);
        }
        self.config.settings.validate()?;
        Ok(self.config)
    }
}
