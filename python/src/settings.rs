//! Python values of the explainer's settings (converted to the library's
//! text forms, so both read them alike), targets and colour maps.

use multiscale_lime::render::Colormap;
use multiscale_lime::{Config, Fusion, HideColor, Preset, Target};
use pyo3::prelude::*;

use crate::error::IntoPy;

fn repr(value: &Bound<'_, PyAny>) -> String {
    value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A Python value of setting `name` in the library's text form
/// (`Config::set` reads it): a string as it is; numbers, sequences and
/// tuples in the forms Python users write.
///
/// - ``levels``: a sequence of ints;
/// - ``hide_color``: a grey level, an ``(r, g, b)`` triple in ``[0, 1]``,
///   ``"mean"``, ``"white"``, ``"blur:SIGMA"`` or ``("blur", sigma)``;
/// - ``fusion``: a name, ``("gaussian", mean, std)`` or a sequence of
///   weights, one per level;
/// - numbers as numbers.
pub(crate) fn setting_text(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let bad = |expected: &str| {
        crate::error::invalid(format!(
            "{} {}: expected {expected}",
            name.replace('-', "_"),
            repr(value)
        ))
    };
    if let Ok(text) = value.extract::<String>() {
        return Ok(text);
    }
    // A bool is an int to Python; as a setting it is a mistake.
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(bad("a number or a name, not a bool"));
    }
    match name {
        "levels" => value
            .extract::<Vec<usize>>()
            .map(|l| l.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
            .map_err(|_| bad("a sequence of segment counts")),
        // The library's own `Display` writes the text form it reads.
        "hide-color" => {
            if let Ok(grey) = value.extract::<f32>() {
                Ok(HideColor::Constant([grey; 3]).to_string())
            } else if let Ok((kind, sigma)) = value.extract::<(String, f32)>() {
                match kind.as_str() {
                    "blur" => Ok(HideColor::Blurred { sigma }.to_string()),
                    _ => Err(bad("(\"blur\", sigma)")),
                }
            } else if let Ok(rgb) = value.extract::<[f32; 3]>() {
                Ok(HideColor::Constant(rgb).to_string())
            } else {
                Err(bad("a grey level, an (r, g, b) triple in [0, 1], \"mean\", \"white\" or (\"blur\", sigma)"))
            }
        }
        "fusion" => {
            if let Ok((kind, mean, std)) = value.extract::<(String, f64, f64)>() {
                match kind.as_str() {
                    "gaussian" => Ok(Fusion::Gaussian { mean, std }.to_string()),
                    _ => Err(bad("(\"gaussian\", mean, std)")),
                }
            } else if let Ok(weights) = value.extract::<Vec<f64>>() {
                Ok(Fusion::Weights(weights).to_string())
            } else {
                Err(bad(
                    "a name, (\"gaussian\", mean, std) or a sequence of weights",
                ))
            }
        }
        _ => {
            if let Ok(int) = value.extract::<i128>() {
                Ok(int.to_string())
            } else if let Ok(float) = value.extract::<f64>() {
                Ok(float.to_string())
            } else {
                Err(bad("a number or a name"))
            }
        }
    }
}

/// ``hide_color`` of a metric: as the explainer reads it.
pub(crate) fn hide_color(value: &Bound<'_, PyAny>) -> PyResult<HideColor> {
    setting_text("hide-color", value)?.parse().py_err()
}

/// The settings table for Python: each setting's keyword, what it does, its
/// choices, and its value under every preset, in the library's text form.
#[pyfunction]
pub(crate) fn settings_table(py: Python<'_>) -> PyResult<Vec<Bound<'_, pyo3::types::PyDict>>> {
    Config::SETTINGS
        .iter()
        .map(|s| {
            let row = pyo3::types::PyDict::new(py);
            row.set_item("name", s.name.replace('-', "_"))?;
            row.set_item("help", s.help)?;
            row.set_item("choices", s.choices.to_vec())?;
            row.set_item("changes_results", s.changes_results)?;
            let values = pyo3::types::PyDict::new(py);
            for preset in Preset::ALL {
                values.set_item(preset.name(), preset.config().get(s.name))?;
            }
            row.set_item("presets", values)?;
            Ok(row)
        })
        .collect()
}

/// ``target`` and ``top_labels``: the predicted class (both ``None``), one
/// class, or the ``k`` best.
pub(crate) fn target(target: Option<i64>, top_labels: Option<i64>) -> PyResult<Target> {
    match (target, top_labels) {
        (None, None) => Ok(Target::Predicted),
        (Some(c), None) => usize::try_from(c)
            .map(Target::Class)
            .map_err(|_| crate::error::invalid(format!("target {c}: expected a class index ≥ 0"))),
        (None, Some(k)) => usize::try_from(k)
            .ok()
            .filter(|&k| k > 0)
            .map(Target::TopLabels)
            .ok_or_else(|| crate::error::invalid(format!("top_labels {k}: expected ≥ 1"))),
        (Some(_), Some(_)) => Err(crate::error::invalid("give target or top_labels, not both")),
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
        other => Err(crate::error::invalid(format!(
            "colormap {other:?}: expected \"viridis\", \"inferno\", \"magma\", \"cividis\" or \"bluered\""
        ))),
    }
}
