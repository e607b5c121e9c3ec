//! # multiscale-lime
//!
//! Explain any image classifier with **multi-scale LIME** (Hajian &
//! Ebrahimi): the image is cut into superpixels at several scales, each
//! scale gets its own LIME explanation, and the per-scale heatmaps are fused
//! with scale weights.
//!
//! ```text
//! image ─► Segmenter (per level) ─► Perturber (seeded masks, batched renders)
//!       ─► Classifier ─► kernel-weighted SurrogateFitter ─► heatmap per level
//!       ─► HeatmapStack ─► Combiner ─► combined heatmap
//! ```
//!
//! Each arrow is a trait, so each stage can be swapped:
//!
//! | Stage | Trait | Provided |
//! |---|---|---|
//! | superpixels | [`Segmenter`] | [`Slic`] (scikit-image compatible), [`SquareGrid`], [`Precomputed`] |
//! | black box | [`Classifier`] | [`FnClassifier`] for closures; ONNX models through ONNX Runtime (`ort` feature) or tract (`onnx` feature) in `onnx` |
//! | perturbations | [`Perturber`] | [`BernoulliPerturber`] with [`HideColor`] and a [`Sampling`] design |
//! | local model | [`SurrogateFitter`] | [`Ridge`] (weighted, exact, with sandwich standard errors) |
//! | fusion | [`Combiner`] | [`Trapezoid`], [`InverseTrapezoid`], [`Gaussian`], [`Uniform`], [`CustomWeights`], [`Density`], [`Feathered`] |
//!
//! After the pipeline: [`metrics`] tells whether an explanation is faithful
//! (explanation accuracy, deletion/insertion AUC, pointing game, relevance
//! mass, stability across seeds) and [`render`] draws it (colour maps,
//! overlays, colour bars, text, the paper's panel figure at print
//! resolution). The [`guide`] covers choosing
//! levels, weights and hide colours, and reading the results.
//!
//! The crate re-exports the [`image`] and [`ndarray`] versions its API uses,
//! so `multiscale_lime::ndarray::Array2` always matches.
//!
//! ## Example
//!
//! ```
//! use multiscale_lime::prelude::*;
//! use ndarray::{Array2, Array3, Axis};
//!
//! // A 32×32 image whose left half is stained (dark) and a "classifier"
//! // that scores stain in the left half.
//! let img = Array3::from_shape_fn((32, 32, 3), |(_, x, _)| if x < 16 { 0.2 } else { 0.9 });
//! let image = Image::new(img)?;
//! let classifier = FnClassifier::new(2, |batch| {
//!     let mut out = Array2::zeros((batch.dim().0, 2));
//!     for (i, im) in batch.axis_iter(Axis(0)).enumerate() {
//!         let left = im.slice(ndarray::s![.., ..16, ..]);
//!         let stain = left.iter().filter(|&&v| v > 0.0 && v < 0.5).count() as f32 / left.len() as f32;
//!         out[[i, 0]] = 1.0 - stain;
//!         out[[i, 1]] = stain;
//!     }
//!     Ok(out)
//! });
//!
//! let lime = MultiScaleLime::builder()
//!     .levels([4, 16, 64])
//!     .compactness(5.0)
//!     .seed(7)
//!     .build()?;
//! let explanation = lime.explain(&image, &classifier, Target::Predicted)?;
//! assert_eq!(explanation.predicted_class(), 1);
//!
//! let stack = &explanation.stacks()[0];
//! for level in stack.levels() {
//!     println!("s = {:3}  s' = {:3}  R² = {:.2}", level.desired, level.actual, level.r2);
//! }
//! let combined = Trapezoid.combine(stack)?;
//! let map = combined.heatmap.values();
//! assert!(map[[16, 4]] > map[[16, 28]]); // the stained half matters
//! # Ok::<(), multiscale_lime::Error>(())
//! ```
//!
//! ## Reproducibility
//!
//! Every random choice flows from the builder's `seed` through
//! `rand_chacha::ChaCha8Rng`, one stream per level. For a given seed the
//! heatmaps are bit-identical whatever the rayon thread count or batch size.
//!
//! ## Errors
//!
//! Bad input gives an [`Error`], never a panic: empty or mis-shaped images,
//! zero or too many segments, invalid parameters, classifier failures, and
//! classifier output of the wrong shape or with NaN.
//!
//! ## Command line
//!
//! The `mslime` tool (explain one image, a resumable batch of them, or
//! show a segmentation) is a crate of its own: `cargo install mslime`.
//!
//! ## Features
//!
//! None is on by default: the default build runs any [`Classifier`] you
//! implement and needs no model runtime.
//!
#![cfg_attr(feature = "document-features", doc = document_features::document_features!())]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod blur;
mod classify;
pub mod combine;
mod error;
mod explain;
pub mod guide;
mod heatmap;
mod input;
pub mod kernel;
pub mod metrics;
#[cfg(any(feature = "onnx", feature = "ort"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "onnx", feature = "ort"))))]
pub mod onnx;
pub mod perturb;
pub mod render;
mod rng;
pub mod segment;
#[cfg(feature = "slide")]
#[cfg_attr(docsrs, doc(cfg(feature = "slide")))]
pub mod slide;
pub mod surrogate;
mod text;

/// The `image` crate this crate's API uses (decoding, [`image::RgbImage`]):
/// use it instead of adding a dependency of a matching version yourself.
pub use image;
/// The `ndarray` crate this crate's API uses (batches, heatmaps, labels):
/// use it instead of adding a dependency of a matching version yourself.
pub use ndarray;

pub use crate::classify::{Classifier, FnClassifier};
#[doc(no_inline)]
pub use crate::combine::{
    CombinedHeatmap, Combiner, CustomWeights, Density, Feathered, Fusion, Gaussian,
    InverseTrapezoid, Trapezoid, Uniform,
};
pub use crate::error::{ClassifierError, Error, Result};
pub use crate::explain::{
    Adaptive, BatchSize, Config, Explanation, Limits, MultiScaleLime, MultiScaleLimeBuilder,
    Preset, Response, SampleCount, Schedule, Setting, StopRule, Target,
};
pub use crate::heatmap::{Heatmap, HeatmapStack, LevelExplanation, Normalization};
pub use crate::input::Image;
#[doc(no_inline)]
pub use crate::perturb::{BernoulliPerturber, Fill, HideColor, Perturber, Sampling};
#[doc(no_inline)]
pub use crate::segment::{Precomputed, Segmentation, Segmenter, Slic, SlicBuilder, SquareGrid};
#[doc(no_inline)]
pub use crate::surrogate::{Ridge, Surrogate, SurrogateFitter};

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The names most programs need: `use multiscale_lime::prelude::*;`.
///
/// The five stage traits (so their methods are in scope), the types of the
/// default pipeline (`MultiScaleLime` and its options, `Image`,
/// `Explanation`, `FnClassifier`, `HideColor`, the paper's `Slic` and
/// `Trapezoid`), and the error types. `Result<T, E = Error>` keeps working
/// with a second parameter, so it does not shadow the standard `Result`.
/// Other implementations (`SquareGrid`, the other combiners, `Ridge`, …)
/// are one `use multiscale_lime::…` away.
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::{
        BatchSize, Classifier, ClassifierError, Combiner, Config, Error, Explanation, FnClassifier,
        Fusion, HideColor, Image, MultiScaleLime, Perturber, Preset, Result, Segmenter, Slic,
        SurrogateFitter, Target, Trapezoid,
    };
}
