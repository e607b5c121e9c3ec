//! A Python callable as a [`Classifier`], and running the engine with the
//! GIL released.
//!
//! The engine scores batches on rayon's threads; each call takes the GIL,
//! copies the batch into a fresh numpy array (the callable may keep it, so
//! the engine's reused buffer is never lent out), calls the callable and
//! reads its output with `numpy.asarray(..., dtype=float32)` (so a float64
//! array, a list or a CPU torch tensor all work). The first exception
//! stops the explanation: later calls return at once without calling
//! Python, and the exception itself is re-raised to the caller.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use multiscale_lime::ndarray::{Array2, ArrayView4, Axis};
use multiscale_lime::{Classifier, ClassifierError, Image};
use numpy::{PyArray2, PyArray4, PyArrayMethods};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// A Python callable `f(batch: N×H×W×3 float32) -> N×C scores`.
pub(crate) struct PyModel {
    predict: Py<PyAny>,
    asarray: Py<PyAny>,
    classes: usize,
    /// The callable's `repr`, for messages.
    name: String,
    /// The first exception raised while scoring (by the callable, or
    /// because its output was not an array of numbers).
    failure: Mutex<Option<PyErr>>,
    /// Set when the caller was interrupted (Ctrl-C): stop calling Python.
    cancelled: AtomicBool,
    /// The image and its scores from the call that learned the class
    /// count, handed back when the engine asks for that image alone: the
    /// original image is scored once.
    first: Mutex<Option<(Image, Array2<f32>)>>,
}

impl PyModel {
    /// Wraps `predict`, calling it once on `image` alone to learn the class
    /// count; the engine's own request for that image gets these scores.
    pub(crate) fn new(py: Python<'_>, predict: &Bound<'_, PyAny>, image: &Image) -> PyResult<Self> {
        if !predict.is_callable() {
            return Err(crate::error::invalid(format!(
                "predict must be callable (batch → scores), got {}",
                predict.get_type().name()?
            )));
        }
        let name = predict
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "the classifier".into());
        let mut model = PyModel {
            predict: predict.clone().unbind(),
            asarray: py.import("numpy")?.getattr("asarray")?.unbind(),
            classes: 0,
            name,
            failure: Mutex::new(None),
            cancelled: AtomicBool::new(false),
            first: Mutex::new(None),
        };
        let scores = model.call(
            py,
            image.view().insert_axis(multiscale_lime::ndarray::Axis(0)),
        )?;
        if scores.nrows() != 1 || scores.ncols() == 0 {
            return Err(crate::error::invalid(format!(
                "{} returned shape ({}, {}) for a batch of 1 image; expected (1, C) with C ≥ 1 classes",
                model.name,
                scores.nrows(),
                scores.ncols()
            )));
        }
        model.classes = scores.ncols();
        model.first = Mutex::new(Some((image.clone(), scores)));
        Ok(model)
    }

    /// One call of the callable, GIL held.
    fn call(&self, py: Python<'_>, batch: ArrayView4<'_, f32>) -> PyResult<Array2<f32>> {
        let input = PyArray4::from_array(py, &batch);
        let images = batch.dim().0;
        let output = self.predict.bind(py).call1((input,)).inspect_err(|e| {
            let noun = if images == 1 { "image" } else { "images" };
            let text = format!(
                "raised by {} while scoring a batch of {images} {noun}",
                self.name
            );
            note(py, e, &text);
        })?;
        let array = self
            .asarray
            .bind(py)
            .call1((output.clone(), "float32"))
            .map_err(|e| {
                crate::error::invalid(format!(
                    "{} returned a {} that is not an array of numbers: {e}",
                    self.name,
                    output
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
        let ndim: usize = array.getattr("ndim")?.extract()?;
        if ndim != 2 {
            return Err(crate::error::invalid(format!(
                "{} returned an array of shape {} for a batch of {} images; expected (N, C): one row of class scores per image",
                self.name,
                array.getattr("shape")?.str()?,
                batch.dim().0
            )));
        }
        let typed = array.cast::<PyArray2<f32>>()?;
        Ok(typed.readonly().as_array().to_owned())
    }

    /// Stops further calls (after an interrupt).
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// The exception that stopped scoring, if any.
    pub(crate) fn take_failure(&self) -> Option<PyErr> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

/// Adds a note to an exception where Python supports notes (3.11+).
fn note(py: Python<'_>, error: &PyErr, text: &str) {
    let value = error.value(py);
    if value.hasattr("add_note").unwrap_or(false) {
        let _ = value.call_method1("add_note", (text,));
    }
}

impl Classifier for PyModel {
    fn num_classes(&self) -> usize {
        self.classes
    }

    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        let stopped = || ClassifierError::msg("stopped: an earlier call failed or was interrupted");
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(stopped());
        }
        if batch.dim().0 == 1 {
            if let Ok(mut first) = self.first.lock() {
                // Taken once, and only for the very image it was scored on.
                if first
                    .as_ref()
                    .is_some_and(|(image, _)| image.view() == batch.index_axis(Axis(0), 0))
                {
                    if let Some((_, scores)) = first.take() {
                        return Ok(scores);
                    }
                }
            }
        }
        Python::attach(|py| {
            // Checked again with the GIL: another thread may have failed
            // while this one waited for it.
            if self.failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                return Err(stopped());
            }
            self.call(py, batch).map_err(|e| {
                let message = e.to_string();
                if let Ok(mut failure) = self.failure.lock() {
                    failure.get_or_insert(e);
                }
                ClassifierError::msg(message)
            })
        })
    }
}

/// Runs `work` on another thread with the GIL released, waking every
/// 50 ms to let Python handle signals: on Ctrl-C (`KeyboardInterrupt`) the
/// model stops calling Python, the work ends at its next model call, and
/// the interrupt is raised. An exception the model saw wins over the
/// error `work` returned because of it.
pub(crate) fn run_detached<T: Send>(
    py: Python<'_>,
    model: Option<&PyModel>,
    work: impl FnOnce() -> multiscale_lime::Result<T> + Send,
) -> PyResult<T> {
    let done: (
        Mutex<Option<std::thread::Result<multiscale_lime::Result<T>>>>,
        Condvar,
    ) = (Mutex::new(None), Condvar::new());
    let mut interrupt: Option<PyErr> = None;
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            // A poisoned lock still holds the slot: never leave it unset,
            // or the waiting loop below would spin forever.
            *done.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
            done.1.notify_all();
        });
        loop {
            let finished = py.detach(|| {
                let slot = done.0.lock().unwrap_or_else(|e| e.into_inner());
                let (mut slot, _) = done
                    .1
                    .wait_timeout_while(slot, Duration::from_millis(50), |s| s.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                slot.take()
            });
            if let Some(out) = finished {
                break out;
            }
            if interrupt.is_none() {
                if let Err(e) = py.check_signals() {
                    if let Some(model) = model {
                        model.cancel();
                    }
                    interrupt = Some(e);
                }
            }
        }
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    let result = result.map_err(|_| {
        PyRuntimeError::new_err("multiscale_lime panicked (a bug: please report it)")
    })?;
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(model
            .and_then(PyModel::take_failure)
            .unwrap_or_else(|| crate::error::to_py(error))),
    }
}
