//! [`Response`]: what the surrogate regresses, the classifier's score as it
//! is or its log-odds.

/// What each level's surrogate regresses on the masks.
///
/// The paper and Python `lime` regress the classifier's score as it is
/// ([`Score`](Response::Score)). A classifier that ends in a softmax or a
/// sigmoid scores `σ(evidence)`: where its evidence adds up over the
/// superpixels, the score does not, and the linear surrogate's residuals —
/// the sigmoid's curvature — are what makes one seed's map differ from
/// another's. Regressing the log-odds `ln(p / (1 − p))` undoes the sigmoid
/// ([`LogOdds`](Response::LogOdds)): the surrogate fits the evidence
/// itself, so far fewer masks give a map as stable, and since the sigmoid
/// is monotone the ranking of the superpixels is the same explanation
/// (`docs/sampling.md` measures both).
///
/// ```
/// use multiscale_lime::Response;
///
/// assert_eq!(Response::Score.apply(0.25), Some(0.25));
/// assert_eq!(Response::LogOdds.apply(0.5), Some(0.0));
/// assert!((Response::LogOdds.apply(0.75).unwrap() - 3f64.ln()).abs() < 1e-6);
/// // Probabilities of exactly 0 or 1 are held at ε from the ends.
/// assert!((Response::LogOdds.apply(1.0).unwrap() - ((1.0 - 1e-6) / 1e-6f64).ln()).abs() < 1e-9);
/// // A logit or any score outside [0, 1] has no log-odds.
/// assert_eq!(Response::LogOdds.apply(2.5), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Response {
    /// [`LogOdds`](Response::LogOdds) when the classifier scores the
    /// original image in `[0, 1]` for every class, else
    /// [`Score`](Response::Score); decided once per explanation, before
    /// any fit, and recorded in
    /// [`Explanation::response`](crate::Explanation::response). Should a
    /// perturbed image of the first scoring pass (all levels' first
    /// masks, for an image up to a megapixel) be scored outside `[0, 1]`,
    /// the score it is. The default, so that a probability model gets the
    /// log-odds and a model returning logits still works.
    #[default]
    Auto,
    /// The score itself (the paper's and `lime`'s): any finite value, a
    /// probability or a logit.
    Score,
    /// The log-odds of a probability, `ln(p / (1 − p))`, with `p` held in
    /// `[ε, 1 − ε]` ([`Response::EPSILON`]); the classifier's scores must
    /// lie in `[0, 1]`. For a model that returns logits, apply a softmax
    /// first (`ModelBuilder::softmax`, or in your classifier), or regress
    /// the logits as they are ([`Score`](Response::Score)).
    LogOdds,
}

impl Response {
    /// How close to 0 or 1 a probability is held before its log-odds are
    /// taken: `10⁻⁶`, so log-odds stay within about ±13.8 and a saturated
    /// `f32` softmax (exactly 1.0) stays finite.
    pub const EPSILON: f64 = 1e-6;

    /// Every response, in the order of their names.
    pub const ALL: [Response; 3] = [Response::Auto, Response::Score, Response::LogOdds];

    /// The value regressed for a score; `None` where it has none (a score
    /// outside `[0, 1]` for [`LogOdds`](Response::LogOdds), and for
    /// [`Auto`](Response::Auto), which an explanation
    /// [resolves](Response::resolve) first).
    pub fn apply(self, score: f32) -> Option<f64> {
        let s = f64::from(score);
        match self {
            Response::Score => Some(s),
            Response::LogOdds if (0.0..=1.0).contains(&s) => {
                let p = s.clamp(Self::EPSILON, 1.0 - Self::EPSILON);
                Some((p / (1.0 - p)).ln())
            }
            Response::LogOdds | Response::Auto => None,
        }
    }

