//! The crate's errors as Python exceptions, with the crate's messages.
//!
//! The package's exceptions (`multiscale_lime/_errors.py`), all under
//! `multiscale_lime.Error`: input errors (a bad parameter, image,
//! segmentation, target or model output) are `InvalidInputError`s (a
//! `ValueError`); a limit that would be exceeded is a `LimitError` (a
//! `ValueError`); a surrogate that cannot be solved a `SingularError` (an
//! `ArithmeticError`); a slide (or an OME-TIFF) that cannot be read or
//! written a `SlideError` (an `OSError`). An exception raised by the
//! user's callable is not mapped: it is re-raised as it was (see `model.rs`).

use multiscale_lime::Error;
use pyo3::exceptions::{PyArithmeticError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::PyErr;

/// The package's exception `name` with `message`, or the builtin `fallback`
/// where the package's module cannot be imported.
fn raise(name: &str, message: String, fallback: fn(String) -> PyErr) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("multiscale_lime._errors")
            .and_then(|m| m.getattr(name));
        match class {
            Ok(class) => match class.call1((message.clone(),)) {
                Ok(value) => PyErr::from_value(value),
                Err(_) => fallback(message),
            },
            Err(_) => fallback(message),
        }
    })
}

/// `multiscale_lime.InvalidInputError(message)`: a bad value.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    raise("InvalidInputError", message.into(), PyValueError::new_err)
}

/// The Python exception for a crate error.
pub(crate) fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::LimitExceeded { .. } => raise("LimitError", message, PyValueError::new_err),
        Error::Singular { .. } => raise("SingularError", message, PyArithmeticError::new_err),
        Error::Model { .. } | Error::OnnxRuntime { .. } => {
            raise("ModelError", message, PyRuntimeError::new_err)
        }
        Error::Slide { .. } => raise("SlideError", message, PyOSError::new_err),
        _ => invalid(message),
    }
}

/// `Result<T, multiscale_lime::Error>` → `PyResult<T>`.
pub(crate) trait IntoPy<T> {
    fn py_err(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPy<T> for multiscale_lime::Result<T> {
    fn py_err(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
