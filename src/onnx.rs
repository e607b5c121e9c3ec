//! ONNX models as classifiers, through [tract](https://github.com/sonos/tract)
//! (pure Rust, no system library). Enabled by the `onnx` feature.

use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, ArrayView4};
use tract_onnx::prelude::*;

use crate::classify::Classifier;
use crate::error::{ClassifierError, Error, Result};

/// How the model expects its input tensor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputLayout {
    /// `N×3×H×W` (PyTorch's convention).
    #[default]
    Nchw,
    /// `N×H×W×3` (TensorFlow's convention, and this crate's batches).
    Nhwc,
}

/// Settings of an [`OnnxClassifier`]; [`load_path`](Self::load_path) or
/// [`load_bytes`](Self::load_bytes) validate them and prepare the model.
///
/// Each pixel value `v ∈ [0, 1]` reaches the model as
/// `(v · scale − mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a builder does nothing until a model is loaded"]
pub struct OnnxClassifierBuilder {
    height: usize,
    width: usize,
    layout: InputLayout,
    scale: f32,
    mean: [f32; 3],
    std: [f32; 3],
    softmax: bool,
    batch_size: usize,
}

impl OnnxClassifierBuilder {
    /// Tensor layout (default NCHW).
    pub fn layout(mut self, layout: InputLayout) -> Self {
        self.layout = layout;
        self
    }
    /// Multiplier applied to `[0, 1]` values first (default 1; use 255 for
    /// models trained on 8-bit values).
    pub fn scale(mut self, scale: f32) -> Self {
        self.scale = scale;
        self
    }
    /// Per-channel mean and standard deviation (default 0 and 1, i.e. none;
    /// ImageNet models use `[0.485, 0.456, 0.406]`, `[0.229, 0.224, 0.225]`).
    pub fn normalization(mut self, mean: [f32; 3], std: [f32; 3]) -> Self {
        self.mean = mean;
        self.std = std;
        self
    }
    /// Apply a softmax to the model's output (default false: for models that
    /// output logits).
    pub fn softmax(mut self, on: bool) -> Self {
        self.softmax = on;
        self
    }
    /// Largest number of images per model run (default 64); larger batches
    /// are split.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.height == 0 || self.width == 0 {
            return Err(Error::invalid(
                "input size",
                format!("{}×{}", self.height, self.width),
                "both sides ≥ 1",
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(Error::invalid("scale", self.scale, "a finite value > 0"));
        }
        if !self.mean.iter().all(|m| m.is_finite()) {
            return Err(Error::invalid(
                "mean",
                format!("{:?}", self.mean),
                "finite values",
            ));
        }
        if !self.std.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(Error::invalid(
                "std",
                format!("{:?}", self.std),
                "finite values > 0",
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        Ok(())
    }

    /// Loads and prepares the model in `path`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for invalid settings; [`Error::Model`]
    /// when the file is missing or unreadable, is not a valid ONNX model,
    /// does not accept a `N×3×H×W` (or `N×H×W×3`) `f32` input, or does not
    /// return one row of scores per image.
    pub fn load_path(self, path: impl AsRef<Path>) -> Result<OnnxClassifier> {
        self.validate()?;
        let path = path.as_ref();
        let name = Some(path.display().to_string());
        let bytes = std::fs::read(path).map_err(|e| Error::Model {
            source_name: name.clone(),
            reason: e.to_string(),
        })?;
        self.prepare(&bytes, name)
    }

    /// Loads and prepares a model from its ONNX bytes.
    ///
    /// # Errors
    /// As [`load_path`](Self::load_path).
    pub fn load_bytes(self, bytes: &[u8]) -> Result<OnnxClassifier> {
        self.validate()?;
        self.prepare(bytes, None)
    }

    fn prepare(self, bytes: &[u8], name: Option<String>) -> Result<OnnxClassifier> {
        let model_error = |e: TractError| Error::Model {
            source_name: name.clone(),
            reason: format!("{e:#}"),
        };
        let mut reader = bytes;
        let model = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(model_error)?;
        let n = model.symbols.sym("N");
        let (h, w) = (self.height, self.width);
        let shape: [TDim; 4] = match self.layout {
            InputLayout::Nchw => [n.to_dim(), 3.into(), h.into(), w.into()],
            InputLayout::Nhwc => [n.to_dim(), h.into(), w.into(), 3.into()],
        };
        let plan = model
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_error)?;
        let mut classifier = OnnxClassifier {
            plan,
            classes: 0,
            config: self,
        };
        // One dry run tells the class count and proves the model runs.
        let probe = ndarray::Array4::<f32>::zeros((1, h, w, 3));
        let out = classifier.run(probe.view()).map_err(|e| Error::Model {
            source_name: name.clone(),
            reason: e.to_string(),
        })?;
        classifier.classes = out.ncols();
        if classifier.classes == 0 {
            return Err(Error::Model {
                source_name: name,
                reason: "the model returns no scores".into(),
            });
        }
        Ok(classifier)
    }
}

/// An ONNX image classifier run by tract.
///
/// Images must have the size given to [`OnnxClassifier::builder`]; the
/// model must take one `f32` input (`N×3×H×W` or `N×H×W×3`, batch dimension
/// free) and return `N×C` scores.
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
    config: OnnxClassifierBuilder,
}

