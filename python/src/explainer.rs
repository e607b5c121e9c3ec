//! The explainer (`MultiScaleLime`), its result (`Explanation`) and one
//! level of it (`Level`).

use std::sync::Arc;

use multiscale_lime::combine::CombinedHeatmap;
use multiscale_lime::metrics::stability;
use multiscale_lime::render::{panel, PanelLayout};
use multiscale_lime::{
    BernoulliPerturber, Config, Explanation, HeatmapStack, Image, LevelExplanation, MultiScaleLime,
    Preset, Ridge, Segmenter,
};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3};
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::metrics::PyStabilityReport;
use crate::model::{run_detached, PyModel};
use crate::pickle;
use crate::settings;

type Engine = MultiScaleLime<Arc<dyn Segmenter>, BernoulliPerturber, Ridge>;

/// Multi-scale LIME: an explainer configured once, used on any number of
/// images and models.
///
/// Every setting is checked here, so a bad value fails before any model
/// call. ``explain(image, predict)`` cuts the image into superpixels at
/// each level (coarse to fine), scores ``samples_per_segment · s'``
/// perturbed images per level with ``predict``, fits a kernel-weighted
/// ridge per level and fuses the level heatmaps with ``fusion``. The same
/// seed gives bit-identical heatmaps whatever the thread count or batch
/// size.
///
/// Every setting but ``preset``, ``segmenter`` and ``sigma`` is one of the
/// library's settings (``multiscale_lime.SETTINGS``), with the name, the
/// text form and the default ``mslime`` has (``--hide-color`` is
/// ``hide_color``). ``None`` means the preset's value.
///
/// Parameters
/// ----------
/// levels : sequence of int
///     Desired superpixel counts, coarse to fine (default
///     ``(10, 25, 50, 100, 200)``).
/// preset : ``"recommended"`` | ``"paper"``
///     Where every setting starts (default ``"recommended"``: measured most
///     faithful at the fewest model calls; ``"paper"``: Hajian &
///     Ebrahimi's setting exactly).
/// segmenter : ``"slic"`` | ``"grid"`` | Slic | SquareGrid | Precomputed | label array
///     How each level is cut (default SLIC with ``compactness``, ``sigma``).
/// sigma : float
///     SLIC's pre-smoothing (default 0).
/// compactness : float
///     SLIC's compactness (recommended 20; paper 5).
/// samples_per_segment : int
///     ``n = samples_per_segment · s'`` per level (recommended 2; paper 10).
/// samples : int
///     A fixed ``n`` per level instead.
/// sampling : ``"independent"`` | ``"antithetic"`` | ``"balanced"`` | ``"orthogonal"``
///     How each level's masks are drawn (recommended orthogonal arrays;
///     paper independent coins).
/// response : ``"auto"`` | ``"score"`` | ``"log-odds"``
///     What each level's surrogate regresses (recommended ``"auto"``: the
///     log-odds when ``predict`` scores the image as a probability, else
///     the score; paper ``"score"``).
/// schedule : str
///     ``"per-level"`` (default), ``"shared-passes"``,
///     ``"until-stability:P"`` or ``"until-top-k:K"`` (adaptive rounds,
///     optionally ``",start=M,step=M"``; the sample count is the budget).
/// hide_color : float | (r, g, b) | ``"black"`` | ``"white"`` | ``"mean"`` | ``"blur:SIGMA"`` | (``"blur"``, sigma)
///     What hidden superpixels show (default black).
/// fusion : str | (``"gaussian"``, mean, std) | sequence of float
///     How level heatmaps are fused (recommended ``"density"``; paper
///     ``"trapezoid"``; also ``"feathered"`` or ``"feathered:WIDTH"``
///     (density with superpixel borders blurred), ``"inverse"``,
///     ``"uniform"``, ``"gaussian"``).
/// kernel_width : float
///     Width of the exponential kernel on cosine distance (default 0.25).
/// ridge_alpha : float
///     Ridge penalty (default 1, ``lime``'s).
/// normalization : ``"minmax"`` | ``"positive"`` | ``"maxabs"``
///     How each level's coefficients become a heatmap (default min-max).
/// max_pixels, max_segments, max_mask_entries, max_batch_bytes : int
///     Bounds on what one explanation may allocate (its pixels, a level's
///     superpixels and mask entries, a batch buffer's bytes), checked
///     before allocating (``LimitError``).
/// seed : int
///     Seed of every random choice (default 0).
/// batch_size : int | ``"auto"``
///     Images per ``predict`` call (default: sized for the CPU cache).
#[pyclass(name = "MultiScaleLime", module = "multiscale_lime", frozen)]
pub(crate) struct PyExplainer {
    engine: Engine,
    config: Config,
    preset: Preset,
    /// The `segmenter` and `sigma` arguments as given, for pickling and
    /// `repr`.
    segmenter_arg: Option<Py<PyAny>>,
    sigma: f64,
}

