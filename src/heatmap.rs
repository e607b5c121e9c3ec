//! Heatmaps: per-pixel relevance, one per level, and the stack of levels for
//! one explained class.

use std::sync::Arc;

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};
use crate::segment::Segmentation;

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
    pub(crate) fn new(class: usize, levels: Vec<LevelExplanation>) -> Self {
        HeatmapStack { class, levels }
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
