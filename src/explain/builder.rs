//! [`MultiScaleLimeBuilder`]: settings in any order, checked once by
//! [`build`](MultiScaleLimeBuilder::build).

use super::config::Config;
use super::options::{BatchSize, Settings};
use super::Limits;
use super::{MultiScaleLime, Response, SampleCount, Schedule};
use crate::combine::Fusion;
use crate::error::{Error, Result};
use crate::heatmap::Normalization;
use crate::perturb::{BernoulliPerturber, HideColor, Perturber, Sampling};
use crate::segment::{Segmenter, Slic};
use crate::surrogate::{Ridge, SurrogateFitter};

/// Unvalidated configuration of [`MultiScaleLime`]: the explainer it will
/// become, held unchecked until [`build`](Self::build). See
/// [`MultiScaleLime::builder`] for the defaults.
///
/// Setters may come in any order, and none is silently dropped: a setting
/// made on a component (the compactness of [`Slic`], the hide colour or
/// sampling of [`BernoulliPerturber`]) followed by a replacement of that
/// component is an error at `build`, since the new component would not
/// carry it.
///
/// ```
/// use multiscale_lime::{MultiScaleLime, SquareGrid};
///
/// assert!(MultiScaleLime::builder().compactness(10.0).segmenter(SquareGrid).build().is_err());
/// assert!(MultiScaleLime::builder().segmenter(SquareGrid).build().is_ok());
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MultiScaleLimeBuilder<S = Slic, P = BernoulliPerturber, F = Ridge> {
    config: MultiScaleLime<S, P, F>,
    /// A setter that validates on the spot (e.g. the compactness of
    /// [`Slic`]) leaves its error here; `build` returns it.
    pending: Option<Error>,
    /// The setter that last configured the segmenter, which replacing the
    /// segmenter would drop.
    on_segmenter: Option<&'static str>,
    /// The same for the perturber.
    on_perturber: Option<&'static str>,
}

impl Default for MultiScaleLimeBuilder {
    /// [`Config::default`]'s builder: the [`Preset::Recommended`](crate::Preset::Recommended) settings.
    fn default() -> Self {
        Config::default().builder()
    }
}

impl MultiScaleLimeBuilder {
    /// A builder holding `config`'s settings; a value that does not
    /// validate is reported by `build`.
    pub(crate) fn from_config(config: &Config) -> Self {
        let mut pending = None;
        let mut keep = |r: Result<()>| {
            if let Err(e) = r {
                pending.get_or_insert(e);
            }
        };
        let mut segmenter = Slic::default();
        keep(
            segmenter
                .with_compactness(config.compactness)
                .map(|s| segmenter = s),
        );
        let mut perturber = BernoulliPerturber::default();
        keep(
            BernoulliPerturber::new(perturber.keep_probability(), config.hide_color)
                .and_then(|p| p.with_sampling(config.sampling))
                .map(|p| perturber = p),
        );
        let mut surrogate = Ridge::default();
        keep(Ridge::new(config.ridge_alpha).map(|r| surrogate = r));
        let settings = Settings {
            levels: config.levels.clone(),
            samples: config.samples,
            kernel_width: config.kernel_width,
            batch_size: config.batch_size,
            seed: config.seed,
            normalization: config.normalization,
            limits: config.limits,
            schedule: config.schedule,
            response: config.response,
            fusion: config.fusion.clone(),
        };
        MultiScaleLimeBuilder {
            config: MultiScaleLime {
                settings,
                segmenter,
                perturber,
                surrogate,
            },
            pending,
            on_segmenter: None,
            on_perturber: None,
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
    /// SLIC compactness for every level (default 20; the paper's `c` is 5).
    /// Available while the segmenter is [`Slic`]; checked by `build`.
    pub fn compactness(mut self, compactness: f64) -> Self {
        let checked = self.config.segmenter.with_compactness(compactness);
        let result = checked.map(|slic| self.config.segmenter = slic);
        self.on_segmenter = Some("compactness");
        self.defer(result)
    }
}

impl<S, F> MultiScaleLimeBuilder<S, BernoulliPerturber, F> {
    /// What hidden segments show (default black, the paper's). Available
    /// while the perturber is [`BernoulliPerturber`]; its keep probability
    /// and sampling stay. Checked by `build`.
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
        self.on_perturber = Some("hide_color");
        self.defer(result)
    }

    /// How each level's masks are drawn (default [`Sampling::Orthogonal`];
    /// the paper's is [`Sampling::Independent`]), while the perturber is
    /// [`BernoulliPerturber`]; its keep probability and hide colour stay.
    /// Checked by `build`.
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
        self.on_perturber = Some("sampling");
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

    /// `n = per_segment · s'` samples per level (default 2; the paper's 10).
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

    /// What each level's surrogate regresses (default [`Response::Auto`]:
    /// the log-odds of a model that scores the image as a probability, the
    /// score of any other; the paper's is [`Response::Score`], the score as
    /// it is). With [`Response::LogOdds`] it regresses `ln(p / (1 − p))` of a
    /// probability-scoring classifier, which a sigmoid or softmax model's
    /// additive evidence fits far better: as stable a map from a fraction
    /// of the samples. The classifier's scores must then lie in `[0, 1]`
    /// ([`Error::ClassifierNotProbability`](crate::Error::ClassifierNotProbability)
    /// otherwise: from the unperturbed image's scores before any mask is
    /// scored, or from the first perturbed score outside `[0, 1]`).
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
    ///     .sampling(multiscale_lime::Sampling::Independent)
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

    /// How model calls are spent across the levels (default
    /// [`Schedule::PerLevel`], the paper's): every level on its own passes,
    /// every level on the passes of all ([`Schedule::SharedPasses`]: a pass
    /// drawn at one level is seen by every other as the share of each of its
    /// superpixels left visible, so each level learns from the model calls
    /// of all, at no extra call; `LevelExplanation::samples` is then the
    /// rows fitted and `LevelExplanation::calls` the level's own passes),
    /// or in rounds until each level's map is settled
    /// ([`Schedule::Adaptive`], the sample count being the budget; the
    /// surrogate must give standard errors).
    ///
    /// ```
    /// use multiscale_lime::{Adaptive, MultiScaleLime, Ridge, Schedule};
    ///
    /// let lime = MultiScaleLime::builder().schedule(Schedule::SharedPasses).build()?;
    /// assert_eq!(lime.schedule(), Schedule::SharedPasses);
    /// let adaptive = Schedule::Adaptive(Adaptive::stability(0.98)?);
    /// assert_eq!(MultiScaleLime::builder().schedule(adaptive).build()?.adaptive(), adaptive.adaptive());
    /// // Adaptive rounds read standard errors: refused up front without them.
    /// let no_se = Ridge::default().std_errors(false);
    /// assert!(MultiScaleLime::builder().schedule(adaptive).surrogate(no_se).build().is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn schedule(mut self, schedule: impl Into<Schedule>) -> Self {
        self.config.settings.schedule = schedule.into();
        self
    }