#[pymethods]
impl PyExplainer {
    #[new]
    #[pyo3(signature = (levels = None, *, preset = "recommended", segmenter = None, sigma = 0.0, compactness = None, samples_per_segment = None, samples = None, sampling = None, response = None, schedule = None, hide_color = None, fusion = None, kernel_width = None, ridge_alpha = None, normalization = None, max_pixels = None, max_segments = None, max_mask_entries = None, max_batch_bytes = None, seed = None, batch_size = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        levels: Option<&Bound<'_, PyAny>>,
        preset: &str,
        segmenter: Option<&Bound<'_, PyAny>>,
        sigma: f64,
        compactness: Option<&Bound<'_, PyAny>>,
        samples_per_segment: Option<&Bound<'_, PyAny>>,
        samples: Option<&Bound<'_, PyAny>>,
        sampling: Option<&Bound<'_, PyAny>>,
        response: Option<&Bound<'_, PyAny>>,
        schedule: Option<&Bound<'_, PyAny>>,
        hide_color: Option<&Bound<'_, PyAny>>,
        fusion: Option<&Bound<'_, PyAny>>,
        kernel_width: Option<&Bound<'_, PyAny>>,
        ridge_alpha: Option<&Bound<'_, PyAny>>,
        normalization: Option<&Bound<'_, PyAny>>,
        max_pixels: Option<&Bound<'_, PyAny>>,
        max_segments: Option<&Bound<'_, PyAny>>,
        max_mask_entries: Option<&Bound<'_, PyAny>>,
        max_batch_bytes: Option<&Bound<'_, PyAny>>,
        seed: Option<&Bound<'_, PyAny>>,
        batch_size: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let preset: Preset = preset.parse().py_err()?;
        let mut config = preset.config();
        if samples_per_segment.is_some() && samples.is_some() {
            return Err(crate::error::invalid(
                "give samples_per_segment or samples, not both",
            ));
        }
        if segmenter.is_some() && compactness.is_some() {
            return Err(crate::error::invalid(
                "give compactness on the segmenter you pass (Slic(compactness=...)), not beside it",
            ));
        }
        // In the order of the library's settings table.
        let given = [
            ("levels", levels),
            ("compactness", compactness),
            ("samples-per-segment", samples_per_segment),
            ("samples", samples),
            ("sampling", sampling),
            ("response", response),
            ("schedule", schedule),
            ("hide-color", hide_color),
            ("fusion", fusion),
            ("kernel-width", kernel_width),
            ("ridge-alpha", ridge_alpha),
            ("normalization", normalization),
            ("max-pixels", max_pixels),
            ("max-segments", max_segments),
            ("max-mask-entries", max_mask_entries),
            ("max-batch-bytes", max_batch_bytes),
            ("seed", seed),
            ("batch-size", batch_size),
        ];
        for (name, value) in given {
            if let Some(value) = value {
                config
                    .set(name, &settings::setting_text(name, value)?)
                    .py_err()?;
            }
        }
        let segmenter_arg = segmenter.map(|s| s.clone().unbind());
        let segmenter = crate::segment::parse(segmenter, config.compactness, sigma)?;
        let engine = config.builder().segmenter(segmenter).build().py_err()?;
        Ok(PyExplainer {
            engine,
            config,
            preset,
            segmenter_arg,
            sigma,
        })
    }

    /// Explains ``predict``'s decision on ``image``.
    ///
    /// ``image`` is ``H×W×3`` RGB: ``uint8``, or floats in ``[0, 1]``; an
    /// ``H×W`` grayscale image is repeated into RGB and an ``H×W×4`` RGBA
    /// image loses its alpha channel, as ``lime`` reads them.
    /// ``predict(batch)`` gets ``N×H×W×3`` ``float32`` arrays in ``[0, 1]``
    /// and returns ``N×C`` scores (anything ``numpy.asarray`` reads as
    /// numbers); it is called once on the image alone first (to learn ``C``;
    /// that call is the prediction too),
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
        let image = array::explained_image(image)?;
        let model = PyModel::new(py, predict, &image)?;
        let explanation = run_detached(py, Some(&model), || {
            self.engine.explain(&image, &model, target)
        })?;
        Ok(PyExplanation::new(explanation, image))
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
        let image = array::explained_image(image)?;
        let model = PyModel::new(py, predict, &image)?;
        let report = run_detached(py, Some(&model), || {
            stability(
                &self.engine,
                &image,
                &model,
                target,
                &seeds,
                self.engine.fusion(),
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

    /// Every setting in the library's text form, keyed by keyword.
    #[getter]
    fn settings(&self) -> Vec<(String, String)> {
        Config::SETTINGS
            .iter()
            .filter_map(|s| {
                self.config
                    .get(s.name)
                    .map(|v| (s.name.replace('-', "_"), v))
            })
            .collect()
    }

    /// The preset the settings started from.
    #[getter]
    fn preset(&self) -> &'static str {
        self.preset.name()
    }

    /// Pickling (multiprocessing, joblib): the explainer is rebuilt from
    /// its preset and every setting's text form, so it explains alike bit
    /// for bit. A segmenter object passed in must itself pickle.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, ())> {
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("preset", self.preset.name())?;
        for (name, value) in self.settings() {
            if name == "levels" {
                kwargs.set_item(name, self.engine.levels().to_vec())?;
            } else if !(name == "compactness" && self.segmenter_arg.is_some()) {
                kwargs.set_item(name, value)?;
            }
        }
        if let Some(segmenter) = &self.segmenter_arg {
            kwargs.set_item("segmenter", segmenter.bind(py))?;
        }
        kwargs.set_item("sigma", self.sigma)?;
        let class = py.get_type::<PyExplainer>();
        let partial = py
            .import("functools")?
            .getattr("partial")?
            .call((class,), Some(&kwargs))?;
        Ok((partial, ()))
    }

    /// The constructor call that makes this explainer again: the preset,
    /// the segmenter and `sigma` as given, every setting as Python writes it.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = vec![format!("preset='{}'", self.preset.name())];
        if let Some(segmenter) = &self.segmenter_arg {
            parts.push(format!("segmenter={}", segmenter.bind(py).repr()?));
        }
        if self.sigma != 0.0 {
            parts.push(format!("sigma={:?}", self.sigma));
        }
        for (name, value) in self.settings() {
            // The segmenter given carries its own compactness.
            if name == "compactness" && self.segmenter_arg.is_some() {
                continue;
            }
            // As Python would write the value back: numbers bare, levels as
            // a tuple, text quoted.
            let shown = if name == "levels" {
                match value.split(',').collect::<Vec<_>>().as_slice() {
                    [one] => format!("({one},)"),
                    many => format!("({})", many.join(", ")),
                }
            } else if value.parse::<f64>().is_ok() {
                value
            } else {
                format!("'{value}'")
            };
            parts.push(format!("{name}={shown}"));
        }
        Ok(format!("MultiScaleLime({})", parts.join(", ")))
    }
}

