//! Heatmaps: per-pixel relevance, one per level, and the stack of levels for
//! one explained class.

use std::sync::Arc;

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};
use crate::segment::Segmentation;
use crate::surrogate::Surrogate;

impl std::fmt::Display for Normalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Normalization {
    type Err = Error;

    /// Parses [`name`](Normalization::name)'s spelling.
    fn from_str(s: &str) -> Result<Self> {
        Normalization::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| Error::invalid("normalization", s, "minmax, positive or maxabs"))
    }
}

/// How a level's coefficients become heatmap values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Normalization {
    /// `(β − min β) / (max β − min β)`, in `[0, 1]`; all equal → all 0.
    /// The paper's choice.
    #[default]
    MinMax,
    /// `max(β, 0) / max β`, in `[0, 1]`: only evidence *for* the class;
    /// all 0 when no coefficient is positive.
    PositiveOnly,
    /// `β / max|β|`, in `[−1, 1]`: keeps the sign (evidence against is
    /// negative); all 0 when every coefficient is 0.
    MaxAbs,
}

impl Normalization {
    /// Every normalisation, in the order of their names.
    pub const ALL: [Normalization; 3] = [
        Normalization::MinMax,
        Normalization::PositiveOnly,
        Normalization::MaxAbs,
    ];

    /// The name `mslime --normalization` and Python's `normalization=`
    /// take: `minmax`, `positive` or `maxabs`.
    pub fn name(&self) -> &'static str {
        match self {
            Normalization::MinMax => "minmax",
            Normalization::PositiveOnly => "positive",
            Normalization::MaxAbs => "maxabs",
        }
    }

    /// Normalises coefficients.
    ///
    /// ```
    /// use multiscale_lime::Normalization;
    /// assert_eq!(Normalization::MinMax.apply(&[1.0, 3.0, 2.0]), vec![0.0, 1.0, 0.5]);
    /// assert_eq!(Normalization::PositiveOnly.apply(&[-1.0, 2.0]), vec![0.0, 1.0]);
    /// assert_eq!(Normalization::MaxAbs.apply(&[-4.0, 2.0]), vec![-1.0, 0.5]);
    /// ```
    pub fn apply(&self, coefficients: &[f64]) -> Vec<f64> {
        let max = coefficients
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let min = coefficients.iter().copied().fold(f64::INFINITY, f64::min);
        match self {
            Normalization::MinMax => {
                let span = max - min;
                coefficients
                    .iter()
                    .map(|&b| if span > 0.0 { (b - min) / span } else { 0.0 })
                    .collect()
            }
            Normalization::PositiveOnly => coefficients
                .iter()
                .map(|&b| if max > 0.0 { b.max(0.0) / max } else { 0.0 })
                .collect(),
            Normalization::MaxAbs => {
                let m = coefficients.iter().fold(0.0f64, |m, b| m.max(b.abs()));
                coefficients
                    .iter()
                    .map(|&b| if m > 0.0 { b / m } else { 0.0 })
                    .collect()
            }
        }
    }
}

/// Per-pixel relevance, `H×W`. The value range depends on the producer and
/// is documented there (for level heatmaps: see [`Normalization`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap(Array2<f32>);

impl Heatmap {
    /// Wraps an array of relevance values.
    pub fn new(values: Array2<f32>) -> Self {
        Heatmap(values)
    }

    /// Paints one value per segment onto its pixels.
    ///
    /// ```
    /// use multiscale_lime::{Heatmap, Segmentation};
    /// use ndarray::array;
    ///
    /// let seg = Segmentation::new(array![[0, 1], [1, 1]])?;
    /// let map = Heatmap::paint(&seg, &[0.25, 1.0])?;
    /// assert_eq!(map.values(), &array![[0.25, 1.0], [1.0, 1.0]]);
    /// assert!(Heatmap::paint(&seg, &[0.25]).is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InconsistentInput`] when `values` does not hold exactly one
    /// value per segment.
    pub fn paint(segmentation: &Segmentation, values: &[f64]) -> Result<Self> {
        if values.len() != segmentation.count() {
            return Err(Error::inconsistent(
                "paint",
                format!(
                    "{} values for {} segments",
                    values.len(),
                    segmentation.count()
                ),
            ));
        }
        Ok(Heatmap(
            segmentation.labels().mapv(|l| values[l as usize] as f32),
        ))
    }

