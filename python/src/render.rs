//! Rendering: heatmaps through colour maps, overlays, superpixel
//! boundaries, and PNG files.

use std::path::{Path, PathBuf};

use multiscale_lime::render;
use numpy::PyArray3;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::array;
use crate::error::IntoPy;
use crate::settings;

/// Writes an RGB image as a PNG.
pub(crate) fn save(rgb: &image::RgbImage, path: &Path) -> PyResult<()> {
    rgb.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| PyOSError::new_err(format!("cannot write {}: {e}", path.display())))
}

/// A heatmap through a colour map, as an ``H×W×3`` ``uint8`` array;
/// ``value_range`` maps to the colour map's ends (values outside are clamped).
#[pyfunction]
#[pyo3(signature = (heatmap, *, colormap = "viridis", value_range = (0.0, 1.0)))]
pub(crate) fn colorize<'py>(
    py: Python<'py>,
    heatmap: &Bound<'py, PyAny>,
    colormap: &str,
    value_range: (f32, f32),
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let heatmap = array::heatmap(heatmap)?;
    let rgb = render::colorize(&heatmap, settings::colormap(colormap)?, value_range).py_err()?;
    array::rgb8(py, rgb)
}

/// The heatmap's colours blended over the image (``alpha`` the heatmap's
/// share), as an ``H×W×3`` ``uint8`` array.
#[pyfunction]
#[pyo3(signature = (image, heatmap, *, colormap = "viridis", value_range = (0.0, 1.0), alpha = 0.5))]
pub(crate) fn overlay<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    heatmap: &Bound<'py, PyAny>,
    colormap: &str,
    value_range: (f32, f32),
    alpha: f32,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let image = array::image(image)?;
    let heatmap = array::heatmap(heatmap)?;
    let rgb = render::overlay(
        &image,
        &heatmap,
        settings::colormap(colormap)?,
        value_range,
        alpha,
    )
    .py_err()?;
    array::rgb8(py, rgb)
}

/// The image with superpixel boundaries drawn in ``color`` (RGB bytes).
#[pyfunction]
#[pyo3(signature = (image, labels, *, color = (255, 255, 0)))]
pub(crate) fn boundaries<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    color: (u8, u8, u8),
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let image = array::image(image)?;
    let segmentation = array::segmentation(labels)?;
    let rgb = render::boundaries(&image, &segmentation, [color.0, color.1, color.2]).py_err()?;
    array::rgb8(py, rgb)
}

/// Writes an ``H×W×3`` ``uint8`` RGB array (e.g. from ``colorize`` or
/// ``Explanation.panel``) as a PNG file.
#[pyfunction]
pub(crate) fn save_png(rgb: &Bound<'_, PyAny>, path: PathBuf) -> PyResult<()> {
    let image = array::image(rgb)?;
    if rgb
        .getattr("dtype")
        .and_then(|d| d.str().map(|s| s.to_string()))?
        != "uint8"
    {
        return Err(crate::error::invalid("save_png takes a uint8 RGB array"));
    }
    save(&image.to_rgb8(), &path)
}
