//! The explainer (`MultiScaleLime`), its result (`Explanation`) and one
//! level of it (`Level`).

use std::sync::Arc;

use multiscale_lime::combine::CombinedHeatmap;
use multiscale_lime::metrics::stability;
use multiscale_lime::render::panel;
use multiscale_lime::{
    Adaptive, BatchSize, BernoulliPerturber, Combiner, Explanation, HeatmapStack, Image,
    LevelExplanation, MultiScaleLime, Ridge, Segmenter,
};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::metrics::PyStabilityReport;
use crate::model::{run_detached, PyModel};
use crate::settings;

type Engine = MultiScaleLime<Arc<dyn Segmenter>, BernoulliPerturber, Ridge>;

/// Multi-scale LIME: an explainer configured once, used on any number of
/// images and models.
///
/// Every setting is checked here, so a bad value fails before any model
/// call. ``explain(image, predict)`` cuts the image into superpixels at
/// each level (coarse to fine), scores ``samples_per_segment · s'``
/// perturbed images per level with ``predict``, fits a kernel-weighted
/// ridge per level and fuses the level heatmaps with ``combiner``. The
/// same seed gives bit-identical heatmaps whatever the thread count or
/// batch size.
///
/// Parameters
/// ----------
/// levels : sequence of int
///     Desired superpixel counts, coarse to fine (default the paper's
///     ``(10, 25, 50, 100, 200)``).
/// segmenter : ``"slic"`` | ``"grid"`` | Slic | SquareGrid | Precomputed | label array
///     How each level is cut (default SLIC with ``compactness``, ``sigma``).
/// compactness, sigma : float
///     SLIC's compactness (default 5, the paper's) and pre-smoothing.
/// samples_per_segment : int
///     ``n = samples_per_segment · s'`` per level (default 10, the paper's).
/// samples : int, optional
///     A fixed ``n`` per level instead.
/// sampling : ``"independent"`` | ``"antithetic"`` | ``"balanced"`` | ``"orthogonal"``
///     How each level's masks are drawn (default independent coins, the
///     paper's; see the guide for the others).
/// share_passes : bool
///     Fit every level on the model calls of all levels (default False).
/// until_stability : float, optional
///     Adaptive sampling: add samples to each level in rounds (2 per
///     superpixel, then 1 more per round) until its map's expected
///     seed-to-seed Pearson reaches this value in (0, 1); the sample count
///     is then the budget. Not with ``share_passes``.
/// until_top_k : int, optional
///     Adaptive sampling: stop a level once its ``k`` top superpixels'
///     90 % intervals lie above all the others'.
/// response : ``"score"`` | ``"log-odds"``
///     What each level's surrogate regresses: the model's score as it is
///     (default, the paper's) or the log-odds ``ln(p / (1 - p))`` of a
///     probability, which gives a softmax or sigmoid model's map as stable
///     from far fewer samples; the scores must then lie in [0, 1].
/// kernel_width : float
///     Width of the exponential kernel on cosine distance (default 0.25,
///     ``lime``'s).
/// alpha : float
///     Ridge penalty (default 1, ``lime``'s).
/// hide_color : float | (r, g, b) | ``"mean"`` | (``"blur"``, sigma)
///     What hidden superpixels show (default 0.0, black).
/// batch_size : int, optional
///     Images per ``predict`` call (default: sized for the CPU cache).
/// seed : int
///     Seed of every random choice (default 0).
/// combiner : str | (``"gaussian"``, mean, std) | sequence of float
///     How level heatmaps are fused (default ``"trapezoid"``, the paper's;
///     also ``"inverse"``, ``"uniform"``, ``"density"``, ``"gaussian"``).
/// normalization : ``"minmax"`` | ``"positive"`` | ``"maxabs"``
///     How each level's coefficients become a heatmap (default min-max).
#[pyclass(name = "MultiScaleLime", module = "multiscale_lime", frozen)]
pub(crate) struct PyExplainer {
    engine: Engine,
    combiner: Box<dyn Combiner>,
    combiner_repr: String,
}