/// The result of ``MultiScaleLime.explain``: the model's prediction, each
/// level's fit and heatmap, and the fused heatmap, per explained class.
///
/// ``heatmap``, ``weights`` and ``levels`` are those of the first explained
/// class (the predicted one by default); ``heatmap_for(c)`` and
/// ``levels_for(c)`` give any other explained class.
///
/// Explanations pickle (multiprocessing, joblib): the copy holds the same
/// arrays bit for bit and draws the same panel.
#[pyclass(name = "Explanation", module = "multiscale_lime", frozen)]
pub(crate) struct PyExplanation {
    inner: Explanation,
    image: Arc<Image>,
}

impl PyExplanation {
    /// The explanation of `image` (from `explain`, or rebuilt from a
    /// pickle by `pickle.rs`).
    pub(crate) fn new(explanation: Explanation, image: Image) -> Self {
        PyExplanation {
            inner: explanation,
            image: Arc::new(image),
        }
    }

    /// The crate's explanation (for the slide functions' GeoJSON and
    /// pickling).
    pub(crate) fn explanation(&self) -> &Explanation {
        &self.inner
    }

    /// The explained image (pickled along).
    pub(crate) fn image(&self) -> &Image {
        &self.image
    }

    fn index(&self, class: Option<usize>) -> PyResult<usize> {
        match class {
            None => Ok(0),
            Some(c) => self
                .inner
                .stacks()
                .iter()
                .position(|s| s.class() == c)
                .ok_or_else(|| {
                    crate::error::invalid(format!(
                        "class {c} was not explained (explained: {:?})",
                        self.classes()
                    ))
                }),
        }
    }

