//! numpy arrays in and out: images, label maps, masks and heatmaps.

use multiscale_lime::ndarray::{Array2, Array3};
use multiscale_lime::{Heatmap, Image, Segmentation};
use numpy::{PyArray2, PyArray3, PyArrayMethods};
use pyo3::prelude::*;

use crate::error::IntoPy;

/// `numpy.asarray(obj)`: lists, PIL images and arrays alike.
fn as_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    obj.py().import("numpy")?.call_method1("asarray", (obj,))
}

fn shape_of(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("shape")
        .and_then(|s| s.str().map(|s| s.to_string()))
        .unwrap_or_else(|_| "?".into())
}

fn dtype_of(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("dtype")
        .and_then(|s| s.str().map(|s| s.to_string()))
        .unwrap_or_else(|_| type_name(obj))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// An image to explain: as [`image`], and, as `lime` does, a 2-D `H×W`
/// grayscale image becomes RGB by repeating its channel
/// (`skimage.color.gray2rgb`), and an `H×W×4` RGBA image drops its alpha
/// channel (its colours as stored).
pub(crate) fn explained_image(obj: &Bound<'_, PyAny>) -> PyResult<Image> {
    let mut array = as_array(obj)?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    let numpy = obj.py().import("numpy")?;
    if ndim == 2 {
        array = numpy.call_method1("stack", ((array.clone(), array.clone(), array), -1))?;
    } else if ndim == 3 && array.getattr("shape")?.get_item(2)?.extract::<usize>()? == 4 {
        let rgb = pyo3::types::PySlice::new(obj.py(), 0, 3, 1);
        let all = pyo3::types::PySlice::full(obj.py());
        array = array.get_item((all.clone(), all, rgb))?;
        array = numpy.call_method1("ascontiguousarray", (array,))?;
    } else if ndim != 3 {
        return Err(crate::error::invalid(format!(
            "image array has shape {}, expected H×W×3 (RGB, channels last), H×W×4 (RGBA) or H×W (grayscale)",
            shape_of(&array)
        )));
    }
    image(&array)
}

/// An `H×W×3` RGB image: `uint8` (divided by 255, as
/// `Image::from_rgb8`) or `float32`/`float64` in `[0, 1]` (taken as
/// `float32`).
pub(crate) fn image(obj: &Bound<'_, PyAny>) -> PyResult<Image> {
    let array = as_array(obj)?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 3 {
        return Err(crate::error::invalid(format!(
            "image array has shape {}, expected H×W×3 (RGB, channels last)",
            shape_of(&array)
        )));
    }
    if let Ok(a) = array.cast::<PyArray3<u8>>() {
        let a = a.readonly();
        let (h, w, c) = a.as_array().dim();
        if c != 3 {
            return Err(crate::error::invalid(format!(
                "image array has shape ({h}, {w}, {c}), expected H×W×3 (RGB, channels last)"
            )));
        }
        let bytes: Vec<u8> = a.as_array().iter().copied().collect();
        return Image::from_rgb8(h, w, &bytes).py_err();
    }
    let data: Array3<f32> = if let Ok(a) = array.cast::<PyArray3<f32>>() {
        a.readonly().as_array().to_owned()
    } else if let Ok(a) = array.cast::<PyArray3<f64>>() {
        a.readonly().as_array().mapv(|v| v as f32)
    } else {
        return Err(crate::error::invalid(format!(
            "image array has dtype {}, expected uint8, float32 or float64",
            dtype_of(&array)
        )));
    };
    Image::new(data).py_err()
}

/// A 2-D array converted by numpy's `astype(dtype)` and read as `T`.
pub(crate) fn array2<'py, T: numpy::Element + Copy>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    dtype: &str,
) -> PyResult<Array2<T>> {
    let array = as_array(obj)?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 2 {
        return Err(crate::error::invalid(format!(
            "{what} has shape {}, expected a 2-D (H, W) array",
            shape_of(&array)
        )));
    }
    let converted = array
        .call_method1("astype", (dtype,))
        .map_err(|e| crate::error::invalid(format!("{what} must be a {dtype} array: {e}")))?;
    let typed = converted.cast::<PyArray2<T>>()?;
    Ok(typed.readonly().as_array().to_owned())
}

/// A label map: non-negative integers `0..K`, each used at least once.
pub(crate) fn segmentation(obj: &Bound<'_, PyAny>) -> PyResult<Segmentation> {
    let array = as_array(obj)?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind != "i" && kind != "u" {
        return Err(crate::error::invalid(format!(
            "labels must be an integer array, got dtype {}",
            dtype_of(&array)
        )));
    }
    // Checked before the cast to uint32, which would wrap them.
    if array.getattr("size")?.extract::<usize>()? > 0 {
        let min: i64 = array.call_method0("min")?.extract()?;
        if min < 0 {
            return Err(crate::error::invalid(format!(
                "labels must be ≥ 0, got {min}"
            )));
        }
        let max: u64 = array.call_method0("max")?.extract()?;
        if max > u64::from(u32::MAX) {
            return Err(crate::error::invalid(format!(
                "labels must be < 2³², got {max}"
            )));
        }
    }
    Segmentation::new(array2::<u32>(&array, "labels", "uint32")?).py_err()
}

/// Rows of integers (any integer dtype), as `int64`: an `N×K` array with
/// `K` one of `columns`; an empty sequence is no rows.
pub(crate) fn int_rows(
    obj: &Bound<'_, PyAny>,
    what: &str,
    columns: &[usize],
) -> PyResult<Array2<i64>> {
    let array = as_array(obj)?;
    if array.getattr("size")?.extract::<usize>()? == 0 {
        return Ok(Array2::zeros((0, columns[0])));
    }
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    let width: usize = array
        .getattr("shape")?
        .get_item(ndim.max(1) - 1)?
        .extract()?;
    if ndim != 2 || !columns.contains(&width) || (kind != "i" && kind != "u") {
        return Err(crate::error::invalid(format!(
            "{what} has shape {} and dtype {}, expected an integer array of N rows of {} columns",
            shape_of(&array),
            dtype_of(&array),
            columns
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    array2::<i64>(&array, what, "int64")
}

/// A boolean mask (any array numpy can read as `bool`: nonzero is true).
pub(crate) fn mask(obj: &Bound<'_, PyAny>) -> PyResult<Array2<bool>> {
    array2::<bool>(obj, "mask", "bool")
}

/// A heatmap: any real 2-D array, as `float32`.
pub(crate) fn heatmap(obj: &Bound<'_, PyAny>) -> PyResult<Heatmap> {
    Ok(Heatmap::new(array2::<f32>(obj, "heatmap", "float32")?))
}

/// An `H×W×3` `uint8` array of an RGB image.
pub(crate) fn rgb8<'py>(
    py: Python<'py>,
    rgb: image::RgbImage,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let (w, h) = rgb.dimensions();
    let data = Array3::from_shape_vec((h as usize, w as usize, 3), rgb.into_raw())
        .map_err(|e| crate::error::invalid(e.to_string()))?;
    Ok(numpy::IntoPyArray::into_pyarray(data, py))
}