    /// The values.
    pub fn values(&self) -> &Array2<f32> {
        &self.0
    }

    /// `(height, width)`.
    pub fn dim(&self) -> (usize, usize) {
        self.0.dim()
    }

    /// Consumes the heatmap, returning the array.
    pub fn into_array(self) -> Array2<f32> {
        self.0
    }

    /// A grey-scale picture of the heatmap, `lo` → black and `hi` → white
    /// (values outside are clamped). For colour maps and overlays see the
    /// rendering functions.
    #[must_use = "the conversion returns a new image"]
    pub fn to_luma8(&self, lo: f32, hi: f32) -> image::GrayImage {
        let (h, w) = self.dim();
        let span = if hi > lo { hi - lo } else { 1.0 };
        image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let v = ((self.0[[y as usize, x as usize]] - lo) / span).clamp(0.0, 1.0);
            image::Luma([(v * 255.0).round() as u8])
        })
    }
}

/// One level of a multi-scale explanation.
///
/// Two counts describe its cost and its evidence, and differ only when
/// levels share their passes: [`calls`](Self::calls) is how many images
/// this level sent to the classifier (what it cost); [`samples`](Self::samples)
/// is how many rows its surrogate was fitted on (what it learned from).
/// Per level ([`Schedule::PerLevel`](crate::Schedule::PerLevel), the
/// default, and adaptive schedules) both are the level's own masks; with
/// [`Schedule::SharedPasses`](crate::Schedule::SharedPasses) every level
/// fits on the rows of all levels, so `samples` is the sum of the levels'
/// `calls`. The explanation's cost is the sum of `calls` over the levels,
/// plus one call for the image alone (the prediction).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LevelExplanation {
    /// Segments asked for, `s`.
    pub desired: usize,
    /// Segments obtained, `s'`.
    pub actual: usize,
    /// The segmentation (shared between the stacks of all explained classes).
    pub segmentation: Arc<Segmentation>,
    /// Number of perturbed samples the surrogate was fitted on, `n` (row 0
    /// being the original image): the level's own, or with shared passes
    /// ([`Schedule::SharedPasses`](crate::Schedule::SharedPasses))
    /// those of every level.
    pub samples: usize,
    /// Model calls spent on this level's own passes (`samples` unless
    /// passes are shared); their sum over levels is the explanation's cost.
    pub calls: usize,
    /// Ridge coefficients, one per segment, on the scale of the
    /// regressed [`Response`](crate::Response) (the score, or its log-odds).
    pub coefficients: Array1<f64>,
    /// Ridge intercept.
    pub intercept: f64,
    /// Weighted R² of the surrogate ([`Surrogate::r2`](crate::Surrogate::r2)).
    pub r2: f64,
    /// Surrogate prediction for the original image.
    pub local_prediction: f64,
    /// Standard error of each coefficient (the surrogate's, when it
    /// estimates them: [`Ridge`](crate::Ridge) does); see
    /// [`intervals`](Self::intervals).
    pub std_errors: Option<Array1<f64>>,
    /// Normalised coefficients painted on the segments.
    pub heatmap: Heatmap,
}

