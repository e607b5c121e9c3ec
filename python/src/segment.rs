//! Segmenters: SLIC (scikit-image's), the square grid and precomputed
//! labels, as Python classes, and `slic()` with scikit-image's signature.

use std::sync::Arc;

use multiscale_lime::{Precomputed, Segmenter, Slic, SquareGrid};
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::model::run_detached;

/// SLIC superpixels, label for label those of scikit-image's
/// ``skimage.segmentation.slic`` (0.26) with the same parameters.
///
/// ``Slic(compactness=5.0).segment(image, 50)`` returns an ``(H, W)``
/// ``uint32`` label map numbered from 0. The class defaults to the
/// paper's compactness 5; the explainer cuts its superpixels with
/// compactness 20 unless told otherwise (``compactness=``, or 5 under
/// ``preset="paper"``).
#[pyclass(name = "Slic", module = "multiscale_lime", frozen)]
#[derive(Clone)]
pub(crate) struct PySlic(pub(crate) Slic);

#[pymethods]
impl PySlic {
    #[new]
    #[pyo3(signature = (compactness = 5.0, sigma = 0.0, max_num_iter = 10, enforce_connectivity = true, min_size_factor = 0.5, max_size_factor = 3.0))]
    fn new(
        compactness: f64,
        sigma: f64,
        max_num_iter: usize,
        enforce_connectivity: bool,
        min_size_factor: f64,
        max_size_factor: f64,
    ) -> PyResult<Self> {
        Slic::builder()
            .compactness(compactness)
            .sigma(sigma)
            .max_iter(max_num_iter)
            .enforce_connectivity(enforce_connectivity)
            .min_size_factor(min_size_factor)
            .max_size_factor(max_size_factor)
            .build()
            .py_err()
            .map(PySlic)
    }

    /// Segments ``image`` into about ``n_segments`` superpixels (the GIL is
    /// released meanwhile).
    fn segment<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        n_segments: usize,
    ) -> PyResult<Bound<'py, PyArray2<u32>>> {
        segment_with(py, &self.0, image, n_segments)
    }

    #[getter]
    fn compactness(&self) -> f64 {
        self.0.compactness()
    }

    #[getter]
    fn sigma(&self) -> f64 {
        self.0.sigma()
    }

    /// Pickles as its parameters (multiprocessing, joblib).
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (Bound<'py, PyAny>, (f64, f64, usize, bool, f64, f64)) {
        let s = &slf.get().0;
        (
            slf.get_type().into_any(),
            (
                s.compactness(),
                s.sigma(),
                s.max_iter(),
                s.enforces_connectivity(),
                s.min_size_factor(),
                s.max_size_factor(),
            ),
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Slic(compactness={}, sigma={}, max_num_iter={}, enforce_connectivity={})",
            self.0.compactness(),
            self.0.sigma(),
            self.0.max_iter(),
            if self.0.enforces_connectivity() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// A square grid of about ``n`` cells (``round(√n)`` per side): the simplest
/// segmenter, and a strong baseline.
#[pyclass(name = "SquareGrid", module = "multiscale_lime", frozen)]
#[derive(Clone)]
pub(crate) struct PySquareGrid;

#[pymethods]
impl PySquareGrid {
    #[new]
    fn new() -> Self {
        PySquareGrid
    }

    /// The grid's ``(H, W)`` ``uint32`` label map for ``image``.
    fn segment<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        n_segments: usize,
    ) -> PyResult<Bound<'py, PyArray2<u32>>> {
        segment_with(py, &SquareGrid, image, n_segments)
    }

    /// Pickles as itself (multiprocessing, joblib).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyAny>, ()) {
        (slf.get_type().into_any(), ())
    }

    fn __repr__(&self) -> &'static str {
        "SquareGrid()"
    }
}

/// A label map of your own (an annotation, another tool's superpixels),
/// used at every level: labels ``0..K``, each present.
#[pyclass(name = "Precomputed", module = "multiscale_lime", frozen)]
#[derive(Clone)]
pub(crate) struct PyPrecomputed(pub(crate) Precomputed);

