//! Peer explainers, each implemented from its paper with its published
//! defaults, run at the same model-call budget as the LIME methods.
//!
//! - [`rise`]: **RISE** (Petsiuk, Das & Saenko, BMVC 2018): `N` random
//!   masks, each an `s × s` grid of cells on with probability `p`,
//!   upsampled bilinearly and shifted at random; the saliency is the
//!   score-weighted mean mask, divided by `p`. Defaults `p = ½`, `s = 8`
//!   (the reference code's; on our 96 × 96 patches a cell is 12 pixels).
//!   Budget: `N` = the budget.
//! - [`kernel_shap`]: **KernelSHAP** (Lundberg & Lee, NeurIPS 2017) on
//!   superpixels: coalitions drawn as `shap`'s `KernelExplainer` draws them
//!   (whole subset sizes enumerated while the budget covers them, the rest
//!   sampled in complementary pairs by Shapley-kernel weight), the
//!   weighted least squares solved with the efficiency constraint exact.
//!   Superpixels: SLIC at compactness [`COMPACTNESS`] with [`SEGMENTS`]
//!   desired segments, the finest level of the crate's default. Budget:
//!   the coalitions scored, `f(∅)` included.
//! - [`occlusion`]: **occlusion** (Zeiler & Fergus, ECCV 2014; as
//!   captum's `Occlusion`): a `w × w` window slid over the image, each
//!   pixel's attribution the mean score drop over the windows covering
//!   it. Default `w = 12` (one RISE cell). Budget: `⌊√budget⌋` positions
//!   per side, spread evenly from edge to edge. Deterministic.
//!
//! All three hide pixels by the case's hide colour ([`baseline`]); none
//! counts the call that scores the image itself (every method makes it
//! for the prediction). Scores are taken [`CHUNK`] images per `predict`
//! call in a fixed order and summed in sample order, so a seed gives the
//! same bits on any number of rayon threads.

pub mod kernel_shap;
pub mod occlusion;
pub mod rise;

pub use kernel_shap::{KernelShap, ShapValues};
pub use occlusion::Occlusion;
pub use rise::Rise;

use multiscale_lime::ndarray::{Array2, Array3, Array4, ArrayView4, Axis};
use multiscale_lime::{
    Classifier, Error, Fill, Heatmap, HideColor, Image, Result, Segmentation, Segmenter, Slic,
};
use rayon::prelude::*;

use crate::cases::Case;
use crate::methods::{Output, COMPACTNESS, LEVELS};

/// Images per `predict` call.
pub const CHUNK: usize = 64;

/// Desired SLIC segments of KernelSHAP's superpixels and of the segment-mean
/// baseline: the finest of [`LEVELS`].
pub const SEGMENTS: usize = LEVELS[LEVELS.len() - 1];

/// The segmentation KernelSHAP explains and the segment-mean baseline
/// averages over: SLIC at [`COMPACTNESS`] with [`SEGMENTS`] desired
/// segments, as the crate's default explainer builds its finest level.
///
/// # Errors
/// When `image` has fewer pixels than [`SEGMENTS`].
pub fn segmentation(image: &Image) -> Result<Segmentation> {
    Slic::default()
        .with_compactness(COMPACTNESS)?
        .segment(image, SEGMENTS)
}

/// The image a fully hidden input shows under `hide`: the constant colour,
/// each segment of `segmentation` in its mean colour, or the blurred image
/// (the library's own fill, so the same pixels LIME's hidden segments show).
///
/// # Errors
/// An invalid hide colour, or a segmentation that does not fit `image`.
pub fn baseline(image: &Image, hide: HideColor, segmentation: &Segmentation) -> Result<Image> {
    match hide.fill(image, segmentation)? {
        Fill::Color(c) => Image::new(Array3::from_shape_fn(
            (image.height(), image.width(), 3),
            |(_, _, ch)| c[ch],
        )),
        Fill::Image(filled) => Ok(filled),
        other => Err(Error::InconsistentInput {
            context: "peers::baseline",
            reason: format!("a fill the peers do not know: {other:?}"),
        }),
    }
}

/// RISE, KernelSHAP and occlusion on `case` at `budget` model calls each,
/// named `rise {label}`, `kernelshap {label}`, `occlusion {label}`, with
/// the calls each really made (at most `budget`; occlusion makes a square
/// number of them). `seed` drives RISE's masks and KernelSHAP's coalitions;
/// occlusion draws nothing, so its map comes from `memo` when a seed
/// before this one computed it for the same case, model and budget.
///
/// # Errors
/// A budget too small for a peer (RISE needs 1, KernelSHAP 2, occlusion
/// 4), an image smaller than [`SEGMENTS`] pixels or the window, or a
/// failing model.
pub fn run(
    case: &Case,
    seed: u64,
    budget: usize,
    label: &str,
    memo: &OcclusionMemo,
) -> Result<Vec<Output>> {
    let model = &*case.model;
    let segments = segmentation(&case.image)?;
    let base = baseline(&case.image, case.hide, &segments)?;
    let rise = Rise::with_masks(budget)?;
    let rise_map = rise.explain(&case.image, model, case.class, &base, seed)?;
    let shap =
        KernelShap::new(budget)?.explain(&case.image, model, case.class, &segments, &base, seed)?;
    let occlusion = Occlusion::new(Occlusion::WINDOW, budget)?;
    let occlusion_calls = occlusion
        .windows(case.image.height(), case.image.width())?
        .len();
    let occlusion_map = memo.get_or_run(budget, || {
        occlusion.explain(&case.image, model, case.class, &base)
    })?;
    Ok(vec![
        Output {
            method: format!("rise {label}"),
            calls: rise.masks(),
            heatmap: rise_map,
        },
        Output {
            method: format!("kernelshap {label}"),
            calls: shap.calls,
            heatmap: shap.heatmap,
        },
        Output {
            method: format!("occlusion {label}"),
            calls: occlusion_calls,
            heatmap: occlusion_map,
        },
    ])
}

