//! ONNX models as classifiers, through one of two runtimes:
//!
//! | runtime | feature | type | needs |
//! |---|---|---|---|
//! | [tract](https://github.com/sonos/tract) | `onnx` | [`OnnxClassifier`] | nothing (pure Rust) |
//! | [ONNX Runtime](https://onnxruntime.ai) | `ort` | [`OrtClassifier`] | its shared library at run time |
//!
//! Both are configured by the same [`ModelBuilder`] (input size, layout,
//! scaling, normalisation, softmax, batch size); the runtime adds its own
//! settings. ONNX Runtime is several times faster on CPU and can use GPUs;
//! tract needs no library. Where to get ONNX Runtime's library is told in
//! [`OrtClassifier`]'s docs and in `docs/onnx-runtime.md`.
//!
//! Both run a model in batches of exactly [`ModelBuilder::batch_size`]
//! images (a short last batch is padded with copies of its last image), so
//! a score never depends on how the explainer grouped the images.

use ndarray::{s, Array2, ArrayView4, Axis};

use crate::error::{ClassifierError, Error, Result};

#[cfg(feature = "ort")]
mod ort;
#[cfg(feature = "onnx")]
mod tract;

#[cfg(feature = "ort")]
pub use self::ort::{
    open_ort_library, ExecutionProvider, OrtClassifier, OrtClassifierBuilder, OrtSettings,
};
#[cfg(feature = "onnx")]
pub use self::tract::{OnnxClassifier, OnnxClassifierBuilder, TractSettings};

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

/// Settings of an ONNX classifier: what every runtime shares, plus the
/// runtime's own `R` ([`TractSettings`] or [`OrtSettings`]).
///
/// Each pixel value `v ∈ [0, 1]` reaches the model as
/// `(v · scale − mean[c]) / std[c]`. Nothing is checked until the model is
/// loaded (`load_path` or `load_bytes` of the runtime's builder).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a builder does nothing until a model is loaded"]
pub struct ModelBuilder<R> {
    pub(crate) input: InputSpec,
    pub(crate) runtime: R,
}

/// What every runtime needs to know about the model's input and output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputSpec {
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) layout: InputLayout,
    pub(crate) scale: f32,
    pub(crate) mean: [f32; 3],
    pub(crate) std: [f32; 3],
    pub(crate) softmax: bool,
    pub(crate) batch_size: usize,
}

impl<R> ModelBuilder<R> {
    pub(crate) fn with_runtime(height: usize, width: usize, batch_size: usize, runtime: R) -> Self {
        ModelBuilder {
            input: InputSpec {
                height,
                width,
                layout: InputLayout::Nchw,
                scale: 1.0,
                mean: [0.0; 3],
                std: [1.0; 3],
                softmax: false,
                batch_size,
            },
            runtime,
        }
    }

    /// Tensor layout (default NCHW).
    pub fn layout(mut self, layout: InputLayout) -> Self {
        self.input.layout = layout;
        self
    }
    /// Multiplier applied to `[0, 1]` values first (default 1; use 255 for
    /// models trained on 8-bit values).
    pub fn scale(mut self, scale: f32) -> Self {
        self.input.scale = scale;
        self
    }
    /// Per-channel mean and standard deviation (default 0 and 1, i.e. none;
    /// ImageNet models use `[0.485, 0.456, 0.406]`, `[0.229, 0.224, 0.225]`).
    pub fn normalization(mut self, mean: [f32; 3], std: [f32; 3]) -> Self {
        self.input.mean = mean;
        self.input.std = std;
        self
    }
    /// Apply a softmax to the model's output (default false: for models that
    /// output logits).
    pub fn softmax(mut self, on: bool) -> Self {
        self.input.softmax = on;
        self
    }
    /// Images per model run (each runtime's default is its fastest for small
    /// CNNs on CPU). Every run gets exactly this many images; the explainer
    /// renders its batches at this size when its own batch size is
    /// [`BatchSize::Auto`](crate::BatchSize::Auto).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.input.batch_size = batch_size;
        self
    }
}

