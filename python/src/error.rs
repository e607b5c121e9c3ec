//! The crate's errors as Python exceptions, with the crate's messages.
//!
//! Input errors (a bad parameter, image, segmentation, target or model
//! output) are `ValueError`s; a limit that would be exceeded is a
//! `MemoryError`; a surrogate that cannot be solved an `ArithmeticError`.
//! An exception raised by the user's callable is not mapped: it is
//! re-raised as it was (see `model.rs`).

use multiscale_lime::Error;
use pyo3::exceptions::{PyArithmeticError, PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// The Python exception for a crate error.
pub(crate) fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::LimitExceeded { .. } => PyMemoryError::new_err(message),
        Error::Singular { .. } => PyArithmeticError::new_err(message),
        Error::Model { .. } | Error::OnnxRuntime { .. } => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
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