/// Occlusion's maps of one case and model by budget: occlusion draws
/// nothing at random, so the seeds of a case share one map (the benchmark
/// then scores it once per seed, as every method).
#[derive(Debug, Default)]
pub struct OcclusionMemo(std::sync::Mutex<std::collections::HashMap<usize, Heatmap>>);

impl OcclusionMemo {
    /// The map for `budget`, computed by `run` the first time.
    fn get_or_run(&self, budget: usize, run: impl FnOnce() -> Result<Heatmap>) -> Result<Heatmap> {
        let lock = || {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(map) = lock().get(&budget) {
            return Ok(map.clone());
        }
        let map = run()?;
        lock().insert(budget, map.clone());
        Ok(map)
    }
}

/// An [`Error::InvalidParameter`] naming `value`.
pub(crate) fn invalid(
    name: &'static str,
    value: impl std::fmt::Display,
    expected: &'static str,
) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        expected,
    }
}

/// [`Error::Target`] unless `class` is one of the model's classes.
pub(crate) fn check_class<C: Classifier + ?Sized>(model: &C, class: usize) -> Result<()> {
    let classes = model.num_classes();
    if class >= classes {
        return Err(Error::Target {
            what: "class",
            value: class,
            classes,
        });
    }
    Ok(())
}

/// [`Error::InconsistentInput`] unless `baseline` has `image`'s size.
pub(crate) fn check_baseline(image: &Image, baseline: &Image) -> Result<()> {
    if (image.height(), image.width()) != (baseline.height(), baseline.width()) {
        return Err(Error::InconsistentInput {
            context: "peers",
            reason: format!(
                "the baseline is {}×{}, the image {}×{}",
                baseline.height(),
                baseline.width(),
                image.height(),
                image.width()
            ),
        });
    }
    Ok(())
}

/// `count` images of `height × width` pixels, image `i` written by
/// `render(i, pixels)` (row-major RGB), rendered in parallel.
pub(crate) fn render_batch(
    count: usize,
    (height, width): (usize, usize),
    render: impl Fn(usize, &mut [f32]) + Sync,
) -> Array4<f32> {
    let mut batch = Array4::<f32>::zeros((count, height, width, 3));
    let len = height * width * 3;
    if let Some(data) = batch.as_slice_mut() {
        data.par_chunks_mut(len.max(1))
            .enumerate()
            .for_each(|(i, pixels)| render(i, pixels));
    }
    batch
}

/// The model's scores for `class` on `batch`, checked for shape and
/// finiteness.
pub(crate) fn score_batch<C: Classifier + ?Sized>(
    model: &C,
    class: usize,
    batch: ArrayView4<'_, f32>,
) -> Result<Vec<f64>> {
    let rows = batch.dim().0;
    let classes = model.num_classes();
    let out: Array2<f32> = model.predict(batch)?;
    if out.dim() != (rows, classes) {
        return Err(Error::ClassifierOutput {
            expected: (rows, classes),
            got: out.dim(),
        });
    }
    out.column(class)
        .iter()
        .enumerate()
        .map(|(batch_row, &value)| {
            if value.is_finite() {
                Ok(f64::from(value))
            } else {
                Err(Error::ClassifierNonFinite {
                    batch_row,
                    class,
                    value,
                })
            }
        })
        .collect()
}

/// The model's score for `class` on `image` alone.
pub(crate) fn score_image<C: Classifier + ?Sized>(
    model: &C,
    class: usize,
    image: &Image,
) -> Result<f64> {
    let batch = image.view().insert_axis(Axis(0));
    Ok(score_batch(model, class, batch)?[0])
}

/// Scores `count` images in [`CHUNK`]s, in order: image `i` is written by
/// `render(i, pixels)`; the scores come back in image order.
pub(crate) fn score_all<C: Classifier + ?Sized>(
    model: &C,
    class: usize,
    count: usize,
    dim: (usize, usize),
    render: impl Fn(usize, &mut [f32]) + Sync,
) -> Result<Vec<f64>> {
    let mut scores = Vec::with_capacity(count);
    for start in (0..count).step_by(CHUNK) {
        let n = CHUNK.min(count - start);
        let batch = render_batch(n, dim, |i, pixels| render(start + i, pixels));
        scores.extend(score_batch(model, class, batch.view())?);
    }
    Ok(scores)
}