impl InputSpec {
    pub(crate) fn validate(&self) -> Result<()> {
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
        // A batch buffer is allocated per run: bounded like the explainer's.
        let bytes = self
            .batch_size
            .saturating_mul(self.height)
            .saturating_mul(self.width)
            .saturating_mul(12);
        if self.batch_size == 0 || bytes > crate::Limits::default().batch_bytes() {
            return Err(Error::invalid(
                "batch_size",
                self.batch_size,
                "at least 1, and batch_size × height × width × 12 bytes ≤ 1 GiB",
            ));
        }
        Ok(())
    }

    /// The input tensor's shape for `n` images.
    pub(crate) fn shape(&self, n: usize) -> [usize; 4] {
        let (h, w) = (self.height, self.width);
        match self.layout {
            InputLayout::Nchw => [n, 3, h, w],
            InputLayout::Nhwc => [n, h, w, 3],
        }
    }

    /// The model's input for `batch`, in [`shape`](Self::shape) order,
    /// padded to `padded` images with copies of the last one.
    pub(crate) fn tensor_data(
        &self,
        batch: ArrayView4<'_, f32>,
        padded: usize,
    ) -> std::result::Result<Vec<f32>, ClassifierError> {
        let (n, h, w, c) = batch.dim();
        if (h, w, c) != (self.height, self.width, 3) {
            return Err(ClassifierError::msg(format!(
                "the model takes {}×{}×3 images, got {h}×{w}×{c}",
                self.height, self.width
            )));
        }
        let prep = |v: f32, ch: usize| (v * self.scale - self.mean[ch]) / self.std[ch];
        let plane = h * w;
        let mut data = Vec::with_capacity(padded * plane * 3);
        for image in batch.outer_iter() {
            match (self.layout, image.as_slice()) {
                // Hot path (the explainer's batches are contiguous): one
                // pass over the pixels, each channel written to its plane.
                (InputLayout::Nchw, Some(pixels)) => {
                    let start = data.len();
                    data.resize(start + 3 * plane, 0.0);
                    let (red, rest) = data[start..].split_at_mut(plane);
                    let (green, blue) = rest.split_at_mut(plane);
                    let planes = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
                    for (((r, g), b), px) in planes.zip(pixels.chunks_exact(3)) {
                        *r = prep(px[0], 0);
                        *g = prep(px[1], 1);
                        *b = prep(px[2], 2);
                    }
                }
                (InputLayout::Nhwc, Some(pixels)) => data.extend(
                    pixels
                        .chunks_exact(3)
                        .flat_map(|px| [prep(px[0], 0), prep(px[1], 1), prep(px[2], 2)]),
                ),
                (InputLayout::Nchw, None) => {
                    for ch in 0..3 {
                        data.extend(image.index_axis(Axis(2), ch).iter().map(|&v| prep(v, ch)));
                    }
                }
                (InputLayout::Nhwc, None) => {
                    data.extend(image.iter().zip((0..3).cycle()).map(|(&v, ch)| prep(v, ch)))
                }
            }
        }
        let image_len = h * w * 3;
        if n > 0 {
            for _ in n..padded {
                data.extend_from_within((n - 1) * image_len..n * image_len);
            }
        }
        Ok(data)
    }

