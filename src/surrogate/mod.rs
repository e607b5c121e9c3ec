//! Interpretable surrogate models fitted on (mask, score) pairs: the
//! [`SurrogateFitter`] trait, the fitted [`Surrogate`], and [`Ridge`].

mod ridge;
mod uncertainty;

pub use ridge::Ridge;
pub(crate) use uncertainty::two_sided_quantile;

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::{Error, Result};

/// A fitted linear surrogate `ŷ = intercept + z·coefficients`.
///
/// Its fields are read freely; a [`SurrogateFitter`] outside this crate
/// builds one with [`Surrogate::new`] (and [`Surrogate::with_std_errors`]),
/// so that fields added later (as `std_errors` was) break nobody.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Surrogate {
    /// One coefficient per segment: the segment's estimated contribution to
    /// the explained score.
    pub coefficients: Array1<f64>,
    /// The intercept `b`.
    pub intercept: f64,
    /// Weighted R² of the fit on its samples (as `sklearn`'s `score` with
    /// `sample_weight`); how well a linear model describes the classifier
    /// locally. A target that does not vary beyond floating-point rounding
    /// (the classifier ignored every perturbation, as a saturated softmax
    /// does) scores 0 with zero coefficients: there is nothing to explain.
    pub r2: f64,
    /// The surrogate's prediction for the unperturbed image (all segments
    /// kept): `intercept + Σ coefficients`.
    pub local_prediction: f64,
    /// Standard error of each coefficient, if the fitter estimates them
    /// ([`Ridge`] does, by the sandwich estimator, when there are more
    /// samples than parameters): how much the coefficient would move with
    /// another draw of the same number of masks.
    pub std_errors: Option<Array1<f64>>,
}

impl Surrogate {
    /// A fit without standard errors; `local_prediction` is
    /// `intercept + Σ coefficients`.
    ///
    /// ```
    /// use multiscale_lime::Surrogate;
    /// use ndarray::array;
    ///
    /// let fit = Surrogate::new(array![0.5, -0.25], 0.1, 0.9)
    ///     .with_std_errors(array![0.01, 0.02]);
    /// assert_eq!(fit.local_prediction, 0.1 + 0.5 - 0.25);
    /// assert_eq!(fit.std_errors, Some(array![0.01, 0.02]));
    /// ```
    pub fn new(coefficients: Array1<f64>, intercept: f64, r2: f64) -> Self {
        Surrogate {
            local_prediction: intercept + coefficients.iter().sum::<f64>(),
            coefficients,
            intercept,
            r2,
            std_errors: None,
        }
    }

    /// The same fit with a standard error per coefficient.
    #[must_use]
    pub fn with_std_errors(mut self, std_errors: Array1<f64>) -> Self {
        self.std_errors = Some(std_errors);
        self
    }
}

/// Fits a linear surrogate to masks `z` (`n × K`), targets `y` (`n`) and
/// sample weights (`n`). A mask entry is the share of a segment kept: 0 or
/// 1 for one level's own masks, any value in `[0, 1]` when levels share
/// their passes ([`Schedule::SharedPasses`](crate::Schedule::SharedPasses)).
pub trait SurrogateFitter: Send + Sync {
    /// Fits one target.
    ///
    /// # Errors
    /// [`Error::InconsistentInput`] for mismatched lengths, non-finite values
    /// or weights that are negative or all zero; [`Error::Singular`] when the
    /// system cannot be solved.
    fn fit(
        &self,
        z: ArrayView2<'_, f32>,
        y: ArrayView1<'_, f64>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<Surrogate>;

    /// Whether the fits carry standard errors ([`Surrogate::std_errors`]),
    /// which adaptive schedules read. The provided implementation says
    /// yes; a fitter that never gives them says no, so that such a
    /// schedule is refused by `build` rather than after its first round.
    fn estimates_std_errors(&self) -> bool {
        true
    }

    /// Fits every column of `ys` (`n × T`) against the same masks and weights.
    /// Implementations may share work between targets (ridge factorises once).
    ///
    /// # Errors
    /// As [`SurrogateFitter::fit`].
    fn fit_many(
        &self,
        z: ArrayView2<'_, f32>,
        ys: ArrayView2<'_, f64>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<Vec<Surrogate>> {
        ys.columns()
            .into_iter()
            .map(|y| self.fit(z, y, weights))
            .collect()
    }
}

/// Shared validation of surrogate inputs.
pub(crate) fn check_inputs(
    z: ArrayView2<'_, f32>,
    ys: ArrayView2<'_, f64>,
    weights: ArrayView1<'_, f64>,
) -> Result<()> {
    let n = z.nrows();
    let bad = |reason: String| Err(Error::inconsistent("surrogate fit", reason));
    if n == 0 || z.ncols() == 0 {
        return bad(format!(
            "mask matrix is {:?}; need at least one sample and one feature",
            z.dim()
        ));
    }
    if ys.nrows() != n || weights.len() != n {
        return bad(format!(
            "{n} mask rows but {} targets and {} weights",
            ys.nrows(),
            weights.len()
        ));
    }
    if let Some(v) = z.iter().find(|v| !v.is_finite()) {
        return bad(format!("mask matrix holds {v}"));
    }
    if let Some(v) = ys.iter().find(|v| !v.is_finite()) {
        return bad(format!("target holds {v}"));
    }
    if let Some(v) = weights.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return bad(format!("sample weight {v} is not finite and ≥ 0"));
    }
    if weights.sum() <= 0.0 {
        return bad("all sample weights are zero".into());
    }
    Ok(())
}
