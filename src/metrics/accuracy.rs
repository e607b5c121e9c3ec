//! The paper's explanation accuracy (§3).

use ndarray::Axis;

use super::{check_same_size, compose, hidden_fill, saliency_order};
use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::input::Image;
use crate::perturb::HideColor;

/// What the classifier says when it sees only the salient region.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccuracyReport {
    /// The class checked (usually the original prediction).
    pub class: usize,
    /// Its score on the full image.
    pub original_score: f32,
    /// Its score with only the top `fraction` of pixels kept.
    pub masked_score: f32,
    /// The best class on the masked image (lowest index on ties).
    pub masked_prediction: usize,
    /// Whether `masked_prediction == class`.
    pub label_holds: bool,
    /// Share of pixels kept.
    pub fraction: f64,
}

/// Keeps the `fraction` most salient pixels of `image` (by `heatmap`), hides
/// the rest with `hide`, and re-classifies.
///
/// The idea (paper §3): if the explanation found what the model relies on,
/// the salient region alone should keep the prediction. `fraction = 0.2` is
/// a common choice.
///
/// ```
/// use multiscale_lime::metrics::explanation_accuracy;
/// use multiscale_lime::{FnClassifier, Heatmap, HideColor, Image};
/// use ndarray::{array, Array2, Array3};
///
/// // Class 1 iff the left pixel is bright.
/// let clf = FnClassifier::new(2, |b| {
///     Ok(Array2::from_shape_fn((b.dim().0, 2), |(i, c)| {
///         let v = b[[i, 0, 0, 0]];
///         if c == 1 { v } else { 1.0 - v }
///     }))
/// });
/// let image = Image::new(Array3::from_elem((1, 2, 3), 0.9))?;
/// let good = Heatmap::new(array![[1.0, 0.0]]);
/// let r = explanation_accuracy(&image, &good, &clf, 1, 0.5, HideColor::Constant([0.0; 3]))?;
/// assert!(r.label_holds && (r.masked_score - 0.9).abs() < 1e-6);
/// let bad = Heatmap::new(array![[0.0, 1.0]]);
/// let r = explanation_accuracy(&image, &bad, &clf, 1, 0.5, HideColor::Constant([0.0; 3]))?;
/// assert!(!r.label_holds);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 < fraction ≤ 1`;
/// [`Error::InconsistentInput`] when the heatmap's size differs from the
/// image's or it holds non-finite values; [`Error::Target`] for a class the
/// classifier lacks; classifier errors.
pub fn explanation_accuracy<C: Classifier + ?Sized>(
    image: &Image,
    heatmap: &Heatmap,
    classifier: &C,
    class: usize,
    fraction: f64,
    hide: HideColor,
) -> Result<AccuracyReport> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::invalid("fraction", fraction, "a value in (0, 1]"));
    }
    check_same_size(image, heatmap)?;
    let classes = classifier.num_classes();
    if class >= classes {
        return Err(Error::Target {
            what: "class",
            value: class,
            classes,
        });
    }
    let order = saliency_order(heatmap)?;
    let kept = ((fraction * order.len() as f64).round() as usize).clamp(1, order.len());
    let mut keep = vec![false; order.len()];
    for &p in &order[..kept] {
        keep[p] = true;
    }
    let masked = compose(image, &hidden_fill(image, hide)?, &keep);
    let original = score_one(classifier, image)?;
    let scores = score_one(classifier, &masked)?;
    let masked_prediction = (0..scores.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    Ok(AccuracyReport {
        class,
        original_score: original[class],
        masked_score: scores[class],
        masked_prediction,
        label_holds: masked_prediction == class,
        fraction: kept as f64 / order.len() as f64,
    })
}

pub(crate) fn score_one<C: Classifier + ?Sized>(classifier: &C, image: &Image) -> Result<Vec<f32>> {
    let out = classifier.predict(image.view().insert_axis(Axis(0)))?;
    let classes = classifier.num_classes();
    if out.dim() != (1, classes) {
        return Err(Error::ClassifierOutput {
            expected: (1, classes),
            got: out.dim(),
        });
    }
    if let Some((class, &value)) = out.row(0).indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::ClassifierNonFinite {
            batch_row: 0,
            class,
            value,
        });
    }
    Ok(out.row(0).to_vec())
}

/// The paper's `ea` over a data set: the share of reports whose label held.
/// `None` for no reports.
///
/// ```
/// # use multiscale_lime::metrics::accuracy_rate;
/// assert_eq!(accuracy_rate(&[]), None);
/// ```
pub fn accuracy_rate(reports: &[AccuracyReport]) -> Option<f64> {
    if reports.is_empty() {
        return None;
    }
    Some(reports.iter().filter(|r| r.label_holds).count() as f64 / reports.len() as f64)
}
