//! Superpixel segmentation: the [`Segmenter`] trait, the [`Segmentation`] it
//! produces, and its implementations.
//!
//! - [`Slic`]: SLIC superpixels, label-for-label compatible with scikit-image.
//! - [`SquareGrid`]: a regular grid of (near-)square cells.
//! - [`Precomputed`]: labels the user already has.

mod grid;
mod precomputed;
mod slic;

pub use grid::SquareGrid;
pub use precomputed::Precomputed;
pub use slic::{Slic, SlicBuilder};

use std::sync::{Arc, OnceLock};

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::input::Image;

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

    /// Segments `image` once for each entry of `desired`, results in the
    /// same order; the explainer calls it with all its levels. Each result
    /// must equal what [`segment`](Self::segment) gives for that count. The
    /// provided implementation calls `segment` per count, in parallel on
    /// rayon; [`Slic`] converts the image's colours once for all counts.
    fn segment_levels(&self, image: &Image, desired: &[usize]) -> Vec<Result<Segmentation>> {
        desired
            .par_iter()
            .map(|&d| self.segment(image, d))
            .collect()
    }
}

impl<S: Segmenter + ?Sized> Segmenter for &S {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
    fn segment_levels(&self, image: &Image, desired: &[usize]) -> Vec<Result<Segmentation>> {
        (**self).segment_levels(image, desired)
    }
}

impl<S: Segmenter + ?Sized> Segmenter for Box<S> {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
    fn segment_levels(&self, image: &Image, desired: &[usize]) -> Vec<Result<Segmentation>> {
        (**self).segment_levels(image, desired)
    }
}

impl<S: Segmenter + ?Sized> Segmenter for Arc<S> {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        (**self).segment(image, desired)
    }
    fn segment_levels(&self, image: &Image, desired: &[usize]) -> Vec<Result<Segmentation>> {
        (**self).segment_levels(image, desired)
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
#[derive(Clone)]
pub struct Segmentation {
    labels: Array2<u32>,
    sizes: Vec<usize>,
    /// Each segment's runs, found on first use (rendering walks them per
    /// image).
    runs: OnceLock<SegmentRuns>,
}

/// The maximal runs of equal labels in raster order (a run may continue
/// onto the next row), as pixel ranges `start..end`: in raster order with
/// their labels, and grouped by segment (segment `l`'s runs are
/// `spans[offsets[l]..offsets[l + 1]]`, in raster order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentRuns {
    raster: Vec<(usize, usize, u32)>,
    offsets: Vec<usize>,
    spans: Vec<(usize, usize)>,
}

impl SegmentRuns {
    fn new(labels: &[u32], count: usize) -> Self {
        let mut raster = Vec::new();
        let mut start = 0;
        for (i, pair) in labels.windows(2).enumerate() {
            if pair[0] != pair[1] {
                raster.push((start, i + 1, pair[0]));
                start = i + 1;
            }
        }
        if let Some(&last) = labels.last() {
            raster.push((start, labels.len(), last));
        }
        let mut offsets = vec![0usize; count + 1];
        for &(_, _, l) in &raster {
            offsets[l as usize + 1] += 1;
        }
        for l in 0..count {
            offsets[l + 1] += offsets[l];
        }
        let mut next = offsets.clone();
        let mut spans = vec![(0, 0); raster.len()];
        for &(a, b, l) in &raster {
            spans[next[l as usize]] = (a, b);
            next[l as usize] += 1;
        }
        SegmentRuns {
            raster,
            offsets,
            spans,
        }
    }

    /// All runs in raster order, with their labels.
    pub(crate) fn raster(&self) -> &[(usize, usize, u32)] {
        &self.raster
    }

    /// Segment `label`'s runs.
    pub(crate) fn of(&self, label: usize) -> &[(usize, usize)] {
        &self.spans[self.offsets[label]..self.offsets[label + 1]]
    }
}

impl PartialEq for Segmentation {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
    }
}

impl Eq for Segmentation {}

impl std::fmt::Debug for Segmentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmentation")
            .field("labels", &self.labels)
            .field("sizes", &self.sizes)
            .finish()
    }
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
        Ok(Segmentation {
            labels,
            sizes,
            runs: OnceLock::new(),
        })
    }

    /// Builds from labels the caller guarantees to be `0..count`, all present.
    pub(crate) fn from_trusted(labels: Array2<u32>, count: usize) -> Self {
        let mut sizes = vec![0usize; count];
        for &l in &labels {
            sizes[l as usize] += 1;
        }
        debug_assert!(sizes.iter().all(|&s| s > 0));
        debug_assert!(labels.is_standard_layout());
        Segmentation {
            labels,
            sizes,
            runs: OnceLock::new(),
        }
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

    /// Each segment's maximal runs, found once and kept.
    pub(crate) fn runs(&self) -> &SegmentRuns {
        self.runs
            .get_or_init(|| SegmentRuns::new(self.as_slice(), self.count()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn runs_are_maximal_and_cover_the_map(
            (h, w, raw) in (1usize..7, 1usize..7)
                .prop_flat_map(|(h, w)| (Just(h), Just(w), prop::collection::vec(0u32..3, h * w)))
        ) {
            // Relabel to 0..count in order of appearance so every label is used.
            let mut seen = Vec::new();
            let labels: Vec<u32> = raw
                .iter()
                .map(|l| match seen.iter().position(|s| s == l) {
                    Some(i) => i as u32,
                    None => {
                        seen.push(*l);
                        (seen.len() - 1) as u32
                    }
                })
                .collect();
            let seg = Segmentation::new(Array2::from_shape_vec((h, w), labels.clone()).unwrap()).unwrap();
            let runs = seg.runs();
            let mut covered = vec![false; h * w];
            for l in 0..seg.count() {
                let spans = runs.of(l);
                prop_assert!(!spans.is_empty());
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 < pair[1].0, "raster order, not touching");
                }
                for &(a, b) in spans {
                    prop_assert!(a < b);
                    prop_assert!(labels[a..b].iter().all(|&v| v as usize == l));
                    // Maximal: the pixels either side carry another label.
                    prop_assert!(a == 0 || labels[a - 1] as usize != l);
                    prop_assert!(b == h * w || labels[b] as usize != l);
                    for c in &mut covered[a..b] {
                        prop_assert!(!*c);
                        *c = true;
                    }
                }
            }
            prop_assert!(covered.iter().all(|&c| c));
            let mut grouped: Vec<(usize, usize, u32)> = (0..seg.count())
                .flat_map(|l| runs.of(l).iter().map(move |&(a, b)| (a, b, l as u32)))
                .collect();
            grouped.sort_unstable();
            prop_assert_eq!(runs.raster(), &grouped[..]);
            // The cached runs take no part in equality.
            let fresh = Segmentation::new(seg.labels().clone()).unwrap();
            prop_assert_eq!(&fresh, &seg);
        }
    }
}
