//! The crate's metrics: against a ground-truth mask (pointing game,
//! relevance mass, pixel AUC), against the model (explanation accuracy,
//! deletion and insertion curves), and between explanations (Pearson,
//! Jaccard@k, stability).

use multiscale_lime::metrics::{
    self, explanation_accuracy, AccuracyReport, Curve, StabilityReport,
};
use multiscale_lime::{Heatmap, HideColor, Image};
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::model::{run_detached, PyModel};
use crate::settings;

/// Whether the heatmap's most salient pixel (lowest index on ties) lies in
/// ``mask`` or within ``tolerance`` pixels of it.
#[pyfunction]
#[pyo3(signature = (heatmap, mask, tolerance = 0))]
pub(crate) fn pointing_game(
    heatmap: &Bound<'_, PyAny>,
    mask: &Bound<'_, PyAny>,
    tolerance: usize,
) -> PyResult<bool> {
    let mask = array::mask(mask)?;
    metrics::pointing_game(&array::heatmap(heatmap)?, mask.view(), tolerance).py_err()
}

/// The share of the heatmap's positive mass inside ``mask``.
#[pyfunction]
pub(crate) fn relevance_mass(heatmap: &Bound<'_, PyAny>, mask: &Bound<'_, PyAny>) -> PyResult<f64> {
    let mask = array::mask(mask)?;
    metrics::relevance_mass(&array::heatmap(heatmap)?, mask.view()).py_err()
}

/// The probability that a pixel of ``mask`` outranks one outside it (ties
/// count ½): the ROC AUC of the heatmap as a detector of the mask.
#[pyfunction]
pub(crate) fn pixel_auc(heatmap: &Bound<'_, PyAny>, mask: &Bound<'_, PyAny>) -> PyResult<f64> {
    let mask = array::mask(mask)?;
    metrics::pixel_auc(&array::heatmap(heatmap)?, mask.view()).py_err()
}

