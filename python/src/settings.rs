//! Python values for the explainer's settings: hide colours, combiners,
//! sampling designs, normalisations, targets and colour maps.

use multiscale_lime::render::Colormap;
use multiscale_lime::{
    Combiner, CustomWeights, Density, Gaussian, HideColor, InverseTrapezoid, Normalization,
    Sampling, Target, Trapezoid, Uniform,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::IntoPy;

fn repr(value: &Bound<'_, PyAny>) -> String {
    value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// ``hide_color``: a grey level (``0.0`` black, the default), an RGB
/// triple in ``[0, 1]``, ``"mean"`` (each segment's mean colour, as
/// ``lime``'s ``hide_color=None``), or ``("blur", sigma)`` (a Gaussian
/// blur of the image, σ in pixels). ``None`` (Python's) means the default.
pub(crate) fn hide_color(value: &Bound<'_, PyAny>) -> PyResult<HideColor> {
    let bad = || {
        PyValueError::new_err(format!(
            "hide_color {}: expected a grey level, an (r, g, b) triple in [0, 1], \"mean\" or (\"blur\", sigma)",
            repr(value)
        ))
    };
    let hide = if let Ok(name) = value.extract::<String>() {
        match name.as_str() {
            "mean" => HideColor::SegmentMean,
            _ => return Err(bad()),
        }
    } else if let Ok(grey) = value.extract::<f32>() {
        HideColor::Constant([grey; 3])
    } else if let Ok((name, sigma)) = value.extract::<(String, f32)>() {
        if name != "blur" {
            return Err(bad());
        }
        HideColor::Blurred { sigma }
    } else if let Ok(rgb) = value.extract::<[f32; 3]>() {
        HideColor::Constant(rgb)
    } else {
        return Err(bad());
    };
    hide.validate().py_err()?;
    Ok(hide)
}

/// ``combiner``: ``"trapezoid"`` (the paper's, default), ``"inverse"``,
/// ``"uniform"``, ``"density"``, ``"gaussian"`` (mean 1, std 0.5),
/// ``("gaussian", mean, std)`` or a sequence
/// of weights, one per level.
pub(crate) fn combiner(value: &Bound<'_, PyAny>) -> PyResult<Box<dyn Combiner>> {
    if let Ok(name) = value.extract::<String>() {
        return match name.as_str() {
            "trapezoid" => Ok(Box::new(Trapezoid)),
            "inverse" => Ok(Box::new(InverseTrapezoid)),
            "uniform" => Ok(Box::new(Uniform)),
            "density" => Ok(Box::new(Density)),
            // As `mslime --combiner gaussian`: centred on the finest level.
            "gaussian" => Ok(Box::new(Gaussian::new(1.0, 0.5).py_err()?)),
            _ => Err(PyValueError::new_err(format!(
                "combiner {name:?}: expected \"trapezoid\", \"inverse\", \"uniform\", \"density\", \"gaussian\", (\"gaussian\", mean, std) or a sequence of weights"
            ))),
        };
    }
    if let Ok((name, mean, std)) = value.extract::<(String, f64, f64)>() {
        if name == "gaussian" {
            return Ok(Box::new(Gaussian::new(mean, std).py_err()?));
        }
    }
    if let Ok(weights) = value.extract::<Vec<f64>>() {
        return Ok(Box::new(CustomWeights::new(weights).py_err()?));
    }
    Err(PyValueError::new_err(format!(
        "combiner {}: expected a name, (\"gaussian\", mean, std) or a sequence of weights",
        repr(value)
    )))
}

/// ``sampling``: how each level's masks are drawn.
pub(crate) fn sampling(name: &str) -> PyResult<Sampling> {
    Sampling::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "sampling {name:?}: expected \"independent\", \"antithetic\", \"balanced\" or \"orthogonal\""
            ))
        })
}

/// ``normalization``: ``"minmax"`` (the paper's, default), ``"positive"``
/// or ``"maxabs"`` (signed, in ``[-1, 1]``).
pub(crate) fn normalization(name: &str) -> PyResult<Normalization> {
    match name {
        "minmax" => Ok(Normalization::MinMax),
        "positive" => Ok(Normalization::PositiveOnly),
        "maxabs" => Ok(Normalization::MaxAbs),
        other => Err(PyValueError::new_err(format!(
            "normalization {other:?}: expected \"minmax\", \"positive\" or \"maxabs\""
        ))),
    }
}

/// ``target`` and ``top_labels``: the predicted class (both ``None``), one
/// class, or the ``k`` best.
pub(crate) fn target(target: Option<i64>, top_labels: Option<i64>) -> PyResult<Target> {
    match (target, top_labels) {
        (None, None) => Ok(Target::Predicted),
        (Some(c), None) => usize::try_from(c)
            .map(Target::Class)
            .map_err(|_| PyValueError::new_err(format!("target {c}: expected a class index ≥ 0"))),
        (None, Some(k)) => usize::try_from(k)
            .ok()
            .filter(|&k| k > 0)
            .map(Target::TopLabels)
            .ok_or_else(|| PyValueError::new_err(format!("top_labels {k}: expected ≥ 1"))),
        (Some(_), Some(_)) => Err(PyValueError::new_err("give target or top_labels, not both")),
    }
}

/// ``colormap``: ``"viridis"`` (default), ``"inferno"``, ``"magma"``,
/// ``"cividis"`` or ``"bluered"`` (diverging, for signed maps).
pub(crate) fn colormap(name: &str) -> PyResult<Colormap> {
    match name {
        "viridis" => Ok(Colormap::Viridis),
        "inferno" => Ok(Colormap::Inferno),
        "magma" => Ok(Colormap::Magma),
        "cividis" => Ok(Colormap::Cividis),
        "bluered" => Ok(Colormap::BlueRed),
        other => Err(PyValueError::new_err(format!(
            "colormap {other:?}: expected \"viridis\", \"inferno\", \"magma\", \"cividis\" or \"bluered\""
        ))),
    }
}