    /// How each explained class's level heatmaps are fused into
    /// [`Explanation::fused`](crate::Explanation::fused) (default
    /// [`Fusion::Density`]; the paper's is [`Fusion::Trapezoid`]).
    ///
    /// ```
    /// use multiscale_lime::{Fusion, MultiScaleLime};
    ///
    /// let lime = MultiScaleLime::builder().fusion(Fusion::Trapezoid).build()?;
    /// assert_eq!(lime.fusion(), &Fusion::Trapezoid);
    /// // Weights are checked against the levels.
    /// assert!(MultiScaleLime::builder().levels([4, 16]).fusion(Fusion::Weights(vec![1.0])).build().is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn fusion(mut self, fusion: Fusion) -> Self {
        self.config.settings.fusion = fusion;
        self
    }

    /// Bounds on what one explanation may allocate (default
    /// [`Limits::default`]: a 4096² image with the paper's settings).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.settings.limits = limits;
        self
    }

    /// Replaces the segmenter (default [`Slic`] with compactness 20).
    /// After [`compactness`](MultiScaleLimeBuilder::compactness), `build`
    /// fails: the new segmenter would drop it.
    pub fn segmenter<S2: Segmenter>(self, segmenter: S2) -> MultiScaleLimeBuilder<S2, P, F> {
        let dropped = self.on_segmenter;
        let mut next = self.replace_parts(|_, p, f| (segmenter, p, f));
        next.on_segmenter = None;
        next.dropped("segmenter", dropped)
    }

    /// Replaces the perturber (default [`BernoulliPerturber`]: keep 0.5,
    /// black, orthogonal arrays). After
    /// [`hide_color`](MultiScaleLimeBuilder::hide_color) or
    /// [`sampling`](MultiScaleLimeBuilder::sampling), `build` fails: the
    /// new perturber would drop them.
    pub fn perturber<P2: Perturber>(self, perturber: P2) -> MultiScaleLimeBuilder<S, P2, F> {
        let dropped = self.on_perturber;
        let mut next = self.replace_parts(|s, _, f| (s, perturber, f));
        next.on_perturber = None;
        next.dropped("perturber", dropped)
    }

    /// The error of replacing a component a setter configured.
    fn dropped(self, component: &'static str, setter: Option<&'static str>) -> Self {
        match setter {
            None => self,
            Some(setter) => self.defer(Err(Error::invalid(
                component,
                format!("replaced after {setter}(…)"),
                "the component first, then the setters that configure it (or configure the component you pass)",
            ))),
        }
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
            on_segmenter: self.on_segmenter,
            on_perturber: self.on_perturber,
        }
    }

    /// Validates every parameter.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for: no levels or a level of 0; fewer
    /// than 2 samples (per segment or fixed); a kernel width that is not
    /// finite and > 0; a batch size of 0; an invalid compactness or hide
    /// colour (the first such setter's error); a limit of 0; fusion
    /// weights that are not one per level; an adaptive schedule with a
    /// surrogate that gives no standard errors; a component replaced after
    /// a setter configured it.
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
        let adaptive = matches!(self.config.settings.schedule, Schedule::Adaptive(_));
        if adaptive && !self.config.surrogate.estimates_std_errors() {
            return Err(Error::invalid(
                "schedule",
                self.config.settings.schedule,
                "a surrogate that gives standard errors for adaptive rounds (Ridge with std_errors(true))",
            ));
        }
        Ok(self.config)
    }
}
