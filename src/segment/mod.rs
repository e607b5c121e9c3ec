//! Superpixel segmentation: the [`Segmenter`] trait, the [`Segmentation`] it
//! produces, and its implementations.
//!
//! - [`Slic`]: SLIC superpixels, label-for-label compatible with scikit-image.
//! - [`SquareGrid`]: a regular grid of (near-)square cells.
//! - [`Precomputed`]: labels the user already has.

mod connectivity;
mod grid;
mod lab;
mod precomputed;
mod slic;

pub use grid::SquareGrid;
pub use precomputed::Precomputed;
pub use slic::{Slic, SlicBuilder};

use std::sync::Arc;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::image::Image;

/// Cuts an image into superpixels.
///
/// `desired` is a request, not a promise: the returned
/// [`Segmentation::count`] is the actual number `s'`, which the multi-scale
/// combiners use. Implementations must return a typed error, never panic,
/// for any `desired` (including 0 and values above the pixel count).
pub trait Segmenter: Send + Sync {
    /// Segments `image` into about `desired` superpixels.
    ///
    /// # Errors
    /// [`Error::SegmentCount`] when `desired` is 0 or larger than the pixel
    /// count; implementation-specific errors otherwise.
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation>;
}

impl<S: Segmenter + ?Sized> Segmenter for &S {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
}

impl<S: Segmenter + ?Sized> Segmenter for Box<S> {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
}

impl<S: Segmenter + ?Sized> Segmenter for Arc<S> {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
}

pub(crate) fn check_desired(image: &Image, desired: usize) -> Result<()> {
    if desired == 0 || desired > image.pixels() {
        return Err(Error::SegmentCount {
            desired,
            height: image.height(),
            width: image.width(),
        });
    }
    Ok(())
}

/// A label map whose labels are exactly `0..count`, each used at least once.
///
/// ```
/// use multiscale_lime::Segmentation;
/// use ndarray::array;
///
/// let seg = Segmentation::new(array![[0, 0, 1], [2, 2, 1]])?;
/// assert_eq!(seg.count(), 3);
/// assert_eq!(seg.sizes(), &[2, 2, 2]);
/// assert!(Segmentation::new(array![[0, 2]]).is_err()); // label 1 missing
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    labels: Array2<u32>,
    sizes: Vec<usize>,
}

impl Segmentation {
    /// Validates a label map.
    ///
    /// # Errors
    /// [`Error::InvalidSegmentation`] when the map is empty or its labels are
    /// not exactly `0..count` with every label present.
    pub fn new(labels: Array2<u32>) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::InvalidSegmentation {
                reason: format!("the label map is empty ({:?})", labels.dim()),
            });
        }
        let max = labels.iter().copied().max().unwrap_or(0) as usize;
        if max >= labels.len() {
            return Err(Error::InvalidSegmentation {
                reason: format!(
                    "label {max} is larger than the number of pixels ({}), so some label below it is missing",
                    labels.len()
                ),
            });
        }
        let mut sizes = vec![0usize; max + 1];
        for &l in &labels {
            sizes[l as usize] += 1;
        }
        if let Some(missing) = sizes.iter().position(|&s| s == 0) {
            return Err(Error::InvalidSegmentation {
                reason: format!(
                    "label {missing} is missing; labels must be exactly 0..{} with each used",
                    max + 1
                ),
            });
        }
        let labels = labels.as_standard_layout().into_owned();
        Ok(Segmentation { labels, sizes })
    }

    /// Builds from labels the caller guarantees to be `0..count`, all present.
    pub(crate) fn from_trusted(labels: Array2<u32>, count: usize) -> Self {
        let mut sizes = vec![0usize; count];
        for &l in &labels {
            sizes[l as usize] += 1;
        }
        debug_assert!(sizes.iter().all(|&s| s > 0));
        debug_assert!(labels.is_standard_layout());
        Segmentation { labels, sizes }
    }

    /// The `H×W` label map.
    pub fn labels(&self) -> &Array2<u32> {
        &self.labels
    }

    /// The labels as a row-major slice.
    pub fn as_slice(&self) -> &[u32] {
        self.labels
            .as_slice()
            .expect("labels are always in standard layout")
    }

    /// Number of segments, `s'`.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Pixel count of each segment.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// `(height, width)` of the label map.
    pub fn dim(&self) -> (usize, usize) {
        self.labels.dim()
    }

    /// Checks that this segmentation fits `image`.
    pub(crate) fn check_fits(&self, image: &Image) -> Result<()> {
        if self.dim() != (image.height(), image.width()) {
            return Err(Error::InvalidSegmentation {
                reason: format!(
                    "label map is {:?} but the image is {:?}",
                    self.dim(),
                    (image.height(), image.width())
                ),
            });
        }
        Ok(())
    }
}
