//! Model-randomisation sanity checks (Adebayo et al. 2018, "Sanity Checks
//! for Saliency Maps"): an explanation that does not change when the
//! model's learned weights are destroyed cannot be explaining the model.
//!
//! - [`randomise`]: the cascade of models, the trained one and then its
//!   learned layers re-initialised one more at a time from the top
//!   (`head`, `head+conv4`, …), edited in the ONNX protobuf;
//! - [`similarity`]: Spearman rank correlation (signed and of absolute
//!   values) and SSIM between two heatmaps;
//! - [`checks`]: the cascade check, the constant-model check of every
//!   method, and multi-scale LIME's own constant-model check (its
//!   coefficient intervals and fused map);
//! - [`summary`]: the results per method, the pass rules, tables and JSON.
//!
//! # Pass rules
//!
//! - **Cascade** ([`summary::cascade_passes`]): a method passes when its
//!   mean Spearman correlation (signed) with the trained model's map, over
//!   the cases, is below [`CASCADE_MAX_SPEARMAN`] at full randomisation
//!   (the last depth) and lower there than at the first depth (the head
//!   alone randomised). A map that does not react to the weights keeps a
//!   correlation near 1 at every depth and fails.
//! - **Constant model** ([`checks::ConstantRow::passed`]): a model whose
//!   scores are the same for every image has no evidence anywhere, so a
//!   method passes when the largest `|relevance|` of its map is at most
//!   [`CONSTANT_TOLERANCE`] times the model's output scale (the largest
//!   `|score|` it returns).
//! - **Multi-scale LIME on the constant model**
//!   ([`checks::LimeConstantCheck::passed`]): every level's
//!   [`CONSTANT_CONFIDENCE`] coefficient intervals contain zero and the
//!   fused map is exactly zero everywhere.
//!
//! The reference values of [`similarity`] come from scikit-image and SciPy
//! (`tools/make_sanity_fixture.py` writes `tests/data/sanity_similarity.json`).

pub mod checks;
pub mod randomise;
pub mod similarity;
pub mod summary;

use std::fmt;

pub use checks::{
    cascade, constant, lime_constant, CascadeRow, ConstantModel, ConstantRow, LevelCheck,
    LimeConstantCheck,
};
pub use randomise::{cascading_models, cascading_onnx, layers, Layer};
pub use similarity::{spearman, spearman_abs, ssim};

/// Mean Spearman correlation to the trained map below which a method's
/// fully randomised maps count as changed.
pub const CASCADE_MAX_SPEARMAN: f64 = 0.5;
/// Largest `|relevance|` of a map of the constant model, relative to the
/// model's output scale, that counts as zero.
pub const CONSTANT_TOLERANCE: f64 = 1e-9;
/// Confidence of the coefficient intervals of multi-scale LIME's
/// constant-model check.
pub const CONSTANT_CONFIDENCE: f64 = 0.9;

/// What can go wrong in a sanity check.
#[derive(Debug)]
#[non_exhaustive]
pub enum SanityError {
    /// The ONNX model cannot be decoded, has no learned layers, or stores
    /// a learned tensor in a way the editor does not handle.
    Onnx(String),
    /// Heatmaps, scores or models that cannot be compared (shapes differ,
    /// non-finite values, too small for the SSIM window, no models, …).
    Input(String),
    /// The library failed: loading a model, explaining, a classifier.
    Library(multiscale_lime::Error),
}

impl fmt::Display for SanityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanityError::Onnx(reason) => write!(f, "ONNX model: {reason}"),
            SanityError::Input(reason) => write!(f, "sanity check input: {reason}"),
            SanityError::Library(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SanityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SanityError::Library(e) => Some(e),
            _ => None,
        }
    }
}

impl From<multiscale_lime::Error> for SanityError {
    fn from(e: multiscale_lime::Error) -> Self {
        SanityError::Library(e)
    }
}

/// Shorthand for the sanity checks' results.
pub type Result<T, E = SanityError> = std::result::Result<T, E>;
