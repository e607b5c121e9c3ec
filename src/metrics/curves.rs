//! Deletion and insertion curves (Petsiuk, Das & Saenko, RISE, BMVC 2018).

use ndarray::{s, Array4};

use super::{check_same_size, hidden_fill, saliency_order};
use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::input::Image;
use crate::perturb::HideColor;

/// A perturbation curve: the class score after each step, and its area.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Curve {
    /// Share of pixels deleted (or inserted) at each point, `0 = t/steps`.
    pub fractions: Vec<f64>,
    /// The class score at each point.
    pub scores: Vec<f64>,
    /// Trapezoid-rule area under `scores` over `fractions` (in `[0, 1]` for
    /// probabilities).
    pub auc: f64,
}

const BATCH: usize = 16;

/// Deletion: pixels are replaced by `hide`, most salient first, in `steps`
/// equal steps; the score of `class` is recorded after each. Lower AUC =
/// more faithful heatmap.
///
/// ```
/// use multiscale_lime::metrics::deletion_curve;
/// use multiscale_lime::{FnClassifier, Heatmap, HideColor, Image};
/// use ndarray::{array, Array2, Array3};
///
/// // Score = mean red of a 1×4 image; deleting pixels (black) lowers it.
/// let clf = FnClassifier::new(1, |b| {
///     Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| {
///         (0..4).map(|x| b[[i, 0, x, 0]]).sum::<f32>() / 4.0
///     }))
/// });
/// let image = Image::new(Array3::from_elem((1, 4, 3), 1.0))?;
/// let heatmap = Heatmap::new(array![[4.0, 3.0, 2.0, 1.0]]);
/// let curve = deletion_curve(&image, &heatmap, &clf, 0, 4, HideColor::Constant([0.0; 3]))?;
/// assert_eq!(curve.scores, vec![1.0, 0.75, 0.5, 0.25, 0.0]);
/// assert!((curve.auc - 0.5).abs() < 1e-12);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `steps = 0`; as
/// [`explanation_accuracy`](super::explanation_accuracy) otherwise.
pub fn deletion_curve<C: Classifier + ?Sized>(
    image: &Image,
    heatmap: &Heatmap,
    classifier: &C,
    class: usize,
    steps: usize,
    hide: HideColor,
) -> Result<Curve> {
    let fill = hidden_fill(image, hide)?;
    curve(image, &fill, heatmap, classifier, class, steps)
}

/// Insertion: starting from a blurred copy of the image (`blur_sigma`
/// pixels), original pixels are put back, most salient first. Higher AUC =
/// more faithful heatmap.
///
/// # Errors
/// As [`deletion_curve`], plus [`Error::InvalidParameter`] for a blur width
/// that is not finite and > 0.
pub fn insertion_curve<C: Classifier + ?Sized>(
    image: &Image,
    heatmap: &Heatmap,
    classifier: &C,
    class: usize,
    steps: usize,
    blur_sigma: f32,
) -> Result<Curve> {
    let blurred = hidden_fill(image, HideColor::Blurred { sigma: blur_sigma })?;
    // Inserting into the blurred image = deleting from it with the original as fill.
    curve(&blurred, image, heatmap, classifier, class, steps)
}

/// Scores `start` with the `t/steps` most salient pixels taken from `end`.
fn curve<C: Classifier + ?Sized>(
    start: &Image,
    end: &Image,
    heatmap: &Heatmap,
    classifier: &C,
    class: usize,
    steps: usize,
) -> Result<Curve> {
    if steps == 0 {
        return Err(Error::invalid("steps", steps, "at least 1"));
    }
    check_same_size(start, heatmap)?;
    let classes = classifier.num_classes();
    if class >= classes {
        return Err(Error::Target {
            what: "class",
            value: class,
            classes,
        });
    }
    let order = saliency_order(heatmap)?;
    let n = order.len();
    let (h, w) = (start.height(), start.width());
    let mut current: Vec<f32> = start.as_slice().to_vec();
    let mut scores = Vec::with_capacity(steps + 1);
    let mut batch = Array4::<f32>::zeros((BATCH.min(steps + 1), h, w, 3));
    let mut filled = 0;
    let mut changed = 0;
    for t in 0..=steps {
        let upto = (t * n).div_ceil(steps).min(n);
        for &p in &order[changed..upto] {
            current[3 * p..3 * p + 3].copy_from_slice(&end.as_slice()[3 * p..3 * p + 3]);
        }
        changed = upto;
        if let Some(dst) = batch.slice_mut(s![filled, .., .., ..]).as_slice_mut() {
            dst.copy_from_slice(&current);
        }
        filled += 1;
        if filled == batch.dim().0 || t == steps {
            let view = batch.slice(s![..filled, .., .., ..]);
            let out = classifier.predict(view)?;
            if out.dim() != (filled, classes) {
                return Err(Error::ClassifierOutput {
                    expected: (filled, classes),
                    got: out.dim(),
                });
            }
            for (i, &v) in out.column(class).iter().enumerate() {
                if !v.is_finite() {
                    return Err(Error::ClassifierNonFinite {
                        batch_row: i,
                        class,
                        value: v,
                    });
                }
                scores.push(f64::from(v));
            }
            filled = 0;
        }
    }
    let fractions: Vec<f64> = (0..=steps).map(|t| t as f64 / steps as f64).collect();
    let auc = scores
        .windows(2)
        .map(|p| (p[0] + p[1]) / 2.0 / steps as f64)
        .sum();
    Ok(Curve {
        fractions,
        scores,
        auc,
    })
}
