//! [`Feathered`]: the density rule with superpixel borders feathered.

use super::density::fuse_densities;
use super::{CombinedHeatmap, Combiner};
use crate::blur::{gaussian_blur, MAX_SIGMA};
use crate::error::{Error, Result};
use crate::heatmap::HeatmapStack;

/// [`Density`](super::Density) with each level's density map blurred by a
/// Gaussian as wide as a share of that level's superpixels:
/// `F(p) = (1/L) Σ_l (G_{σ_l} * d_l)(p)`, `σ_l = width · √(H·W / s'_l)`,
/// rescaled to `[0, 1]` by its minimum and maximum (all equal → all 0).
///
/// Why: a level's density map `d_l` is constant on each superpixel, so it
/// changes exactly where the segmenter happened to cut, not where the
/// model's evidence does. Had the cuts fallen anywhere within a cell of
/// side `t_l = √(H·W / s'_l)` (the mean superpixel's side), uniformly, the
/// map's edges would be spread with a standard deviation of `t_l / √12 ≈
/// 0.29 t_l`; the default `width` of 0.3 feathers each level by about
/// that. It costs no model calls: the coefficients are the same as
/// `Density`'s, only their painting changes. It helps where the evidence
/// ignores the image's edges and hurts where it follows them (SLIC cuts
/// along strong edges, which the blur crosses): `docs/faithfulness.md`
/// measures both. The blur reflects at the image border (scipy's
/// `reflect` mode), so it moves relevance but keeps its sum; `width = 0`
/// gives `Density`'s map bit for bit.
///
/// ```
/// use multiscale_lime::{Combiner, Density, Feathered, FnClassifier, Image, MultiScaleLime, SquareGrid, Target};
/// # let image = Image::new(ndarray::Array3::from_elem((8, 8, 3), 0.5))?;
/// # let classifier = FnClassifier::new(1, |b: ndarray::ArrayView4<'_, f32>| {
/// #     Ok(ndarray::Array2::from_shape_fn((b.dim().0, 1), |(i, _)| b[[i, 0, 0, 0]]))
/// # });
/// let lime = MultiScaleLime::builder().segmenter(SquareGrid).levels([4, 16]).build()?;
/// let explanation = lime.explain(&image, &classifier, Target::Class(0))?;
/// let stack = &explanation.stacks()[0];
/// let feathered = Feathered::default().combine(stack)?;
/// // The classifier reads the top-left pixel: the map still peaks there,
/// // but falls off smoothly instead of at the cell's edge.
/// let map = feathered.heatmap.values();
/// assert_eq!(map[[0, 0]], 1.0);
/// assert!(map[[0, 1]] < 1.0 && map[[0, 1]] > map[[0, 3]]);
/// assert_eq!(Feathered::new(0.0)?.combine(stack)?, Density.combine(stack)?);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feathered {
    width: f64,
}

impl Feathered {
    /// The default feather, `1/√12` of a superpixel's side rounded: 0.3.
    pub const DEFAULT_WIDTH: f64 = 0.3;

    /// Feathers each level by `width` times its mean superpixel side.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `width` is finite and in
    /// `[0, 10]` (a wider blur flattens every level).
    pub fn new(width: f64) -> Result<Self> {
        if !(0.0..=10.0).contains(&width) {
            return Err(Error::invalid(
                "feather width",
                width,
                "a number in [0, 10] (share of a superpixel's side)",
            ));
        }
        Ok(Feathered { width })
    }

    /// The feather, as a share of each level's mean superpixel side.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// The blur's standard deviation in pixels for a level of `segments`
    /// superpixels on an `h×w` image.
    pub fn sigma(&self, h: usize, w: usize, segments: usize) -> f64 {
        let side = ((h * w) as f64 / segments.max(1) as f64).sqrt();
        (self.width * side).min(MAX_SIGMA)
    }
}

impl Default for Feathered {
    fn default() -> Self {
        Feathered {
            width: Self::DEFAULT_WIDTH,
        }
    }
}

impl Combiner for Feathered {
    /// Uniform, as [`Density`](super::Density): every level is one
    /// estimate of the same density.
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        super::density::Density.weights(counts)
    }

    fn combine(&self, stack: &HeatmapStack) -> Result<CombinedHeatmap> {
        let weights = self.weights(&stack.counts())?;
        fuse_densities(stack, weights, |level, plane| {
            let (h, w) = level.segmentation.dim();
            let sigma = self.sigma(h, w, level.segmentation.count());
            if sigma > 0.0 {
                gaussian_blur(plane, h, w, sigma);
            }
        })
    }
}