#[pymethods]
impl PyExplainer {
    #[new]
    #[pyo3(signature = (levels = vec![10, 25, 50, 100, 200], *, segmenter = None, compactness = 5.0, sigma = 0.0, samples_per_segment = None, samples = None, sampling = "independent", share_passes = false, until_stability = None, until_top_k = None, response = "score", kernel_width = 0.25, alpha = 1.0, hide_color = None, batch_size = None, seed = 0, combiner = None, normalization = "minmax"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        levels: Vec<usize>,
        segmenter: Option<&Bound<'_, PyAny>>,
        compactness: f64,
        sigma: f64,
        samples_per_segment: Option<usize>,
        samples: Option<usize>,
        sampling: &str,
        share_passes: bool,
        until_stability: Option<f64>,
        until_top_k: Option<usize>,
        response: &str,
        kernel_width: f64,
        alpha: f64,
        hide_color: Option<&Bound<'_, PyAny>>,
        batch_size: Option<usize>,
        seed: u64,
        combiner: Option<&Bound<'_, PyAny>>,
        normalization: &str,
    ) -> PyResult<Self> {
        let segmenter = crate::segment::parse(segmenter, compactness, sigma)?;
        let hide = match hide_color {
            Some(value) => settings::hide_color(value)?,
            None => multiscale_lime::HideColor::default(),
        };
        let (combiner, combiner_repr) = match combiner {
            Some(value) => (settings::combiner(value)?, value.repr()?.to_string()),
            None => (
                Box::new(multiscale_lime::Trapezoid) as Box<dyn Combiner>,
                "'trapezoid'".to_string(),
            ),
        };
        let mut builder = MultiScaleLime::builder()
            .levels(levels)
            .kernel_width(kernel_width)
            .hide_color(hide)
            .sampling(settings::sampling(sampling)?)
            .share_passes(share_passes)
            .response(response.parse().py_err()?)
            .seed(seed)
            .normalization(settings::normalization(normalization)?);
        builder = match (samples_per_segment, samples) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give samples_per_segment or samples, not both",
                ))
            }
            (_, Some(n)) => builder.samples(n),
            (per_segment, None) => builder.samples_per_segment(per_segment.unwrap_or(10)),
        };
        if let Some(size) = batch_size {
            builder = builder.batch_size(BatchSize::Fixed(size));
        }
        builder = match (until_stability, until_top_k) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give until_stability or until_top_k, not both",
                ))
            }
            (Some(p), None) => builder.adaptive(Adaptive::stability(p).py_err()?),
            (None, Some(k)) => builder.adaptive(Adaptive::top_k(k).py_err()?),
            (None, None) => builder,
        };
        let engine = builder
            .segmenter(segmenter)
            .surrogate(Ridge::new(alpha).py_err()?)
            .build()
            .py_err()?;
        Ok(PyExplainer {
            engine,
            combiner,
            combiner_repr,
        })
    }

    /// Explains ``predict``'s decision on ``image``.
    ///
    /// ``image`` is ``H×W×3`` RGB: ``uint8``, or floats in ``[0, 1]``.
    /// ``predict(batch)`` gets ``N×H×W×3`` ``float32`` arrays in ``[0, 1]``
    /// and returns ``N×C`` scores (anything ``numpy.asarray`` reads as
    /// numbers); it is called once on the image alone first, to learn ``C``,
    /// then in batches with the GIL held, while the engine's own work runs
    /// with it released. ``target`` explains one class, ``top_labels`` the
    /// ``k`` best (default: the predicted class).
    ///
    /// An exception raised by ``predict`` is re-raised as it was (with a
    /// note naming ``predict`` on Python ≥ 3.11) and no further batch is
    /// scored; Ctrl-C stops the explanation at the next batch.
    #[pyo3(signature = (image, predict, *, target = None, top_labels = None))]
    fn explain(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        predict: &Bound<'_, PyAny>,
        target: Option<i64>,
        top_labels: Option<i64>,
    ) -> PyResult<PyExplanation> {
        let target = settings::target(target, top_labels)?;
        let image = array::image(image)?;
        let model = PyModel::new(py, predict, &image)?;
        let (explanation, fused) = run_detached(py, Some(&model), || {
            let explanation = self.engine.explain(&image, &model, target)?;
            let fused = explanation
                .stacks()
                .iter()
                .map(|stack| self.combiner.combine(stack))
                .collect::<multiscale_lime::Result<Vec<_>>>()?;
            Ok((explanation, fused))
        })?;
        Ok(PyExplanation {
            inner: explanation,
            fused,
            image: Arc::new(image),
        })
    }

    /// How much the explanation changes with the seed: explains ``image``
    /// once per seed (at least 2) and compares the fused maps (Pearson,
    /// pairwise) and each level's top-``top_k`` superpixels (Jaccard).
    #[pyo3(signature = (image, predict, seeds, *, top_k = 5, target = None))]
    fn stability(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        predict: &Bound<'_, PyAny>,
        seeds: Vec<u64>,
        top_k: usize,
        target: Option<i64>,
    ) -> PyResult<PyStabilityReport> {
        let target = settings::target(target, None)?;
        let image = array::image(image)?;
        let model = PyModel::new(py, predict, &image)?;
        let report = run_detached(py, Some(&model), || {
            stability(
                &self.engine,
                &image,
                &model,
                target,
                &seeds,
                self.combiner.as_ref(),
                top_k,
            )
        })?;
        Ok(PyStabilityReport(report))
    }

    /// Desired superpixel counts per level.
    #[getter]
    fn levels(&self) -> Vec<usize> {
        self.engine.levels().to_vec()
    }

    /// The seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.engine.seed()
    }

    fn __repr__(&self) -> String {
        format!(
            "MultiScaleLime(levels={:?}, samples={:?}, kernel_width={}, batch_size={:?}, seed={}, combiner={})",
            self.engine.levels(),
            self.engine.sample_count(),
            self.engine.kernel_width(),
            self.engine.batch_size(),
            self.engine.seed(),
            self.combiner_repr
        )
    }
}

