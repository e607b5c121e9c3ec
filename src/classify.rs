//! The black box being explained.

use ndarray::{Array2, ArrayView4};

use crate::error::ClassifierError;

/// A batched, fallible image classifier.
///
/// `predict` receives `N×H×W×3` images with `f32` values in `[0, 1]` (RGB,
/// channels last) and returns an `N×C` array of scores, one row per image in
/// the same order, `C = num_classes()`. Scores are usually probabilities, but
/// any finite values work (LIME explains whatever is returned).
///
/// For reproducible explanations, row `i` of the output must depend on image
/// `i` alone, not on the batch it came in.
///
/// Closures become classifiers through [`FnClassifier`]:
///
/// ```
/// use multiscale_lime::{Classifier, FnClassifier};
/// use ndarray::{Array2, Array4, Axis};
///
/// // "Redness": mean of the red channel, and its complement.
/// let clf = FnClassifier::new(2, |batch| {
///     let mut out = Array2::zeros((batch.dim().0, 2));
///     for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
///         let red = img.index_axis(Axis(2), 0).mean().unwrap_or(0.0);
///         out[[i, 0]] = red;
///         out[[i, 1]] = 1.0 - red;
///     }
///     Ok(out)
/// });
/// let scores = clf.predict(Array4::from_elem((3, 2, 2, 3), 0.25).view())?;
/// assert_eq!(scores.dim(), (3, 2));
/// assert_eq!(scores[[0, 1]], 0.75);
/// # Ok::<(), multiscale_lime::ClassifierError>(())
/// ```
pub trait Classifier: Sync {
    /// Number of output columns `C`.
    fn num_classes(&self) -> usize;

    /// Scores a batch of images.
    ///
    /// # Errors
    /// Any failure of the model, wrapped in a [`ClassifierError`].
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError>;

    /// The number of images this classifier runs fastest in, if it has one
    /// (default: none). With [`BatchSize::Auto`](crate::BatchSize::Auto),
    /// the explainer hands it batches of a multiple of this size (the
    /// fewest that still fill about [`BatchSize::AUTO_BYTES`](crate::BatchSize::AUTO_BYTES)),
    /// only a level's last batch being shorter. Scores must not depend on it.
    fn preferred_batch_size(&self) -> Option<usize> {
        None
    }
}

impl<C: Classifier + ?Sized> Classifier for &C {
    fn num_classes(&self) -> usize {
        (**self).num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        (**self).predict(batch)
    }
    fn preferred_batch_size(&self) -> Option<usize> {
        (**self).preferred_batch_size()
    }
}

impl<C: Classifier + ?Sized> Classifier for Box<C> {
    fn num_classes(&self) -> usize {
        (**self).num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        (**self).predict(batch)
    }
    fn preferred_batch_size(&self) -> Option<usize> {
        (**self).preferred_batch_size()
    }
}

/// Adapts a closure `Fn(ArrayView4<f32>) -> Result<Array2<f32>, ClassifierError>`
/// into a [`Classifier`] with a fixed number of classes.
#[derive(Clone)]
pub struct FnClassifier<F> {
    classes: usize,
    f: F,
}

impl<F> FnClassifier<F>
where
    F: Fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> + Sync,
{
    /// Wraps `f`, which returns `classes` scores per image.
    pub fn new(classes: usize, f: F) -> Self {
        FnClassifier { classes, f }
    }
}

impl<F> std::fmt::Debug for FnClassifier<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnClassifier")
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

impl<F> Classifier for FnClassifier<F>
where
    F: Fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> + Sync,
{
    fn num_classes(&self) -> usize {
        self.classes
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        (self.f)(batch)
    }
}