/// Pearson correlation of two heatmaps of one size.
#[pyfunction]
pub(crate) fn pearson(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<f64> {
    metrics::pearson(&array::heatmap(a)?, &array::heatmap(b)?).py_err()
}

/// Jaccard index of the top-``k`` entries of two score vectors (e.g. two
/// levels' coefficients).
#[pyfunction]
pub(crate) fn jaccard_at_k(a: Vec<f64>, b: Vec<f64>, k: usize) -> PyResult<f64> {
    metrics::jaccard_at_k(&a, &b, k).py_err()
}

/// What ``predict`` says of ``class_`` when it sees only the ``fraction``
/// most salient pixels (the rest hidden with ``hide_color``).
#[pyclass(name = "AccuracyReport", module = "multiscale_lime", frozen, get_all)]
pub(crate) struct PyAccuracyReport {
    /// The class checked.
    class_: usize,
    /// Its score on the full image.
    original_score: f32,
    /// Its score with only the salient pixels kept.
    masked_score: f32,
    /// The best class on the masked image.
    masked_prediction: usize,
    /// Whether ``masked_prediction == class_``.
    label_holds: bool,
    /// Share of pixels kept.
    fraction: f64,
}

impl From<AccuracyReport> for PyAccuracyReport {
    fn from(r: AccuracyReport) -> Self {
        PyAccuracyReport {
            class_: r.class,
            original_score: r.original_score,
            masked_score: r.masked_score,
            masked_prediction: r.masked_prediction,
            label_holds: r.label_holds,
            fraction: r.fraction,
        }
    }
}

#[pymethods]
impl PyAccuracyReport {
    fn __repr__(&self) -> String {
        format!(
            "AccuracyReport(class_={}, original_score={}, masked_score={}, masked_prediction={}, label_holds={}, fraction={})",
            self.class_, self.original_score, self.masked_score, self.masked_prediction,
            if self.label_holds { "True" } else { "False" }, self.fraction
        )
    }
}

/// The image, heatmap and model of a metric that calls the model.
fn model_inputs(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    heatmap: &Bound<'_, PyAny>,
    predict: &Bound<'_, PyAny>,
) -> PyResult<(Image, Heatmap, PyModel)> {
    let image = array::image(image)?;
    let heatmap = array::heatmap(heatmap)?;
    let model = PyModel::new(py, predict, &image)?;
    Ok((image, heatmap, model))
}

/// ``hide_color`` or the default (black).
fn hide_or_default(hide_color: Option<&Bound<'_, PyAny>>) -> PyResult<HideColor> {
    Ok(hide_color
        .map(settings::hide_color)
        .transpose()?
        .unwrap_or_default())
}

/// The paper's explanation accuracy: keeps the ``fraction`` most salient
/// pixels of ``image`` by ``heatmap``, hides the rest and re-classifies.
#[pyfunction]
#[pyo3(signature = (image, heatmap, predict, class_, *, fraction = 0.2, hide_color = None))]
pub(crate) fn accuracy(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    heatmap: &Bound<'_, PyAny>,
    predict: &Bound<'_, PyAny>,
    class_: usize,
    fraction: f64,
    hide_color: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyAccuracyReport> {
    let hide = hide_or_default(hide_color)?;
    let (image, heatmap, model) = model_inputs(py, image, heatmap, predict)?;
    run_detached(py, Some(&model), || {
        explanation_accuracy(&image, &heatmap, &model, class_, fraction, hide)
    })
    .map(PyAccuracyReport::from)
}

/// A deletion or insertion curve: the class score after each step, and its
/// area (lower is better for deletion, higher for insertion).
#[pyclass(name = "Curve", module = "multiscale_lime", frozen, get_all)]
pub(crate) struct PyCurve {
    /// Share of pixels removed (deletion) or revealed (insertion), from 0 to 1.
    fractions: Vec<f64>,
    /// The class score at each fraction.
    scores: Vec<f64>,
    /// Trapezoid area under the curve.
    auc: f64,
}

impl From<Curve> for PyCurve {
    fn from(c: Curve) -> Self {
        PyCurve {
            fractions: c.fractions,
            scores: c.scores,
            auc: c.auc,
        }
    }
}

#[pymethods]
impl PyCurve {
    fn __repr__(&self) -> String {
        format!(
            "Curve(steps={}, auc={:.4})",
            self.fractions.len().saturating_sub(1),
            self.auc
        )
    }
}

/// Deletion curve: hides pixels in order of saliency (most salient first,
/// with ``hide_color``) in ``steps`` steps and scores ``class_`` each time.
#[pyfunction]
#[pyo3(signature = (image, heatmap, predict, class_, *, steps = 50, hide_color = None))]
pub(crate) fn deletion_curve(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    heatmap: &Bound<'_, PyAny>,
    predict: &Bound<'_, PyAny>,
    class_: usize,
    steps: usize,
    hide_color: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyCurve> {
    let hide = hide_or_default(hide_color)?;
    let (image, heatmap, model) = model_inputs(py, image, heatmap, predict)?;
    run_detached(py, Some(&model), || {
        metrics::deletion_curve(&image, &heatmap, &model, class_, steps, hide)
    })
    .map(PyCurve::from)
}

/// Insertion curve: starts from the image blurred with ``blur_sigma`` and
/// reveals pixels in order of saliency in ``steps`` steps.
#[pyfunction]
#[pyo3(signature = (image, heatmap, predict, class_, *, steps = 50, blur_sigma = 5.0))]
pub(crate) fn insertion_curve(
    py: Python<'_>,
    image: &Bound<'_, PyAny>,
    heatmap: &Bound<'_, PyAny>,
    predict: &Bound<'_, PyAny>,
    class_: usize,
    steps: usize,
    blur_sigma: f32,
) -> PyResult<PyCurve> {
    let (image, heatmap, model) = model_inputs(py, image, heatmap, predict)?;
    run_detached(py, Some(&model), || {
        metrics::insertion_curve(&image, &heatmap, &model, class_, steps, blur_sigma)
    })
    .map(PyCurve::from)
}

/// How much explanations change with the seed
/// (``MultiScaleLime.stability``).
#[pyclass(name = "StabilityReport", module = "multiscale_lime", frozen)]
pub(crate) struct PyStabilityReport(pub(crate) StabilityReport);

#[pymethods]
impl PyStabilityReport {
    /// Mean Pearson correlation of the fused maps over all seed pairs.
    #[getter]
    fn combined_pearson(&self) -> f64 {
        self.0.combined_pearson
    }

    /// Pearson of each seed pair's fused maps (pairs in order (0,1), (0,2)…).
    #[getter]
    fn pairwise_pearson(&self) -> Vec<f64> {
        self.0.pairwise_pearson.clone()
    }

    /// Per level, the mean Jaccard of the top-k superpixels over seed pairs.
    #[getter]
    fn level_jaccard(&self) -> Vec<f64> {
        self.0.level_jaccard.clone()
    }

    /// Per level, the ``k`` actually used (capped by the level's segments).
    #[getter]
    fn level_top_k(&self) -> Vec<usize> {
        self.0.level_top_k.clone()
    }

    /// The seeds, in order.
    #[getter]
    fn seeds(&self) -> Vec<u64> {
        self.0.seeds.clone()
    }

    /// Each seed's fused heatmap.
    #[getter]
    fn combined<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray2<f32>>> {
        self.0
            .combined
            .iter()
            .map(|h| h.values().clone().into_pyarray(py))
            .collect()
    }

    fn __repr__(&self) -> String {
        let (lo, hi) = self.0.pearson_range();
        format!(
            "StabilityReport(seeds={}, combined_pearson={:.4}, range=({lo:.4}, {hi:.4}))",
            self.0.seeds.len(),
            self.0.combined_pearson
        )
    }
}