    /// Scores from the model's output values of `shape`, for the first `n`
    /// of `padded` images, softmaxed if asked.
    pub(crate) fn scores(
        &self,
        shape: &[usize],
        values: impl Iterator<Item = f32>,
        n: usize,
        padded: usize,
    ) -> std::result::Result<Array2<f32>, ClassifierError> {
        let classes = match shape {
            [rows, cols] if *rows == padded => *cols,
            [rows, cols, 1, 1] if *rows == padded => *cols,
            _ => {
                return Err(ClassifierError::msg(format!(
                    "the model returned shape {shape:?} for {padded} images; expected {padded}×C"
                )))
            }
        };
        let values: Vec<f32> = values.take(n * classes).collect();
        let mut out = Array2::from_shape_vec((n, classes), values)
            .map_err(|e| ClassifierError::msg(e.to_string()))?;
        if self.softmax {
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

/// Checks a model's declared input shape (`None` = a free side) against
/// the configured input: rank 4, the batch free or equal to the batch
/// size, every other side free or equal.
pub(crate) fn check_declared_shape(
    declared: &[Option<usize>],
    input: &InputSpec,
) -> std::result::Result<(), String> {
    let show: Vec<String> = declared
        .iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string()))
        .collect();
    let show = show.join("×");
    if let Some(&Some(n)) = declared.first()
        && n != input.batch_size
    {
        return Err(format!(
            "the model's input ({show}) has a batch dimension fixed at {n}; set its batch size to {n}"
        ));
    }
    let wanted = input.shape(input.batch_size);
    let fits = declared.len() == 4
        && declared
            .iter()
            .zip(wanted)
            .skip(1)
            .all(|(d, w)| d.is_none_or(|d| d == w));
    if !fits {
        let layout = match input.layout {
            InputLayout::Nchw => "N×3×H×W",
            InputLayout::Nhwc => "N×H×W×3",
        };
        return Err(format!(
            "the model's input is {show} (? = free); a {layout} tensor of {}×{} images was configured",
            input.height, input.width
        ));
    }
    Ok(())
}

/// A model file's bytes and its name for errors.
pub(crate) fn read_model(path: &std::path::Path) -> Result<(Vec<u8>, Option<String>)> {
    let name = Some(path.display().to_string());
    match std::fs::read(path) {
        Ok(bytes) => Ok((bytes, name)),
        Err(e) => Err(Error::Model {
            source_name: name,
            reason: e.to_string(),
        }),
    }
}

/// Runs `run` on every `batch_size` images of `batch` (each run gets
/// exactly `batch_size`, the last padded) and stacks the scores.
pub(crate) fn predict_in_batches(
    input: &InputSpec,
    classes: usize,
    batch: ArrayView4<'_, f32>,
    run: impl Fn(ArrayView4<'_, f32>, usize) -> std::result::Result<Array2<f32>, ClassifierError>,
) -> std::result::Result<Array2<f32>, ClassifierError> {
    let n = batch.dim().0;
    let size = input.batch_size;
    let mut out = Array2::zeros((n, classes));
    for start in (0..n).step_by(size) {
        let end = (start + size).min(n);
        let part = run(batch.slice(s![start..end, .., .., ..]), size)?;
        if part.ncols() != classes {
            return Err(ClassifierError::msg(format!(
                "the model returned {} scores per image, {classes} when it was loaded",
                part.ncols()
            )));
        }
        out.slice_mut(s![start..end, ..]).assign(&part);
    }
    Ok(out)
}

/// The class count from one dry run of `run` (a batch of zero images
/// padded to a full batch), which also proves the model runs.
pub(crate) fn probe_classes(
    input: &InputSpec,
    name: Option<String>,
    run: impl Fn(ArrayView4<'_, f32>, usize) -> std::result::Result<Array2<f32>, ClassifierError>,
) -> Result<usize> {
    let probe = ndarray::Array4::<f32>::zeros((1, input.height, input.width, 3));
    let out = run(probe.view(), input.batch_size).map_err(|e| Error::Model {
        source_name: name.clone(),
        reason: e.to_string(),
    })?;
    if out.ncols() == 0 {
        return Err(Error::Model {
            source_name: name,
            reason: "the model returns no scores".into(),
        });
    }
    Ok(out.ncols())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn spec(layout: InputLayout) -> InputSpec {
        InputSpec {
            height: 3,
            width: 4,
            layout,
            scale: 255.0,
            mean: [0.5, 1.5, 2.5],
            std: [2.0, 0.25, 3.0],
            softmax: false,
            batch_size: 4,
        }
    }

    #[test]
    fn tensor_data_matches_the_formula_for_any_memory_layout() {
        // Two images, stored contiguously and as a strided view of a wider array.
        let value = |n: usize, y: usize, x: usize, c: usize| {
            ((n * 31 + y * 7 + x * 3 + c) % 11) as f32 / 10.0
        };
        let batch = Array4::from_shape_fn((2, 3, 4, 3), |(n, y, x, c)| value(n, y, x, c));
        let wide =
            Array4::from_shape_fn(
                (2, 3, 6, 3),
                |(n, y, x, c)| if x < 4 { value(n, y, x, c) } else { -1.0 },
            );
        let strided = wide.slice(s![.., .., 0..4, ..]);
        assert!(strided.index_axis(Axis(0), 0).as_slice().is_none());
        for layout in [InputLayout::Nchw, InputLayout::Nhwc] {
            let spec = spec(layout);
            let data = spec.tensor_data(batch.view(), 3).unwrap();
            assert_eq!(data, spec.tensor_data(strided, 3).unwrap(), "{layout:?}");
            let shape = spec.shape(3);
            assert_eq!(data.len(), shape.iter().product::<usize>());
            for n in 0..3 {
                // The padding repeats the last image.
                let m = n.min(1);
                for y in 0..3 {
                    for x in 0..4 {
                        for c in 0..3 {
                            let at = match layout {
                                InputLayout::Nchw => ((n * 3 + c) * 3 + y) * 4 + x,
                                InputLayout::Nhwc => ((n * 3 + y) * 4 + x) * 3 + c,
                            };
                            let want =
                                (value(m, y, x, c) * spec.scale - spec.mean[c]) / spec.std[c];
                            assert_eq!(
                                data[at].to_bits(),
                                want.to_bits(),
                                "{layout:?} {n} {y} {x} {c}"
                            );
                        }
                    }
                }
            }
        }
        // An image of another size is an error, not a panic.
        let wrong = Array4::<f32>::zeros((1, 4, 4, 3));
        assert!(spec(InputLayout::Nchw)
            .tensor_data(wrong.view(), 1)
            .is_err());
    }

    #[test]
    fn scores_keep_the_real_rows_and_softmax() {
        let mut spec = spec(InputLayout::Nchw);
        let values = [1.0f32, 2.0, 3.0, 4.0, 9.0, 9.0];
        let out = spec.scores(&[3, 2], values.iter().copied(), 2, 3).unwrap();
        assert_eq!(out, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        assert!(spec.scores(&[2, 2], values.iter().copied(), 2, 3).is_err());
        spec.softmax = true;
        let out = spec
            .scores(&[3, 2, 1, 1], values.iter().copied(), 1, 3)
            .unwrap();
        let e = 1.0f32.exp();
        assert!((out[[0, 1]] - e / (1.0 + e)).abs() < 1e-6);
    }

    #[test]
    fn declared_shapes_are_checked() {
        let spec = spec(InputLayout::Nchw);
        assert!(check_declared_shape(&[None, Some(3), Some(3), Some(4)], &spec).is_ok());
        assert!(check_declared_shape(&[Some(4), None, None, None], &spec).is_ok());
        let fixed = check_declared_shape(&[Some(1), Some(3), Some(3), Some(4)], &spec).unwrap_err();
        assert!(fixed.contains("fixed at 1"), "{fixed}");
        let other = check_declared_shape(&[None, Some(3), Some(96), Some(96)], &spec).unwrap_err();
        assert!(
            other.contains("?×3×96×96") && other.contains("3×4 images"),
            "{other}"
        );
        assert!(check_declared_shape(&[None, Some(3), Some(3)], &spec).is_err());
        let nhwc = InputSpec {
            layout: InputLayout::Nhwc,
            ..spec
        };
        assert!(check_declared_shape(&[None, Some(3), Some(4), Some(3)], &nhwc).is_ok());
    }
}