impl std::fmt::Debug for OnnxClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxClassifier")
            .field("classes", &self.classes)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OnnxClassifier {
    /// Settings for a model taking `height × width` RGB images.
    pub fn builder(height: usize, width: usize) -> OnnxClassifierBuilder {
        OnnxClassifierBuilder {
            height,
            width,
            layout: InputLayout::Nchw,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            softmax: false,
            batch_size: 64,
        }
    }

    /// The input size `(height, width)` the model takes.
    pub fn input_size(&self) -> (usize, usize) {
        (self.config.height, self.config.width)
    }

    fn run(&self, batch: ArrayView4<'_, f32>) -> std::result::Result<Array2<f32>, ClassifierError> {
        let (n, h, w, c) = batch.dim();
        let (eh, ew) = self.input_size();
        if (h, w, c) != (eh, ew, 3) {
            return Err(ClassifierError::msg(format!(
                "the model takes {eh}×{ew}×3 images, got {h}×{w}×{c}"
            )));
        }
        let cfg = &self.config;
        let prep = |v: f32, ch: usize| (v * cfg.scale - cfg.mean[ch]) / cfg.std[ch];
        // Hot path: one pass, no index tuples, one allocation per batch.
        let mut data = Vec::with_capacity(batch.len());
        match cfg.layout {
            InputLayout::Nhwc => {
                data.extend(batch.iter().zip((0..3).cycle()).map(|(&v, ch)| prep(v, ch)))
            }
            InputLayout::Nchw => {
                for image in batch.outer_iter() {
                    for ch in 0..3 {
                        data.extend(
                            image
                                .index_axis(ndarray::Axis(2), ch)
                                .iter()
                                .map(|&v| prep(v, ch)),
                        );
                    }
                }
            }
        }
        let shape = match cfg.layout {
            InputLayout::Nchw => [n, 3, h, w],
            InputLayout::Nhwc => [n, h, w, 3],
        };
        let input = Tensor::from_shape(&shape, &data)
            .map_err(|e| ClassifierError::msg(format!("{e:#}")))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| ClassifierError::msg(format!("inference failed: {e:#}")))?;
        let first = outputs
            .first()
            .ok_or_else(|| ClassifierError::msg("the model has no output"))?;
        let view = first
            .to_plain_array_view::<f32>()
            .map_err(|e| ClassifierError::msg(format!("output is not f32: {e:#}")))?;
        let shape = view.shape().to_vec();
        let classes = match shape.as_slice() {
            [rows, cols] if *rows == n => *cols,
            [rows, cols, 1, 1] if *rows == n => *cols,
            _ => {
                return Err(ClassifierError::msg(format!(
                    "the model returned shape {shape:?} for {n} images; expected {n}×C"
                )))
            }
        };
        let values: Vec<f32> = view.iter().copied().collect();
        let mut out = Array2::from_shape_vec((n, classes), values)
            .map_err(|e| ClassifierError::msg(e.to_string()))?;
        if cfg.softmax {
            for mut row in out.rows_mut() {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                row.mapv_inplace(|v| (v - max).exp());
                let sum = row.sum();
                row.mapv_inplace(|v| v / sum);
            }
        }
        Ok(out)
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
        let n = batch.dim().0;
        if n <= self.config.batch_size {
            return self.run(batch);
        }
        let mut out = Array2::zeros((n, self.classes));
        for start in (0..n).step_by(self.config.batch_size) {
            let end = (start + self.config.batch_size).min(n);
            let part = self.run(batch.slice(ndarray::s![start..end, .., .., ..]))?;
            if part.ncols() != self.classes {
                return Err(ClassifierError::msg(
                    "the model's class count changed between runs",
                ));
            }
            out.slice_mut(ndarray::s![start..end, ..]).assign(&part);
        }
        Ok(out)
    }
}