impl LevelExplanation {
    /// A level from its parts, checked: what a deserializer needs to
    /// rebuild one ([`MultiScaleLime::explain`](crate::MultiScaleLime::explain)
    /// builds its own). Its `actual` is the segmentation's count; `fit` gives
    /// the coefficients, intercept, R², local prediction and standard
    /// errors as the surrogate fitted them; `heatmap` is the normalised
    /// coefficients painted on the segments ([`Heatmap::paint`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use multiscale_lime::{Error, Heatmap, LevelExplanation, Normalization, Segmentation, Surrogate};
    /// use ndarray::array;
    ///
    /// let seg = Arc::new(Segmentation::new(array![[0, 0, 1], [0, 1, 1]])?);
    /// let mut fit = Surrogate::new(array![0.5, -0.25], 0.1, 0.9).with_std_errors(array![0.01, 0.02]);
    /// fit.local_prediction = 0.35; // as the fitter computed it, bit for bit
    /// let heatmap = Heatmap::paint(&seg, &Normalization::MinMax.apply(&[0.5, -0.25]))?;
    /// let level = LevelExplanation::new(2, Arc::clone(&seg), 20, 20, fit, heatmap.clone())?;
    /// assert_eq!((level.actual, level.local_prediction), (2, 0.35));
    /// assert_eq!(level.intervals(0.9)?.map(|i| i.len()), Some(2));
    ///
    /// // One coefficient per segment, no fewer.
    /// let short = Surrogate::new(array![0.5], 0.1, 0.9);
    /// let err = LevelExplanation::new(2, seg, 20, 20, short, heatmap).unwrap_err();
    /// assert!(matches!(err, Error::InconsistentInput { .. }));
    /// assert!(err.to_string().contains("1 coefficients for 2 segments"));
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`] for `desired` or `samples` of 0, or an
    ///   intercept, R² or local prediction that is not finite;
    /// - [`Error::InconsistentInput`] unless there is one coefficient (and
    ///   one standard error, if any) per segment, every coefficient is
    ///   finite, every standard error finite and ≥ 0, and the heatmap has
    ///   the segmentation's size with one finite value per segment.
    pub fn new(
        desired: usize,
        segmentation: Arc<Segmentation>,
        samples: usize,
        calls: usize,
        fit: Surrogate,
        heatmap: Heatmap,
    ) -> Result<Self> {
        let level = LevelExplanation {
            desired,
            actual: segmentation.count(),
            segmentation,
            samples,
            calls,
            coefficients: fit.coefficients,
            intercept: fit.intercept,
            r2: fit.r2,
            local_prediction: fit.local_prediction,
            std_errors: fit.std_errors,
            heatmap,
        };
        level.check()?;
        Ok(level)
    }

    /// What [`new`](Self::new) checks (the fields are public, so a stack
    /// checks its levels again).
    fn check(&self) -> Result<()> {
        if self.desired == 0 {
            return Err(Error::invalid("desired", 0, "at least 1 segment"));
        }
        if self.samples == 0 {
            return Err(Error::invalid(
                "samples",
                0,
                "at least 1 (row 0 is the image itself)",
            ));
        }
        for (name, value) in [
            ("intercept", self.intercept),
            ("r2", self.r2),
            ("local_prediction", self.local_prediction),
        ] {
            if !value.is_finite() {
                return Err(Error::invalid(name, value, "a finite value"));
            }
        }
        let k = self.segmentation.count();
        if self.actual != k {
            return Err(level_error(format!(
                "actual is {} but the segmentation has {k} segments",
                self.actual
            )));
        }
        let coefficients = self.coefficients.view();
        check_values(coefficients, k, "coefficients", "finite", f64::is_finite)?;
        if let Some(se) = &self.std_errors {
            let ok = |s: f64| s.is_finite() && s >= 0.0;
            check_values(se.view(), k, "standard errors", "finite and ≥ 0", ok)?;
        }
        check_painted(&self.heatmap, &self.segmentation)
    }

    /// A `confidence` interval per coefficient, `β ± z·se` with `z` the
    /// standard normal quantile of `(1 + confidence)/2` (1.645 for 0.9):
    /// where another draw of as many masks would put the coefficient, so
    /// a segment whose interval is far from the others' is solidly ranked.
    /// `None` when the surrogate gave no standard errors.
    ///
    /// ```
    /// use multiscale_lime::{FnClassifier, Image, MultiScaleLime, SquareGrid, Target};
    /// use ndarray::{Array2, Array3};
    ///
    /// // The score is the top-left quadrant's brightness.
    /// let image = Image::new(Array3::from_elem((8, 8, 3), 0.8))?;
    /// let clf = FnClassifier::new(1, |b| {
    ///     Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| b[[i, 0, 0, 0]]))
    /// });
    /// let lime = MultiScaleLime::builder().segmenter(SquareGrid).levels([4]).build()?;
    /// let explanation = lime.explain(&image, &clf, Target::Class(0))?;
    /// let level = &explanation.stacks()[0].levels()[0];
    /// let intervals = level.intervals(0.9)?.expect("ridge gives standard errors");
    /// assert_eq!(intervals.len(), 4);
    /// let (lo, hi) = intervals[0];
    /// assert!(lo <= level.coefficients[0] && level.coefficients[0] <= hi);
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless
    /// `0 < confidence < 1`.
    pub fn intervals(&self, confidence: f64) -> Result<Option<Vec<(f64, f64)>>> {
        let z = crate::surrogate::two_sided_quantile(confidence)?;
        Ok(self.std_errors.as_ref().map(|se| {
            self.coefficients
                .iter()
                .zip(se)
                .map(|(b, s)| (b - z * s, b + z * s))
                .collect()
        }))
    }