/// The result of ``MultiScaleLime.explain``: the model's prediction, each
/// level's fit and heatmap, and the fused heatmap, per explained class.
///
/// ``heatmap``, ``weights`` and ``levels`` are those of the first explained
/// class (the predicted one by default); ``heatmap_for(c)`` and
/// ``levels_for(c)`` give any other explained class.
#[pyclass(name = "Explanation", module = "multiscale_lime", frozen)]
pub(crate) struct PyExplanation {
    inner: Explanation,
    fused: Vec<CombinedHeatmap>,
    image: Arc<Image>,
}

impl PyExplanation {
    fn index(&self, class: Option<usize>) -> PyResult<usize> {
        match class {
            None => Ok(0),
            Some(c) => self
                .inner
                .stacks()
                .iter()
                .position(|s| s.class() == c)
                .ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "class {c} was not explained (explained: {:?})",
                        self.classes()
                    ))
                }),
        }
    }

    fn stack(&self, class: Option<usize>) -> PyResult<(&HeatmapStack, &CombinedHeatmap)> {
        let i = self.index(class)?;
        Ok((&self.inner.stacks()[i], &self.fused[i]))
    }
}

#[pymethods]
impl PyExplanation {
    /// The model's scores on the original image, ``(C,)`` ``float32``.
    #[getter]
    fn prediction<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.prediction().clone().into_pyarray(py)
    }

    /// The class with the highest score (lowest index on ties).
    #[getter]
    fn predicted_class(&self) -> usize {
        self.inner.predicted_class()
    }

    /// The explained classes, in order.
    #[getter]
    fn classes(&self) -> Vec<usize> {
        self.inner
            .stacks()
            .iter()
            .map(HeatmapStack::class)
            .collect()
    }

    /// The fused heatmap of the first explained class, ``(H, W)`` ``float32``.
    #[getter]
    fn heatmap<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.fused[0].heatmap.values().clone().into_pyarray(py)
    }

    /// The fused heatmap of ``class_``.
    fn heatmap_for<'py>(
        &self,
        py: Python<'py>,
        class_: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (_, fused) = self.stack(Some(class_))?;
        Ok(fused.heatmap.values().clone().into_pyarray(py))
    }

    /// The fusion weights of the first explained class, ``(L,)``
    /// ``float64``, one per level in request order, summing to 1 (for
    /// ``"density"``, which is not a weighted average, ``1/L`` each).
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.fused[0].weights.clone().into_pyarray(py)
    }

    /// Each level's segmentation, ``(H, W)`` ``uint32`` labels from 0, in
    /// request order.
    #[getter]
    fn segmentations<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray2<u32>>> {
        self.inner
            .segmentations()
            .iter()
            .map(|s| s.labels().clone().into_pyarray(py))
            .collect()
    }

    /// The levels of the first explained class, in request order.
    #[getter]
    fn levels(&self) -> Vec<PyLevel> {
        self.inner.stacks()[0]
            .levels()
            .iter()
            .cloned()
            .map(PyLevel)
            .collect()
    }

    /// The levels of ``class_``.
    fn levels_for(&self, class_: usize) -> PyResult<Vec<PyLevel>> {
        let (stack, _) = self.stack(Some(class_))?;
        Ok(stack.levels().iter().cloned().map(PyLevel).collect())
    }

    /// The paper's panel figure (each level's superpixels over the image,
    /// its heatmap below; the fused heatmap last) as an ``H×W×3`` ``uint8``
    /// array; written as a PNG to ``path`` when given.
    #[pyo3(signature = (path = None, *, class_ = None, colormap = "viridis", scale = 2))]
    fn panel<'py>(
        &self,
        py: Python<'py>,
        path: Option<std::path::PathBuf>,
        class_: Option<usize>,
        colormap: &str,
        scale: u32,
    ) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let (stack, fused) = self.stack(class_)?;
        let colormap = settings::colormap(colormap)?;
        let range = if fused.heatmap.values().iter().any(|&v| v < 0.0) {
            (-1.0, 1.0)
        } else {
            (0.0, 1.0)
        };
        let figure = panel(&self.image, stack, fused, colormap, range, scale).py_err()?;
        if let Some(path) = path {
            crate::render::save(&figure, &path)?;
        }
        array::rgb8(py, figure)
    }

    fn __repr__(&self) -> String {
        let (h, w) = self.fused[0].heatmap.dim();
        format!(
            "Explanation(classes={:?}, predicted_class={}, levels={:?}, heatmap=<{h}×{w}>)",
            self.classes(),
            self.inner.predicted_class(),
            self.inner.stacks()[0].counts()
        )
    }
}