#[pymethods]
impl PyPrecomputed {
    #[new]
    fn new(labels: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyPrecomputed(Precomputed::new(array::segmentation(
            labels,
        )?)))
    }

    /// The label map (for an image of its size; ``n_segments`` is ignored
    /// beyond the range check).
    fn segment<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        n_segments: usize,
    ) -> PyResult<Bound<'py, PyArray2<u32>>> {
        segment_with(py, &self.0, image, n_segments)
    }

    /// Pickles as its label map (multiprocessing, joblib).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (Bound<'py, PyAny>, (Bound<'py, PyArray2<u32>>,)) {
        let labels = slf.get().labels(slf.py());
        (slf.get_type().into_any(), (labels,))
    }

    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<u32>> {
        self.0.segmentation().labels().clone().into_pyarray(py)
    }

    fn __repr__(&self) -> String {
        let (h, w) = self.0.segmentation().dim();
        format!(
            "Precomputed(<{h}×{w} labels, {} segments>)",
            self.0.segmentation().count()
        )
    }
}

fn segment_with<'py>(
    py: Python<'py>,
    segmenter: &(impl Segmenter + ?Sized),
    image: &Bound<'py, PyAny>,
    n_segments: usize,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    let image = array::image(image)?;
    let segmentation = run_detached(py, None, || segmenter.segment(&image, n_segments))?;
    Ok(segmentation.labels().clone().into_pyarray(py))
}

/// What the explainer's ``segmenter=`` takes: ``"slic"`` (with the
/// explainer's ``compactness`` and ``sigma``), ``"grid"``, a ``Slic``,
/// ``SquareGrid`` or ``Precomputed`` object, or a label map (an integer
/// array, as ``Precomputed``).
pub(crate) fn parse(
    segmenter: Option<&Bound<'_, PyAny>>,
    compactness: f64,
    sigma: f64,
) -> PyResult<Arc<dyn Segmenter>> {
    let slic = || -> PyResult<Arc<dyn Segmenter>> {
        Ok(Arc::new(
            Slic::builder()
                .compactness(compactness)
                .sigma(sigma)
                .build()
                .py_err()?,
        ))
    };
    let Some(segmenter) = segmenter else {
        return slic();
    };
    if let Ok(name) = segmenter.extract::<String>() {
        return match name.as_str() {
            "slic" => slic(),
            "grid" => Ok(Arc::new(SquareGrid)),
            other => Err(crate::error::invalid(format!(
                "segmenter {other:?}: expected \"slic\", \"grid\", a Slic, SquareGrid or Precomputed object, or a label array"
            ))),
        };
    }
    if let Ok(slic) = segmenter.cast::<PySlic>() {
        return Ok(Arc::new(slic.get().0));
    }
    if segmenter.cast::<PySquareGrid>().is_ok() {
        return Ok(Arc::new(SquareGrid));
    }
    if let Ok(pre) = segmenter.cast::<PyPrecomputed>() {
        return Ok(Arc::new(pre.get().0.clone()));
    }
    Ok(Arc::new(Precomputed::new(array::segmentation(segmenter)?)))
}

/// SLIC superpixels with ``skimage.segmentation.slic``'s parameters and
/// defaults; returns the same labels on every pixel (``start_label=1``, as
/// scikit-image's default; ``0`` as the crate's). The GIL is released
/// while it runs.
///
/// The image is ``H×W×3`` RGB (``uint8``, or floats in ``[0, 1]``, taken
/// as ``float32``); only scikit-image's ``convert2lab=True``,
/// ``slic_zero=False`` behaviour is offered.
#[pyfunction]
#[pyo3(signature = (image, n_segments = 100, compactness = 10.0, max_num_iter = 10, sigma = 0.0, *, enforce_connectivity = true, min_size_factor = 0.5, max_size_factor = 3.0, start_label = 1))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn slic<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    n_segments: usize,
    compactness: f64,
    max_num_iter: usize,
    sigma: f64,
    enforce_connectivity: bool,
    min_size_factor: f64,
    max_size_factor: f64,
    start_label: u32,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    if start_label > 1 {
        return Err(crate::error::invalid(format!(
            "start_label {start_label}: expected 0 or 1 (as scikit-image)"
        )));
    }
    let slic = PySlic::new(
        compactness,
        sigma,
        max_num_iter,
        enforce_connectivity,
        min_size_factor,
        max_size_factor,
    )?;
    let image = array::image(image)?;
    let segmentation = run_detached(py, None, || slic.0.segment(&image, n_segments))?;
    Ok(segmentation
        .labels()
        .mapv(|l| l + start_label)
        .into_pyarray(py))
}
