//! The weighted ridge surrogate on its own, for checking it against other
//! tools or fitting your own masks.

use multiscale_lime::ndarray::{Array1, Array2};
use multiscale_lime::{Ridge, SurrogateFitter};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::error::IntoPy;

/// A fitted surrogate ``ŷ = intercept + z · coefficients``.
#[pyclass(name = "Surrogate", module = "multiscale_lime", frozen)]
pub(crate) struct PySurrogate {
    coefficients: Array1<f64>,
    intercept: f64,
    r2: f64,
    local_prediction: f64,
}

#[pymethods]
impl PySurrogate {
    /// One coefficient per feature, ``(K,)`` ``float64``.
    #[getter]
    fn coefficients<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.coefficients.clone().into_pyarray(py)
    }
    /// The intercept.
    #[getter]
    fn intercept(&self) -> f64 {
        self.intercept
    }
    /// Weighted R² on the fitted samples (scikit-learn's ``score`` with
    /// ``sample_weight``).
    #[getter]
    fn r2(&self) -> f64 {
        self.r2
    }
    /// ``intercept + Σ coefficients`` (every feature on).
    #[getter]
    fn local_prediction(&self) -> f64 {
        self.local_prediction
    }
    fn __repr__(&self) -> String {
        format!(
            "Surrogate(features={}, intercept={}, r2={})",
            self.coefficients.len(),
            self.intercept,
            self.r2
        )
    }
}

/// Fits the explainer's weighted ridge: the same solution as
/// ``sklearn.linear_model.Ridge(alpha, fit_intercept=...).fit(z, y,
/// sample_weight=sample_weight)``. ``z`` is ``n×K`` (masks, taken as
/// ``float32``), ``y`` and ``sample_weight`` have ``n`` entries.
#[pyfunction]
#[pyo3(signature = (z, y, sample_weight, *, alpha = 1.0, fit_intercept = true))]
pub(crate) fn fit_ridge(
    py: Python<'_>,
    z: PyReadonlyArray2<'_, f32>,
    y: PyReadonlyArray1<'_, f64>,
    sample_weight: PyReadonlyArray1<'_, f64>,
    alpha: f64,
    fit_intercept: bool,
) -> PyResult<PySurrogate> {
    let ridge = Ridge::new(alpha).py_err()?.fit_intercept(fit_intercept);
    let (z, y, w): (Array2<f32>, Array1<f64>, Array1<f64>) = (
        z.as_array().to_owned(),
        y.as_array().to_owned(),
        sample_weight.as_array().to_owned(),
    );
    let fit = py
        .detach(|| ridge.fit(z.view(), y.view(), w.view()))
        .py_err()?;
    Ok(PySurrogate {
        coefficients: fit.coefficients,
        intercept: fit.intercept,
        r2: fit.r2,
        local_prediction: fit.local_prediction,
    })
}
