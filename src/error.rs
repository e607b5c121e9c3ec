//! The crate's error type.
//!
//! Every fallible function returns [`Result<T>`]. Messages carry the offending
//! value so that a user can see what was wrong without a debugger.

use std::error::Error as StdError;
use std::fmt;

/// Shorthand for `std::result::Result<T, multiscale_lime::Error>`; the
/// error type can still be named (`Result<T, MyError>`), so a glob import
/// does not shadow the standard `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building or running an explanation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyper-parameter is outside its valid range.
    #[error("invalid parameter `{name}`: got {value}, expected {expected}")]
    InvalidParameter {
        /// Name of the parameter, as spelled in the builder.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// The valid range, in words.
        expected: &'static str,
    },

    /// The image has no pixels.
    #[error("the image is empty ({height}×{width} pixels)")]
    EmptyImage {
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
    },

    /// The image array does not have the `H×W×3` shape the crate works with.
    #[error("image array has shape {shape:?}, expected H×W×3 (RGB, channels last)")]
    ImageShape {
        /// The shape that was given.
        shape: Vec<usize>,
    },

    /// A pixel value is NaN, infinite or outside `[0, 1]`.
    #[error("pixel ({row}, {col}) channel {channel} has value {value}, expected a finite value in [0, 1]")]
    PixelValue {
        /// Row of the pixel.
        row: usize,
        /// Column of the pixel.
        col: usize,
        /// Channel (0 = red).
        channel: usize,
        /// The offending value.
        value: f32,
    },

    /// The desired number of segments cannot be produced for this image.
    #[error(
        "cannot cut a {height}×{width} image into {desired} segments (need 1 ≤ segments ≤ pixels)"
    )]
    SegmentCount {
        /// Segments asked for.
        desired: usize,
        /// Image rows.
        height: usize,
        /// Image columns.
        width: usize,
    },

    /// A label map is not a valid segmentation (or does not fit the image).
    #[error("invalid segmentation: {reason}")]
    InvalidSegmentation {
        /// What is wrong, in words.
        reason: String,
    },

    /// The classifier returned an array of the wrong shape.
    #[error("classifier returned a {got:?} array for a batch of {expected:?} (rows = images, columns = classes)")]
    ClassifierOutput {
        /// Expected `(images, classes)`.
        expected: (usize, usize),
        /// What it returned.
        got: (usize, usize),
    },

    /// The classifier returned NaN or an infinite score.
    #[error("classifier returned a non-finite score {value} for image {batch_row} of a batch, class {class}")]
    ClassifierNonFinite {
        /// The image's row in the batch the classifier was given.
        batch_row: usize,
        /// Class column.
        class: usize,
        /// The offending score.
        value: f32,
    },

    /// A score is not a probability where one is needed (the
    /// [`Response::LogOdds`](crate::Response::LogOdds) surrogate takes
    /// the log-odds of scores in `[0, 1]`).
    #[error("classifier returned {value} for sample {sample} of a level's fit (0 is the image itself), class {class}; log-odds need probabilities in [0, 1] (for a model that returns logits, apply a softmax: `ModelBuilder::softmax`, `--softmax`; or regress the scores as they are: Response::Score, `--response score`)")]
    ClassifierNotProbability {
        /// The sample's row in the level's fit (0 is the image itself; see
        /// [`LevelExplanation::samples`](crate::LevelExplanation::samples)).
        sample: usize,
        /// Class column.
        class: usize,
        /// The offending score.
        value: f32,
    },

    /// The classifier itself failed.
    #[error("the classifier failed")]
    Classifier(#[source] ClassifierError),

    /// The requested target class does not exist.
    #[error("target {what} is {value}, but the classifier has {classes} classes")]
    Target {
        /// Which part of the target is wrong (`class` or `top labels`).
        what: &'static str,
        /// The rejected value.
        value: usize,
        /// Number of classes the classifier reports.
        classes: usize,
    },

    /// Inputs to a surrogate fit or a combiner disagree in length or contain
    /// non-finite values.
    #[error("inconsistent input to {context}: {reason}")]
    InconsistentInput {
        /// Which operation received the input.
        context: &'static str,
        /// What is wrong, in words.
        reason: String,
    },

    /// A model file could not be read, parsed or prepared for inference.
    #[error("cannot load the model{}: {reason}", source_name.as_ref().map(|s| format!(" {s}")).unwrap_or_default())]
    Model {
        /// The file, when loaded from a path.
        source_name: Option<String>,
        /// What went wrong, in words.
        reason: String,
    },

    /// ONNX Runtime's shared library could not be opened or used.
    #[error("ONNX Runtime ({library}): {reason}")]
    OnnxRuntime {
        /// The library's path, as asked for.
        library: String,
        /// What went wrong, in words.
        reason: String,
    },

    /// A slide that cannot be read: the file and the problem.
    #[error("slide {path}: {reason}")]
    Slide {
        /// The slide's file.
        path: String,
        /// What is wrong, and what to do where there is something to do.
        reason: String,
    },

    /// An input would need more memory than the explainer's
    /// [`Limits`](crate::Limits) allow; nothing was allocated for it.

    #[error("{what}: {value} exceeds the limit of {limit} (raise `Limits::{setting}` deliberately for larger work)")]
    LimitExceeded {
        /// What was measured, in words.
        what: &'static str,
        /// Its value (saturated at `usize::MAX` where it overflowed).
        value: usize,
        /// The bound in force.
        limit: usize,
        /// The [`Limits`](crate::Limits) setter that raises the bound.
        setting: &'static str,
    },

    /// The weighted normal equations of the surrogate could not be solved
    /// (only possible with `alpha = 0` and collinear or constant masks).
    #[error("the surrogate's normal equations are singular ({features} features, alpha = {alpha}); use alpha > 0")]
    Singular {
        /// Number of features (segments).
        features: usize,
        /// The ridge penalty that was used.
        alpha: f64,
    },
}

impl Error {
    pub(crate) fn invalid(
        name: &'static str,
        value: impl fmt::Display,
        expected: &'static str,
    ) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected,
        }
    }

    pub(crate) fn inconsistent(context: &'static str, reason: impl Into<String>) -> Self {
        Error::InconsistentInput {
            context,
            reason: reason.into(),
        }
    }
}

/// An error raised by a [`Classifier`](crate::Classifier) implementation.
///
/// It wraps any error type, so a model runtime's own error can travel through
/// [`Error::Classifier`] and be inspected with [`std::error::Error::source`].
///
/// ```
/// use multiscale_lime::ClassifierError;
/// let e = ClassifierError::msg("model not loaded");
/// assert_eq!(e.to_string(), "model not loaded");
/// ```
#[derive(Debug)]
pub struct ClassifierError(Box<dyn StdError + Send + Sync + 'static>);

impl ClassifierError {
    /// Wraps any error.
    pub fn new<E: Into<Box<dyn StdError + Send + Sync + 'static>>>(error: E) -> Self {
        ClassifierError(error.into())
    }

    /// An error from a message.
    pub fn msg(message: impl Into<String>) -> Self {
        ClassifierError(message.into().into())
    }

    /// The wrapped error.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Display for ClassifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for ClassifierError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl From<ClassifierError> for Error {
    fn from(e: ClassifierError) -> Self {
        Error::Classifier(e)
    }
}
