//! ONNX models run by [tract](https://github.com/sonos/tract) (pure Rust,
//! no system library). Enabled by the `onnx` feature.

use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, ArrayView4};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{
    check_declared_shape, predict_in_batches, probe_classes, read_model, InputLayout, InputSpec,
    ModelBuilder,
};
use crate::classify::Classifier;
use crate::error::{ClassifierError, Error, Result};

/// tract's own settings of a [`ModelBuilder`] (none yet: tract is
/// configured by the shared settings alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TractSettings {}

/// Settings of an [`OnnxClassifier`]; [`load_path`](Self::load_path) or
/// [`load_bytes`](Self::load_bytes) validate them and prepare the model.
pub type OnnxClassifierBuilder = ModelBuilder<TractSettings>;

impl ModelBuilder<TractSettings> {
    /// Loads and prepares the model in `path`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for invalid settings; [`Error::Model`]
    /// when the file is missing or unreadable, is not a valid ONNX model,
    /// does not accept a `N×3×H×W` (or `N×H×W×3`) `f32` input, or does not
    /// return one row of scores per image.
    pub fn load_path(self, path: impl AsRef<Path>) -> Result<OnnxClassifier> {
        self.input.validate()?;
        let (bytes, name) = read_model(path.as_ref())?;
        self.prepare(&bytes, name)
    }

    /// Loads and prepares a model from its ONNX bytes.
    ///
    /// # Errors
    /// As [`load_path`](Self::load_path).
    pub fn load_bytes(self, bytes: &[u8]) -> Result<OnnxClassifier> {
        self.input.validate()?;
        self.prepare(bytes, None)
    }

    fn prepare(self, bytes: &[u8], name: Option<String>) -> Result<OnnxClassifier> {
        // tract can panic on malformed models (found by fuzzing): a bad
        // model is an error, never a panic.
        let source_name = name.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.prepare_unguarded(bytes, name)
        }))
        .unwrap_or_else(|panic| {
            Err(Error::Model {
                source_name,
                reason: format!("tract failed on this model: {}", panic_message(&*panic)),
            })
        })
    }

    fn prepare_unguarded(self, bytes: &[u8], name: Option<String>) -> Result<OnnxClassifier> {
        let model_error = |e: TractError| Error::Model {
            source_name: name.clone(),
            reason: format!("{e:#}"),
        };
        let mut reader = bytes;
        let model = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(model_error)?;
        // The declared input, before it is overridden with the configured one.
        let fact = model.input_fact(0).map_err(model_error)?;
        if let Some(datum) = fact.datum_type.concretize()
            && datum != f32::datum_type()
        {
            return Err(Error::Model {
                source_name: name,
                reason: format!(
                    "the model's input is {datum:?}; f32 expected (export the model with a float input)"
                ),
            });
        }
        if !fact.shape.is_open() {
            let declared: Vec<Option<usize>> = fact
                .shape
                .dims()
                .map(|d| {
                    d.concretize()
                        .and_then(|d| d.as_i64())
                        .and_then(|d| usize::try_from(d).ok())
                })
                .collect();
            check_declared_shape(&declared, &self.input).map_err(|reason| Error::Model {
                source_name: name.clone(),
                reason,
            })?;
        }
        // A plan for the one batch size it will see: tract optimises
        // concrete shapes far better than a symbolic batch dimension.
        let shape = self.input.shape(self.input.batch_size);
        let plan = model
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_error)?;
        let mut classifier = OnnxClassifier {
            plan,
            classes: 0,
            input: self.input,
        };
        classifier.classes = probe_classes(&classifier.input, name, |b, p| classifier.run(b, p))?;
        Ok(classifier)
    }
}

/// An ONNX image classifier run by tract.
///
/// Images must have the size given to [`OnnxClassifier::builder`]; the
/// model must take one `f32` input (`N×3×H×W` or `N×H×W×3`, the batch
/// dimension free or equal to the batch size) and return `N×C` scores.
///
/// ```no_run
/// use multiscale_lime::onnx::OnnxClassifier;
/// use multiscale_lime::Classifier;
///
/// let model = OnnxClassifier::builder(96, 96).load_path("assets/models/ihc_dab_cnn.onnx")?;
/// assert_eq!(model.num_classes(), 2);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Clone)]
pub struct OnnxClassifier {
    plan: Arc<TypedRunnableModel>,
    classes: usize,
    input: InputSpec,
}

impl std::fmt::Debug for OnnxClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxClassifier")
            .field("classes", &self.classes)
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl OnnxClassifier {
    /// Settings for a model taking `height × width` RGB images, NCHW, no
    /// scaling or normalisation, no softmax, one image per run (tract's
    /// fastest for the bundled CNN: see `docs/performance.md`).
    pub fn builder(height: usize, width: usize) -> OnnxClassifierBuilder {
        ModelBuilder::with_runtime(height, width, 1, TractSettings::default())
    }

    /// The input size `(height, width)` the model takes.
    pub fn input_size(&self) -> (usize, usize) {
        (self.input.height, self.input.width)
    }

    /// The tensor layout the model takes.
    pub fn layout(&self) -> InputLayout {
        self.input.layout
    }

    /// One run of at most `padded` images, padded to exactly `padded`.
    fn run(
        &self,
        batch: ArrayView4<'_, f32>,
        padded: usize,
    ) -> std::result::Result<Array2<f32>, ClassifierError> {
        let data = self.input.tensor_data(batch, padded)?;
        let input = Tensor::from_shape(&self.input.shape(padded), &data)
            .map_err(|e| ClassifierError::msg(format!("{e:#}")))?;
        let outputs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.plan.run(tvec!(input.into()))
        }))
        .map_err(|panic| ClassifierError::msg(format!("tract failed: {}", panic_message(&*panic))))?
        .map_err(|e| ClassifierError::msg(format!("inference failed: {e:#}")))?;
        let first = outputs
            .first()
            .ok_or_else(|| ClassifierError::msg("the model has no output"))?;
        let view = first
            .to_plain_array_view::<f32>()
            .map_err(|e| ClassifierError::msg(format!("output is not f32: {e:#}")))?;
        self.input
            .scores(view.shape(), view.iter().copied(), batch.dim().0, padded)
    }
}

impl Classifier for OnnxClassifier {
    fn num_classes(&self) -> usize {
        self.classes
    }

    fn predict(
        &self,
        batch: ArrayView4<'_, f32>,
    ) -> std::result::Result<Array2<f32>, ClassifierError> {
        predict_in_batches(&self.input, self.classes, batch, |b, p| self.run(b, p))
    }

    fn preferred_batch_size(&self) -> Option<usize> {
        Some(self.input.batch_size)
    }
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