    /// The Pearson correlation this level's heatmap is expected to have
    /// with the same level explained from another seed's masks, read off
    /// the standard errors: `1 − σ²/V`, with `V` the variance of the
    /// coefficients over the image's pixels and `σ²` the mean squared
    /// standard error over the pixels (each draw adds an error of variance
    /// `se²` to every coefficient, so two draws share `V − σ²` of it).
    /// Clamped to `[0, 1]`; `1` for a map no draw would change (no
    /// error), `None` when the surrogate gave no standard errors. This is
    /// what [`Adaptive::stability`](crate::Adaptive::stability) stops on.
    ///
    /// ```
    /// use multiscale_lime::{FnClassifier, Image, MultiScaleLime, SquareGrid, Target};
    /// use ndarray::{Array2, Array3};
    ///
    /// // A non-linear score of the four quadrants' brightness.
    /// let image = Image::new(Array3::from_elem((8, 8, 3), 0.8))?;
    /// let clf = FnClassifier::new(1, |b| {
    ///     Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| {
    ///         let (a, c) = (b[[i, 0, 0, 0]], b[[i, 7, 7, 0]]);
    ///         a * c + 0.5 * b[[i, 0, 7, 0]]
    ///     }))
    /// });
    /// let explain = |m| {
    ///     let lime = MultiScaleLime::builder()
    ///         .segmenter(SquareGrid).levels([4]).samples_per_segment(m).build()?;
    ///     let e = lime.explain(&image, &clf, Target::Class(0))?;
    ///     Ok::<_, multiscale_lime::Error>(e.stacks()[0].levels()[0].expected_stability())
    /// };
    /// let (few, many) = (explain(10)?.unwrap(), explain(200)?.unwrap());
    /// assert!((0.0..=1.0).contains(&few) && few < many);
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn expected_stability(&self) -> Option<f64> {
        let se = self.std_errors.as_ref()?;
        Some(expected_stability(
            self.coefficients.view(),
            se.view(),
            self.segmentation.sizes(),
        ))
    }
}

/// [`Error::InconsistentInput`] from [`LevelExplanation::new`].
fn level_error(reason: String) -> Error {
    Error::inconsistent("level", reason)
}

/// One of `what` per segment (`k`), each passing `ok` (`expected`, in
/// words).
fn check_values(
    values: ndarray::ArrayView1<'_, f64>,
    k: usize,
    what: &str,
    expected: &str,
    ok: impl Fn(f64) -> bool,
) -> Result<()> {
    if values.len() != k {
        return Err(level_error(format!(
            "{} {what} for {k} segments",
            values.len()
        )));
    }
    match values.iter().position(|&v| !ok(v)) {
        Some(i) => Err(level_error(format!(
            "{what}[{i}] is {}, expected {expected}",
            values[i]
        ))),
        None => Ok(()),
    }
}

