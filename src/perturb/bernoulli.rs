//! [`BernoulliPerturber`]: LIME's coin per segment, drawn by a [`Sampling`]
//! design.

use ndarray::{Array2, ArrayView2, ArrayViewMut4};
use rand_chacha::ChaCha8Rng;

use super::design::Sampling;
use super::masked::render_masked_over;
use super::{Fill, HideColor, Perturber};
use crate::error::{Error, Result};
use crate::input::Image;
use crate::segment::Segmentation;

/// Hides each segment with probability `1 − keep_probability`, showing the
/// [`HideColor`] instead; independently (LIME's sampling, the default) or
/// by another [`Sampling`] design, which keeps that probability per entry
/// and relates the rows and columns ([`with_sampling`](Self::with_sampling)).
///
/// ```
/// use multiscale_lime::{BernoulliPerturber, HideColor, Perturber};
/// use rand::SeedableRng;
///
/// let p = BernoulliPerturber::new(0.5, HideColor::Constant([0.0; 3]))?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
/// let z = p.masks(5, 20, &mut rng)?;
/// assert_eq!(z.dim(), (20, 5));
/// assert!(z.row(0).iter().all(|&v| v == 1));
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BernoulliPerturber {
    keep_probability: f64,
    hide_color: HideColor,
    sampling: Sampling,
}

impl Default for BernoulliPerturber {
    fn default() -> Self {
        BernoulliPerturber {
            keep_probability: 0.5,
            hide_color: HideColor::default(),
            sampling: Sampling::Independent,
        }
    }
}

impl BernoulliPerturber {
    /// A perturber keeping each segment with probability `keep_probability`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < keep_probability < 1`, or for
    /// an invalid hide colour.
    pub fn new(keep_probability: f64, hide_color: HideColor) -> Result<Self> {
        if !(keep_probability > 0.0 && keep_probability < 1.0) {
            return Err(Error::invalid(
                "keep_probability",
                keep_probability,
                "a value strictly between 0 and 1",
            ));
        }
        hide_color.validate()?;
        Ok(BernoulliPerturber {
            keep_probability,
            hide_color,
            sampling: Sampling::Independent,
        })
    }

    /// The same perturber drawing its masks by `sampling`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a design that needs a keep
    /// probability of ½ ([`Sampling::needs_half`]) when it is not.
    pub fn with_sampling(mut self, sampling: Sampling) -> Result<Self> {
        sampling.check(self.keep_probability)?;
        self.sampling = sampling;
        Ok(self)
    }

    /// How the masks are drawn.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// Probability that a segment is kept.
    pub fn keep_probability(&self) -> f64 {
        self.keep_probability
    }

    /// What hidden segments show.
    pub fn hide_color(&self) -> HideColor {
        self.hide_color
    }
}

impl Perturber for BernoulliPerturber {
    fn masks(&self, segments: usize, samples: usize, rng: &mut ChaCha8Rng) -> Result<Array2<u8>> {
        self.sampling
            .draw(self.keep_probability, segments, samples, rng)
    }

    fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Fill> {
        self.hide_color.fill(image, segmentation)
    }

    /// Rewrites only the segments whose mask entry differs from `previous`.
    fn render_over(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Fill,
        masks: ArrayView2<'_, u8>,
        previous: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        render_masked_over(image, segmentation, fill, masks, previous, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn masks_keep_about_half() {
        let p = BernoulliPerturber::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let z = p.masks(50, 400, &mut rng).unwrap();
        let share = z.iter().map(|&v| f64::from(v)).sum::<f64>() / z.len() as f64;
        assert!((share - 0.5).abs() < 0.03, "share {share}");
        assert!(z.row(0).iter().all(|&v| v == 1));
        assert!(BernoulliPerturber::new(1.0, HideColor::default()).is_err());
        assert!(BernoulliPerturber::new(0.0, HideColor::default()).is_err());
        assert!(BernoulliPerturber::new(f64::NAN, HideColor::default()).is_err());
    }
}
