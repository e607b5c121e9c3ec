//! Perturbations: which segments each sample hides ([`Perturber::masks`]),
//! what hidden segments show ([`HideColor`], made into a [`Fill`] once per
//! level), and the masked images themselves ([`Perturber::render`]).
//!
//! [`BernoulliPerturber`] is LIME's sampling: each segment hidden with
//! probability `1 − keep_probability`, independently or by one of the
//! [`Sampling`] designs that need fewer model calls for the same
//! stability.

mod bernoulli;
mod design;
mod hide;
mod masked;

pub use bernoulli::BernoulliPerturber;
pub use design::Sampling;
pub use hide::{Fill, HideColor};
use masked::render_masked;

use ndarray::{Array2, ArrayView2, ArrayViewMut4};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::input::Image;
use crate::segment::Segmentation;
use masked::check_previous;

/// Draws the binary mask matrix of one level and renders masked images.
///
/// Row 0 of the masks must be all ones (the unperturbed image); the other
/// rows are the perturbations. A perturber of your own implements
/// [`masks`](Self::masks) and [`fill`](Self::fill) (a [`Fill`]: one colour,
/// or an image whose pixels hidden segments show). `render` has a provided
/// implementation that keeps a pixel where its segment's mask entry is 1
/// and shows the fill elsewhere; `render_over`, which the explainer calls
/// when it reuses a batch buffer, by default calls `render`. Override
/// `render` to render differently, and `render_over` only to make reuse
/// cheaper (as [`BernoulliPerturber`] does, rewriting only the segments
/// whose entry changed).
pub trait Perturber: Send + Sync {
    /// Draws an `samples × segments` matrix of 0/1 entries, row 0 all ones.
    ///
    /// # Errors
    /// Implementation-specific; [`BernoulliPerturber`] never fails.
    fn masks(&self, segments: usize, samples: usize, rng: &mut ChaCha8Rng) -> Result<Array2<u8>>;

    /// What hidden segments show (computed once per level).
    ///
    /// # Errors
    /// When the segmentation does not fit the image or the hide colour is invalid.
    fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Fill>;

    /// Renders one masked image per row of `masks` into `out`
    /// (`masks.nrows() × H × W × 3`).
    ///
    /// ```
    /// use multiscale_lime::{BernoulliPerturber, Fill, Image, Perturber, Segmentation};
    /// use ndarray::{array, Array3, Array4};
    ///
    /// let image = Image::new(Array3::from_elem((1, 2, 3), 0.5))?;
    /// let seg = Segmentation::new(array![[0, 1]])?;
    /// let mut out = Array4::zeros((2, 1, 2, 3));
    /// let red = Fill::Color([1.0, 0.0, 0.0]);
    /// let masks = array![[1, 1], [1, 0]];
    /// BernoulliPerturber::default().render(&image, &seg, &red, masks.view(), out.view_mut())?;
    /// assert_eq!(out.slice(ndarray::s![1, 0, 1, ..]).to_vec(), [1.0, 0.0, 0.0]); // hidden
    /// assert_eq!(out.slice(ndarray::s![1, 0, 0, ..]).to_vec(), [0.5; 3]); // kept
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InconsistentInput`](crate::Error::InconsistentInput) when
    /// the shapes disagree or a fill image has another size than `image`;
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a
    /// fill colour outside `[0, 1]`;
    /// [`Error::InvalidSegmentation`](crate::Error::InvalidSegmentation)
    /// when the segmentation does not fit the image.
    fn render(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Fill,
        masks: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        render_masked(image, segmentation, fill, masks, out)
    }

    /// Renders like [`render`](Self::render) into an `out` that already
    /// holds this perturber's images of `previous` (same image,
    /// segmentation and fill, one row per image, shaped like `masks`). The
    /// explainer calls it when a batch buffer is reused within a level, and
    /// orders each level's samples so that a slot's successive masks differ
    /// in few entries. The provided implementation ignores `previous` and
    /// renders from scratch; [`BernoulliPerturber`] rewrites only the
    /// segments whose entry changed.
    ///
    /// # Errors
    /// As [`render`](Self::render), and
    /// [`Error::InconsistentInput`](crate::Error::InconsistentInput) when
    /// `previous` is not shaped like `masks`.
    fn render_over(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Fill,
        masks: ArrayView2<'_, u8>,
        previous: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        check_previous(masks, previous)?;
        self.render(image, segmentation, fill, masks, out)
    }
}
