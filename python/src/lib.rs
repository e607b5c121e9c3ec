//! Python bindings of multiscale-lime: the module `multiscale_lime._core`,
//! which the pure-Python package `multiscale_lime` re-exports.
//!
//! One file per concept, as in the crate: `array` (numpy in and out),
//! `model` (a Python callable as a classifier; running with the GIL
//! released), `settings` (Python values of the settings), `segment`,
//! `explainer`, `surrogate`, `metrics`, `render`, `slide` (whole-slide
//! images), `error`; `pickle` (the state of a pickled explanation or
//! level, and both rebuilt from it).

mod array;
mod error;
mod explainer;
mod metrics;
mod model;
mod pickle;
mod render;
mod segment;
mod settings;
mod slide;
mod surrogate;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<explainer::PyExplainer>()?;
    m.add_class::<explainer::PyExplanation>()?;
    m.add_class::<explainer::PyLevel>()?;
    m.add_class::<segment::PySlic>()?;
    m.add_class::<segment::PySquareGrid>()?;
    m.add_class::<segment::PyPrecomputed>()?;
    m.add_class::<surrogate::PySurrogate>()?;
    m.add_class::<metrics::PyAccuracyReport>()?;
    m.add_class::<metrics::PyCurve>()?;
    m.add_class::<metrics::PyStabilityReport>()?;
    m.add_class::<slide::PySlide>()?;
    m.add_class::<slide::PyTissueMask>()?;
    m.add_function(wrap_pyfunction!(settings::settings_table, m)?)?;
    m.add_function(wrap_pyfunction!(segment::slic, m)?)?;
    m.add_function(wrap_pyfunction!(surrogate::fit_ridge, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::pointing_game, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::relevance_mass, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::pixel_auc, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::pearson, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::jaccard_at_k, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::accuracy, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::deletion_curve, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::insertion_curve, m)?)?;
    m.add_function(wrap_pyfunction!(render::colorize, m)?)?;
    m.add_function(wrap_pyfunction!(render::overlay, m)?)?;
    m.add_function(wrap_pyfunction!(render::boundaries, m)?)?;
    m.add_function(wrap_pyfunction!(render::save_png, m)?)?;
    m.add_function(wrap_pyfunction!(slide::stitch, m)?)?;
    m.add_function(wrap_pyfunction!(slide::write_ome_tiff, m)?)?;
    m.add_function(wrap_pyfunction!(slide::qupath_geojson, m)?)?;
    m.add_function(wrap_pyfunction!(pickle::explanation_from_state, m)?)?;
    m.add_function(wrap_pyfunction!(pickle::level_from_state, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