/// One level of an explanation: its segmentation, surrogate fit and heatmap.
#[pyclass(name = "Level", module = "multiscale_lime", frozen)]
pub(crate) struct PyLevel(LevelExplanation);

#[pymethods]
impl PyLevel {
    /// The superpixel count asked for.
    #[getter]
    fn desired(&self) -> usize {
        self.0.desired
    }

    /// The superpixel count the segmenter produced (``s'``).
    #[getter]
    fn actual(&self) -> usize {
        self.0.actual
    }

    /// Perturbed samples the surrogate was fitted on (row 0 is the
    /// unperturbed image); with ``share_passes`` those of every level.
    #[getter]
    fn samples(&self) -> usize {
        self.0.samples
    }

    /// Model calls spent on this level's own passes.
    #[getter]
    fn calls(&self) -> usize {
        self.0.calls
    }

    /// The ridge coefficient of each superpixel, ``(s',)`` ``float64``.
    #[getter]
    fn coefficients<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.0.coefficients.clone().into_pyarray(py)
    }

    /// The ridge intercept.
    #[getter]
    fn intercept(&self) -> f64 {
        self.0.intercept
    }

    /// Weighted R² of the surrogate on its samples.
    #[getter]
    fn r2(&self) -> f64 {
        self.0.score
    }

    /// The surrogate's prediction for the unperturbed image.
    #[getter]
    fn local_prediction(&self) -> f64 {
        self.0.local_prediction
    }

    /// The standard error of each coefficient (sandwich estimator), ``(s',)``
    /// ``float64``; ``None`` when the level had no more samples than
    /// parameters.
    #[getter]
    fn std_errors<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.0.std_errors.clone().map(|s| s.into_pyarray(py))
    }

    /// A ``confidence`` interval per coefficient, ``(s', 2)`` ``float64``
    /// (low, high): where another draw of as many masks would put it.
    /// ``None`` without standard errors.
    #[pyo3(signature = (confidence = 0.9))]
    fn intervals<'py>(
        &self,
        py: Python<'py>,
        confidence: f64,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        let Some(pairs) = self.0.intervals(confidence).py_err()? else {
            return Ok(None);
        };
        let flat: Vec<f64> = pairs.iter().flat_map(|&(lo, hi)| [lo, hi]).collect();
        let array = multiscale_lime::ndarray::Array2::from_shape_vec((pairs.len(), 2), flat)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Some(array.into_pyarray(py)))
    }

    /// The level's heatmap (normalised coefficients painted on their
    /// superpixels), ``(H, W)`` ``float32``.
    #[getter]
    fn heatmap<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.0.heatmap.values().clone().into_pyarray(py)
    }

    /// The level's labels, ``(H, W)`` ``uint32`` from 0.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<u32>> {
        self.0.segmentation.labels().clone().into_pyarray(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Level(desired={}, actual={}, samples={}, r2={:.4})",
            self.0.desired, self.0.actual, self.0.samples, self.0.score
        )
    }
}