    fn stack(&self, class: Option<usize>) -> PyResult<(&HeatmapStack, &CombinedHeatmap)> {
        let i = self.index(class)?;
        let stack = &self.inner.stacks()[i];
        let fused = self.inner.fused_for(stack.class()).ok_or_else(|| {
            crate::error::invalid("the explanation holds no fused map for this class")
        })?;
        Ok((stack, fused))
    }
}

#[pymethods]
impl PyExplanation {
    /// The model's scores on the original image, ``(C,)`` ``float32``.
    #[getter]
    fn prediction<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.prediction().clone().into_pyarray(py)
    }

    /// What the surrogates regressed: ``"score"`` or ``"log-odds"`` (what
    /// ``response="auto"`` became for this image).
    #[getter]
    fn response(&self) -> &'static str {
        self.inner.response().name()
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
        self.inner.fused().heatmap.values().clone().into_pyarray(py)
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
        self.inner.fused().weights.clone().into_pyarray(py)
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
    /// its heatmap below; the fused heatmap last; titles and a colour bar)
    /// as an ``H×W×3`` ``uint8`` array; written as a PNG to ``path`` when
    /// given. Tiles are the image enlarged ``scale`` times; by default
    /// enough for tiles of at least 384 pixels (fit for print).
    #[pyo3(signature = (path = None, *, class_ = None, colormap = "viridis", scale = None))]
    fn panel<'py>(
        &self,
        py: Python<'py>,
        path: Option<std::path::PathBuf>,
        class_: Option<usize>,
        colormap: &str,
        scale: Option<u32>,
    ) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let (stack, fused) = self.stack(class_)?;
        let scale = scale
            .unwrap_or_else(|| PanelLayout::print_scale((self.image.height(), self.image.width())));
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

    /// Pickling (multiprocessing, joblib): the explanation's arrays and
    /// numbers as a versioned dict (`pickle.rs`), rebuilt by
    /// ``multiscale_lime._core._explanation_from_state``.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<pickle::Reduced<'py>> {
        let state = pickle::explanation_state(py, self)?;
        pickle::reduce(py, "_explanation_from_state", state)
    }

    fn __repr__(&self) -> String {
        let (h, w) = self.inner.fused().heatmap.dim();
        format!(
            "Explanation(classes={:?}, predicted_class={}, levels={:?}, heatmap=<{h}×{w}>)",
            self.classes(),
            self.inner.predicted_class(),
            self.inner.stacks()[0].counts()
        )
    }
}

/// One level of an explanation: its segmentation, surrogate fit and heatmap.
///
/// Levels pickle, as explanations do.
#[pyclass(name = "Level", module = "multiscale_lime", frozen)]
pub(crate) struct PyLevel(LevelExplanation);

impl PyLevel {
    /// A level (of `explain`'s explanation, or rebuilt from a pickle by
    /// `pickle.rs`).
    pub(crate) fn new(level: LevelExplanation) -> Self {
        PyLevel(level)
    }
}

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
        self.0.r2
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
            .map_err(|e| crate::error::invalid(e.to_string()))?;
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

    /// Pickling (multiprocessing, joblib): the level's arrays and numbers
    /// as a versioned dict (`pickle.rs`), rebuilt by
    /// ``multiscale_lime._core._level_from_state``.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<pickle::Reduced<'py>> {
        let state = pickle::level_state(py, &self.0)?;
        pickle::reduce(py, "_level_from_state", state)
    }

    fn __repr__(&self) -> String {
        format!(
            "Level(desired={}, actual={}, samples={}, r2={:.4})",
            self.0.desired, self.0.actual, self.0.samples, self.0.r2
        )
    }
}
