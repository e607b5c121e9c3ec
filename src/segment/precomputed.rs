//! A segmentation the user already has.

use super::{check_desired, Segmentation, Segmenter};
use crate::error::Result;
use crate::input::Image;

/// Returns the same user-supplied [`Segmentation`] for every level.
///
/// Useful for expert annotations or segmentations from another tool. The
/// `desired` count is ignored (beyond the usual range check), so combine it
/// with other segmenters through separate explanations, or with a single
/// level.
///
/// ```
/// use multiscale_lime::{Image, Precomputed, Segmentation, Segmenter};
/// use ndarray::{array, Array3};
///
/// let seg = Segmentation::new(array![[0, 0], [1, 1]])?;
/// let img = Image::new(Array3::zeros((2, 2, 3)))?;
/// assert_eq!(Precomputed::new(seg.clone()).segment(&img, 2)?, seg);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precomputed(Segmentation);

impl Precomputed {
    /// Wraps a validated segmentation.
    pub fn new(segmentation: Segmentation) -> Self {
        Precomputed(segmentation)
    }

    /// The wrapped segmentation.
    pub fn segmentation(&self) -> &Segmentation {
        &self.0
    }
}

impl Segmenter for Precomputed {
    /// # Errors
    /// [`crate::Error::InvalidSegmentation`] when the label map's size differs
    /// from the image's.
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        check_desired(image, desired)?;
        self.0.check_fits(image)?;
        Ok(self.0.clone())
    }
}