/// `heatmap` has the size of `segmentation` and one finite value per
/// segment, as [`Heatmap::paint`] makes it.
fn check_painted(heatmap: &Heatmap, segmentation: &Segmentation) -> Result<()> {
    if heatmap.dim() != segmentation.dim() {
        return Err(level_error(format!(
            "heatmap is {:?} but the segmentation is {:?}",
            heatmap.dim(),
            segmentation.dim()
        )));
    }
    let mut painted: Vec<Option<f32>> = vec![None; segmentation.count()];
    for (((y, x), &s), &v) in segmentation.labels().indexed_iter().zip(heatmap.values()) {
        if !v.is_finite() {
            return Err(level_error(format!(
                "heatmap holds {v} at ({y}, {x}), expected finite values"
            )));
        }
        match painted[s as usize] {
            None => painted[s as usize] = Some(v),
            Some(first) if first.to_bits() != v.to_bits() => {
                return Err(level_error(format!(
                    "heatmap holds {first} and {v} in segment {s}, expected one value per segment"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `1 − σ²/V` over pixels (see [`LevelExplanation::expected_stability`]).
pub(crate) fn expected_stability(
    coefficients: ndarray::ArrayView1<'_, f64>,
    std_errors: ndarray::ArrayView1<'_, f64>,
    sizes: &[usize],
) -> f64 {
    let area: f64 = sizes.iter().map(|&a| a as f64).sum();
    if area <= 0.0 {
        return 1.0;
    }
    let share = |k: usize| sizes.get(k).map_or(0.0, |&a| a as f64 / area);
    let mean: f64 = coefficients
        .iter()
        .enumerate()
        .map(|(k, b)| share(k) * b)
        .sum();
    let spread: f64 = coefficients
        .iter()
        .enumerate()
        .map(|(k, b)| share(k) * (b - mean).powi(2))
        .sum();
    let noise: f64 = std_errors
        .iter()
        .enumerate()
        .map(|(k, s)| share(k) * s * s)
        .sum();
    if noise <= 0.0 {
        1.0
    } else if spread <= 0.0 {
        0.0
    } else {
        (1.0 - noise / spread).clamp(0.0, 1.0)
    }
}

/// The levels of one explained class, in the order they were requested.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapStack {
    class: usize,
    levels: Vec<LevelExplanation>,
}

impl HeatmapStack {
    /// The stack [`MultiScaleLime::explain`](crate::MultiScaleLime::explain)
    /// builds, its levels fitted there (see [`try_new`](Self::try_new)).
    pub(crate) fn new(class: usize, levels: Vec<LevelExplanation>) -> Self {
        HeatmapStack { class, levels }
    }

    /// The stack of `class` from its levels in request order, checked:
    /// what a deserializer needs to rebuild one (for the explanation
    /// around it: [`Explanation::from_parts`](crate::Explanation::from_parts)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use multiscale_lime::{Heatmap, HeatmapStack, LevelExplanation, Segmentation, Surrogate};
    /// use ndarray::array;
    ///
    /// let level = |labels| -> multiscale_lime::Result<LevelExplanation> {
    ///     let seg = Arc::new(Segmentation::new(labels)?);
    ///     let k = seg.count();
    ///     let values: Vec<f64> = (0..k).map(|i| i as f64 / k as f64).collect();
    ///     let heatmap = Heatmap::paint(&seg, &values)?;
    ///     let fit = Surrogate::new(values.into_iter().collect(), 0.0, 0.5);
    ///     LevelExplanation::new(k, seg, 4 * k, 4 * k, fit, heatmap)
    /// };
    /// let coarse = level(array![[0, 0], [1, 1]])?;
    /// let fine = level(array![[0, 1], [2, 3]])?;
    /// let stack = HeatmapStack::try_new(3, vec![coarse.clone(), fine])?;
    /// assert_eq!((stack.class(), stack.counts()), (3, vec![2, 4]));
    ///
    /// // Every level covers the same image.
    /// let other = level(array![[0, 1, 1]])?;
    /// assert!(HeatmapStack::try_new(3, vec![coarse, other]).is_err());
    /// assert!(HeatmapStack::try_new(3, vec![]).is_err());
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InconsistentInput`] when there is no level or the levels
    /// differ in size; and a level's fields checked as
    /// [`LevelExplanation::new`] checks them (they are public, so they
    /// may have changed since), with its errors.
    pub fn try_new(class: usize, levels: Vec<LevelExplanation>) -> Result<Self> {
        let Some(first) = levels.first() else {
            return Err(Error::inconsistent("heatmap stack", "no levels"));
        };
        let dim = first.segmentation.dim();
        for (i, level) in levels.iter().enumerate() {
            level.check().map_err(|e| match e {
                Error::InconsistentInput { context, reason } => Error::InconsistentInput {
                    context,
                    reason: format!("level {i}: {reason}"),
                },
                other => other,
            })?;
            if level.segmentation.dim() != dim {
                return Err(Error::inconsistent(
                    "heatmap stack",
                    format!(
                        "level {i} is {:?} but level 0 is {dim:?}",
                        level.segmentation.dim()
                    ),
                ));
            }
        }
        Ok(HeatmapStack { class, levels })
    }

    /// The explained class.
    pub fn class(&self) -> usize {
        self.class
    }

    /// The levels, in request order.
    pub fn levels(&self) -> &[LevelExplanation] {
        &self.levels
    }

    /// Actual segment counts `s'` per level.
    pub fn counts(&self) -> Vec<usize> {
        self.levels.iter().map(|l| l.actual).collect()
    }

    /// The level heatmaps, in request order.
    pub fn heatmaps(&self) -> Vec<&Heatmap> {
        self.levels.iter().map(|l| &l.heatmap).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A level of two segments with standard errors, and its parts.
    fn parts() -> (Arc<Segmentation>, Surrogate, Heatmap) {
        let seg = Arc::new(Segmentation::new(array![[0, 0, 1], [0, 1, 1]]).unwrap());
        let mut fit =
            Surrogate::new(array![0.5, -0.25], 0.1, 0.75).with_std_errors(array![0.0, 0.5]);
        fit.local_prediction = 0.3;
        let heatmap = Heatmap::paint(&seg, &[1.0, 0.0]).unwrap();
        (seg, fit, heatmap)
    }

    fn refused(change: impl FnOnce(&mut usize, &mut usize, &mut Surrogate, &mut Heatmap)) -> Error {
        let (seg, mut fit, mut heatmap) = parts();
        let (mut desired, mut samples) = (2, 12);
        change(&mut desired, &mut samples, &mut fit, &mut heatmap);
        LevelExplanation::new(desired, seg, samples, 6, fit, heatmap).unwrap_err()
    }

    fn reason(error: Error) -> String {
        match error {
            Error::InconsistentInput {
                context: "level",
                reason,
            } => reason,
            other => panic!("not a level's inconsistent input: {other}"),
        }
    }

    fn invalid(error: Error) -> &'static str {
        match error {
            Error::InvalidParameter { name, .. } => name,
            other => panic!("not an invalid parameter: {other}"),
        }
    }

    #[test]
    fn a_level_holds_its_parts_as_given() {
        let (seg, fit, heatmap) = parts();
        let level = LevelExplanation::new(3, Arc::clone(&seg), 12, 6, fit.clone(), heatmap.clone())
            .unwrap();
        assert_eq!(
            (level.desired, level.actual, level.samples, level.calls),
            (3, 2, 12, 6)
        );
        assert!(Arc::ptr_eq(&level.segmentation, &seg));
        assert_eq!(level.coefficients, fit.coefficients);
        assert_eq!(level.std_errors, fit.std_errors);
        let scalars = [level.intercept, level.r2, level.local_prediction];
        assert_eq!(
            scalars.map(f64::to_bits),
            [0.1, 0.75, 0.3].map(f64::to_bits)
        );
        assert_eq!(level.heatmap, heatmap);
        // Without standard errors, and with a -0.0 kept as such.
        let mut fit = Surrogate::new(array![-0.0, 1.0], -0.0, 0.0);
        fit.local_prediction = -0.0;
        let level = LevelExplanation::new(2, seg, 1, 1, fit, heatmap).unwrap();
        assert_eq!(level.std_errors, None);
        assert_eq!(level.coefficients[0].to_bits(), (-0.0f64).to_bits());
        assert_eq!(level.local_prediction.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn a_level_refuses_inconsistent_parts_naming_them() {
        assert_eq!(invalid(refused(|d, _, _, _| *d = 0)), "desired");
        assert_eq!(invalid(refused(|_, s, _, _| *s = 0)), "samples");
        assert_eq!(
            invalid(refused(|_, _, f, _| f.intercept = f64::NAN)),
            "intercept"
        );
        assert_eq!(invalid(refused(|_, _, f, _| f.r2 = f64::INFINITY)), "r2");
        let err = refused(|_, _, f, _| f.local_prediction = f64::NAN);
        assert_eq!(invalid(err), "local_prediction");
        let err = refused(|_, _, f, _| f.coefficients = array![0.5]);
        assert_eq!(reason(err), "1 coefficients for 2 segments");
        let err = refused(|_, _, f, _| f.coefficients[1] = f64::NEG_INFINITY);
        assert_eq!(reason(err), "coefficients[1] is -inf, expected finite");
        let err = refused(|_, _, f, _| f.std_errors = Some(array![0.1, 0.2, 0.3]));
        assert_eq!(reason(err), "3 standard errors for 2 segments");
        let err = refused(|_, _, f, _| f.std_errors = Some(array![0.1, -0.2]));
        assert_eq!(
            reason(err),
            "standard errors[1] is -0.2, expected finite and ≥ 0"
        );
        let err = refused(|_, _, f, _| f.std_errors = Some(array![f64::NAN, 0.2]));
        assert!(reason(err).starts_with("standard errors[0] is NaN"));
        let err = refused(|_, _, _, h| *h = Heatmap::new(Array2::zeros((3, 2))));
        assert_eq!(
            reason(err),
            "heatmap is (3, 2) but the segmentation is (2, 3)"
        );
        let err =
            refused(|_, _, _, h| *h = Heatmap::new(array![[1.0, 1.0, 0.0], [1.0, 0.0, f32::NAN]]));
        assert_eq!(
            reason(err),
            "heatmap holds NaN at (1, 2), expected finite values"
        );
        // Segment 1 is (0, 2), (1, 1), (1, 2).
        let err = refused(|_, _, _, h| *h = Heatmap::new(array![[1.0, 1.0, 0.0], [1.0, 0.5, 0.0]]));
        assert_eq!(
            reason(err),
            "heatmap holds 0 and 0.5 in segment 1, expected one value per segment"
        );
    }

    #[test]
    fn a_stack_checks_its_levels() {
        let (seg, fit, heatmap) = parts();
        let level = LevelExplanation::new(2, seg, 12, 12, fit, heatmap).unwrap();
        let stack = HeatmapStack::try_new(4, vec![level.clone(), level.clone()]).unwrap();
        assert_eq!(stack.class(), 4);
        assert_eq!(stack.levels(), &[level.clone(), level.clone()]);

        let err = HeatmapStack::try_new(4, vec![]).unwrap_err();
        assert!(
            matches!(err, Error::InconsistentInput { context: "heatmap stack", ref reason } if reason == "no levels")
        );
        // Another image's level.
        let wide = Arc::new(Segmentation::new(array![[0, 0, 1, 1]]).unwrap());
        let fit = Surrogate::new(array![1.0, 2.0], 0.0, 1.0);
        let wide_map = Heatmap::paint(&wide, &[0.0, 1.0]).unwrap();
        let wide = LevelExplanation::new(2, wide, 4, 4, fit, wide_map).unwrap();
        let err = HeatmapStack::try_new(4, vec![level.clone(), wide]).unwrap_err();
        assert!(
            err.to_string()
                .contains("level 1 is (1, 4) but level 0 is (2, 3)"),
            "{err}"
        );
        // A level whose public fields changed after it was made.
        let mut changed = level.clone();
        changed.actual = 3;
        let err = HeatmapStack::try_new(4, vec![level.clone(), changed]).unwrap_err();
        assert_eq!(
            reason(err),
            "level 1: actual is 3 but the segmentation has 2 segments"
        );
        let mut changed = level.clone();
        changed.r2 = f64::NAN;
        let err = HeatmapStack::try_new(4, vec![changed, level]).unwrap_err();
        assert_eq!(invalid(err), "r2");
    }
}