    /// The response an explanation uses, given the classifier's scores on
    /// the original image: [`Auto`](Response::Auto)
    /// becomes [`LogOdds`](Response::LogOdds) when every score lies in
    /// `[0, 1]` and [`Score`](Response::Score) otherwise; the others stay.
    ///
    /// ```
    /// use multiscale_lime::Response;
    ///
    /// assert_eq!(Response::Auto.resolve([0.9, 0.1]), Response::LogOdds);
    /// assert_eq!(Response::Auto.resolve([2.5]), Response::Score); // a logit
    /// assert_eq!(Response::Score.resolve([0.5]), Response::Score);
    /// ```
    pub fn resolve(self, original: impl IntoIterator<Item = f32>) -> Response {
        match self {
            Response::Auto => {
                let mut scores = original.into_iter();
                if scores.all(|s| (0.0..=1.0).contains(&s)) {
                    Response::LogOdds
                } else {
                    Response::Score
                }
            }
            other => other,
        }
    }

    /// Refuses a response that cannot regress `class`, which the
    /// classifier scored `value` on the original image: log-odds of a
    /// score outside `[0, 1]` (and an unresolved [`Auto`](Response::Auto)),
    /// as [`Error::ClassifierNotProbability`](crate::Error::ClassifierNotProbability)
    /// of the image's row, 0. `explain` checks this before any mask is
    /// scored, and `Explanation::from_parts` on the parts it is given.
    pub(crate) fn check_original(self, class: usize, value: f32) -> crate::Result<()> {
        match self.apply(value) {
            Some(_) => Ok(()),
            None => Err(crate::Error::ClassifierNotProbability {
                sample: 0,
                class,
                value,
            }),
        }
    }

    /// The name used by the CLI, Python and `explanation.json`: `auto`,
    /// `score` or `log-odds`.
    pub fn name(self) -> &'static str {
        match self {
            Response::Auto => "auto",
            Response::Score => "score",
            Response::LogOdds => "log-odds",
        }
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Response {
    type Err = crate::Error;

    /// Parses [`name`](Response::name)'s spelling.
    fn from_str(s: &str) -> crate::Result<Self> {
        Response::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| crate::Error::invalid("response", s, "`auto`, `score` or `log-odds`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Log-odds are increasing, odd about ½ and invert to the probability.
        #[test]
        fn log_odds_is_the_logit(p in 0.0f32..=1.0, q in 0.0f32..=1.0) {
            let (lp, lq) = (Response::LogOdds.apply(p).unwrap(), Response::LogOdds.apply(q).unwrap());
            prop_assert!(lp.is_finite());
            if p < q { prop_assert!(lp <= lq); }
            let mirrored = Response::LogOdds.apply(1.0 - p).unwrap();
            // 1 − p in f32 rounds; the logit's slope at p is 1/(p(1 − p)).
            let p64 = f64::from(p).clamp(Response::EPSILON, 1.0 - Response::EPSILON);
            let slack = 1e-7 / (p64 * (1.0 - p64)) + 1e-9;
            prop_assert!((lp + mirrored).abs() <= slack, "{lp} {mirrored}");
            let back = 1.0 / (1.0 + (-lp).exp());
            prop_assert!((back - p64).abs() < 1e-12);
        }

        #[test]
        fn score_is_the_identity(s in proptest::num::f32::NORMAL) {
            prop_assert_eq!(Response::Score.apply(s), Some(f64::from(s)));
        }

        #[test]
        fn log_odds_rejects_what_is_not_a_probability(s in proptest::num::f32::ANY) {
            prop_assume!(!(0.0..=1.0).contains(&s));
            prop_assert_eq!(Response::LogOdds.apply(s), None);
        }
    }

    #[test]
    fn auto_takes_log_odds_of_probabilities_only() {
        assert_eq!(Response::Auto.resolve([0.0, 1.0, 0.5]), Response::LogOdds);
        assert_eq!(Response::Auto.resolve([0.5, 1.0001]), Response::Score);
        assert_eq!(Response::Auto.resolve([-0.1]), Response::Score);
        assert_eq!(Response::Auto.resolve([f32::NAN]), Response::Score);
        assert_eq!(Response::LogOdds.resolve([3.0]), Response::LogOdds);
        assert_eq!(Response::Auto.apply(0.5), None);
    }

    #[test]
    fn names_round_trip() {
        for r in Response::ALL {
            assert_eq!(r.name().parse::<Response>().unwrap(), r);
            assert_eq!(r.to_string(), r.name());
        }
        let e = "logit".parse::<Response>().unwrap_err().to_string();
        assert!(e.contains("logit"), "{e}");
    }
}
