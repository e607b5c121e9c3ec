//! Planted-truth classifiers: black boxes whose evidence region is known
//! exactly, so that an explanation can be scored against the truth.
//!
//! The specification, complete enough to re-implement elsewhere:
//!
//! - An **evidence function** `e` gives every pixel of an image a value
//!   ≥ 0 ([`Evidence`]); a white pixel has none.
//! - The classifier holds the reference image `x⁰` and a **positive
//!   region** `P` (a set of pixels), optionally a **negative region** `N`.
//!   For an image `x` it computes the share of each region's evidence
//!   still present, `E_P(x) = Σ_{p∈P} e(x)_p / Σ_{p∈P} e(x⁰)_p` (and
//!   `E_N` alike), the logit `z = 8 (E_P − ½)`, minus `6 (E_N − ½)` when
//!   `N` exists, and answers two classes `[1 − σ(z), σ(z)]`. Class 1 is
//!   explained.
//! - The **truth** is the pixels of `P` that carry evidence:
//!   `T = {p ∈ P : e(x⁰)_p ≥ ¼ · mean_{q∈P} e(x⁰)_q}`. The negative region
//!   lowers the score, so it is not part of the truth: a map that ranks it
//!   high ranks the wrong pixels.

use multiscale_lime::ndarray::{Array2, ArrayView3, ArrayView4, Axis};
use multiscale_lime::{Classifier, ClassifierError, Image};

/// `skimage.color.hed_from_rgb`, columns hematoxylin and DAB: stain
/// densities from optical densities `od_c = ln(max(v_c, 10⁻⁶)) / ln(10⁻⁶)`.
const HEMATOXYLIN_FROM_OD: [f32; 3] = [1.877_982_7, -0.065_908_06, -0.601_907_4];
const DAB_FROM_OD: [f32; 3] = [-0.556_115_8, -0.135_521_8, 1.573_588_1];

/// Gain of the positive region's evidence share in the logit.
const POSITIVE_GAIN: f32 = 8.0;
/// Gain of the negative region's evidence share in the logit.
const NEGATIVE_GAIN: f32 = 6.0;
/// A truth pixel carries at least this share of the region's mean evidence.
const TRUTH_SHARE: f32 = 0.25;

/// What a planted classifier looks for in a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// `max(0, 1 − (r + g + b)/3)`: any tissue, against a white background.
    Darkness,
    /// Hematoxylin density by colour deconvolution (clamped at 0): nuclei.
    Hematoxylin,
    /// DAB density by colour deconvolution (clamped at 0): brown IHC stain.
    Dab,
    /// Local contrast, `mean_c |x_{p,c} − mean of x_{q,c} over p's 4-neighbours q|`
    /// (neighbours inside the image): texture, which a flat fill removes
    /// even where it keeps the mean colour.
    Texture,
}

impl Evidence {
    /// `e(x)_p` at pixel `(y, x)` of an `H × W × 3` image.
    pub fn at(self, image: ArrayView3<'_, f32>, y: usize, x: usize) -> f32 {
        let px = |y: usize, x: usize| [image[[y, x, 0]], image[[y, x, 1]], image[[y, x, 2]]];
        match self {
            Evidence::Darkness => {
                let [r, g, b] = px(y, x);
                (1.0 - (r + g + b) / 3.0).max(0.0)
            }
            Evidence::Hematoxylin => stain(px(y, x), HEMATOXYLIN_FROM_OD),
            Evidence::Dab => stain(px(y, x), DAB_FROM_OD),
            Evidence::Texture => {
                let (h, w, _) = image.dim();
                let neighbours = [
                    (y > 0).then(|| (y - 1, x)),
                    (y + 1 < h).then_some((y + 1, x)),
                    (x > 0).then(|| (y, x - 1)),
                    (x + 1 < w).then_some((y, x + 1)),
                ];
                let (mut sum, mut n) = ([0.0f32; 3], 0.0f32);
                for (qy, qx) in neighbours.into_iter().flatten() {
                    for (s, v) in sum.iter_mut().zip(px(qy, qx)) {
                        *s += v;
                    }
                    n += 1.0;
                }
                if n == 0.0 {
                    return 0.0;
                }
                let centre = px(y, x);
                (0..3).map(|c| (centre[c] - sum[c] / n).abs()).sum::<f32>() / 3.0
            }
        }
    }

    /// `e(x)` at every pixel.
    pub fn map(self, image: ArrayView3<'_, f32>) -> Array2<f32> {
        let (h, w, _) = image.dim();
        Array2::from_shape_fn((h, w), |(y, x)| self.at(image, y, x))
    }
}

/// A stain density, `Σ_c od_c · column_c`, clamped at 0.
fn stain(rgb: [f32; 3], column: [f32; 3]) -> f32 {
    let log_adjust = (1e-6f32).ln();
    rgb.iter()
        .zip(column)
        .map(|(&v, w)| v.max(1e-6).ln() / log_adjust * w)
        .sum::<f32>()
        .max(0.0)
}

/// A region's pixels and the reference image's evidence in them.
#[derive(Debug, Clone)]
struct Region {
    pixels: Vec<(usize, usize)>,
    reference: f32,
}

impl Region {
    fn new(mask: &Array2<bool>, image: &Image, evidence: Evidence) -> Result<Self, String> {
        let pixels: Vec<(usize, usize)> = mask
            .indexed_iter()
            .filter(|(_, &m)| m)
            .map(|(p, _)| p)
            .collect();
        let reference: f32 = pixels
            .iter()
            .map(|&(y, x)| evidence.at(image.view(), y, x))
            .sum();
        if reference <= 0.0 {
            return Err(format!(
                "a region of {} pixels carries no {evidence:?} evidence",
                pixels.len()
            ));
        }
        Ok(Region { pixels, reference })
    }

    /// `E(x)`: the share of the reference evidence present in `image`.
    fn share(&self, image: ArrayView3<'_, f32>, evidence: Evidence) -> f32 {
        let sum: f32 = self
            .pixels
            .iter()
            .map(|&(y, x)| evidence.at(image, y, x))
            .sum();
        sum / self.reference
    }
}

/// A classifier whose evidence is planted in known pixels (see the module
/// documentation for its exact definition).
#[derive(Debug, Clone)]
pub struct PlantedClassifier {
    evidence: Evidence,
    positive: Region,
    negative: Option<Region>,
    truth: Array2<bool>,
    dim: (usize, usize),
}

impl PlantedClassifier {
    /// The classifier for `reference` with the positive region `positive`
    /// (and a negative one), both `H × W` masks of the image's size.
    ///
    /// # Errors
    /// When a mask's size differs from the image's, or a region carries no
    /// evidence in the reference image.
    pub fn new(
        reference: &Image,
        evidence: Evidence,
        positive: &Array2<bool>,
        negative: Option<&Array2<bool>>,
    ) -> Result<Self, String> {
        let dim = (reference.height(), reference.width());
        for mask in std::iter::once(positive).chain(negative) {
            if mask.dim() != dim {
                return Err(format!("a {:?} mask for a {dim:?} image", mask.dim()));
            }
        }
        let positive_region = Region::new(positive, reference, evidence)?;
        let negative = negative
            .map(|m| Region::new(m, reference, evidence))
            .transpose()?;
        let mean = positive_region.reference / positive_region.pixels.len() as f32;
        let mut truth = Array2::from_elem(dim, false);
        for &(y, x) in &positive_region.pixels {
            truth[[y, x]] = evidence.at(reference.view(), y, x) >= TRUTH_SHARE * mean;
        }
        Ok(PlantedClassifier {
            evidence,
            positive: positive_region,
            negative,
            truth,
            dim,
        })
    }

    /// The pixels that carry the evidence for class 1.
    pub fn truth(&self) -> &Array2<bool> {
        &self.truth
    }

    /// `σ(z)`, the probability of class 1, for one image.
    pub fn probability(&self, image: ArrayView3<'_, f32>) -> f32 {
        let mut z = POSITIVE_GAIN * (self.positive.share(image, self.evidence) - 0.5);
        if let Some(negative) = &self.negative {
            z -= NEGATIVE_GAIN * (negative.share(image, self.evidence) - 0.5);
        }
        1.0 / (1.0 + (-z).exp())
    }
}

impl Classifier for PlantedClassifier {
    fn num_classes(&self) -> usize {
        2
    }

    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        let (_, h, w, _) = batch.dim();
        if (h, w) != self.dim {
            return Err(ClassifierError::msg(format!(
                "planted for {:?} images, given {h}×{w}",
                self.dim
            )));
        }
        let mut out = Array2::zeros((batch.dim().0, 2));
        for (i, image) in batch.axis_iter(Axis(0)).enumerate() {
            let p = self.probability(image);
            out[[i, 0]] = 1.0 - p;
            out[[i, 1]] = p;
        }
        Ok(out)
    }
}

/// Region shapes on an `H × W` pixel grid (pixel centres at integer
/// coordinates).
pub mod shapes {
    use multiscale_lime::ndarray::Array2;

    /// The ellipse centred at `(cy, cx)` with semi-axes `a` (along the
    /// direction `angle`, radians from the x axis) and `b`.
    pub fn ellipse(
        dim: (usize, usize),
        (cy, cx): (f64, f64),
        (a, b): (f64, f64),
        angle: f64,
    ) -> Array2<bool> {
        let (s, c) = angle.sin_cos();
        Array2::from_shape_fn(dim, |(y, x)| {
            let (dy, dx) = (y as f64 - cy, x as f64 - cx);
            let u = dx * c + dy * s;
            let v = -dx * s + dy * c;
            (u / a).powi(2) + (v / b).powi(2) <= 1.0
        })
    }

    /// The union of discs `(cy, cx, r)`.
    pub fn discs(dim: (usize, usize), discs: &[(f64, f64, f64)]) -> Array2<bool> {
        Array2::from_shape_fn(dim, |(y, x)| {
            discs
                .iter()
                .any(|&(cy, cx, r)| (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2) <= r * r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use multiscale_lime::ndarray::{Array3, Axis};

    fn grey(h: usize, w: usize, v: f32) -> Image {
        Image::new(Array3::from_elem((h, w, 3), v)).unwrap()
    }

    #[test]
    fn evidence_by_hand() {
        let white = [1.0f32, 1.0, 1.0];
        assert_eq!(stain(white, DAB_FROM_OD), 0.0);
        // Pure brown-ish pixel: od = ln(v)/ln(1e-6).
        let px = [0.6f32, 0.4, 0.2];
        let od: Vec<f32> = px.iter().map(|v| v.ln() / (1e-6f32).ln()).collect();
        let dab: f32 = od.iter().zip(DAB_FROM_OD).map(|(o, w)| o * w).sum();
        assert!((stain(px, DAB_FROM_OD) - dab.max(0.0)).abs() < 1e-7);
        let image = Image::new(Array3::from_shape_fn((1, 3, 3), |(_, x, _)| {
            [0.2, 0.8, 0.2][x]
        }))
        .unwrap();
        // Middle pixel: |0.8 − 0.2| in every channel.
        assert!((Evidence::Texture.at(image.view(), 0, 1) - 0.6).abs() < 1e-6);
        // Edge pixel: one neighbour.
        assert!((Evidence::Texture.at(image.view(), 0, 0) - 0.6).abs() < 1e-6);
        assert!((Evidence::Darkness.at(image.view(), 0, 0) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn the_score_follows_the_planted_region_only() {
        let image = grey(8, 8, 0.5);
        let positive = shapes::discs((8, 8), &[(2.0, 2.0, 1.0)]);
        let model = PlantedClassifier::new(&image, Evidence::Darkness, &positive, None).unwrap();
        // The whole region is evidence: the truth is the region.
        assert_eq!(model.truth(), &positive);
        let full = model.probability(image.view());
        assert!((full - 1.0 / (1.0 + (-4.0f32).exp())).abs() < 1e-6);
        // Whitening a pixel outside changes nothing; inside lowers the score.
        let mut outside = image.clone().into_array();
        outside[[7, 7, 0]] = 1.0;
        assert_eq!(model.probability(outside.view()), full);
        let mut hidden = image.clone().into_array();
        for ((y, x), &m) in positive.indexed_iter() {
            if m {
                hidden
                    .index_axis_mut(Axis(0), y)
                    .index_axis_mut(Axis(0), x)
                    .fill(1.0);
            }
        }
        let none = model.probability(hidden.view());
        assert!((none - 1.0 / (1.0 + 4.0f32.exp())).abs() < 1e-6);
    }

    #[test]
    fn negative_evidence_lowers_the_score_and_is_not_truth() {
        let image = grey(8, 8, 0.5);
        let positive = shapes::discs((8, 8), &[(2.0, 2.0, 1.0)]);
        let negative = shapes::discs((8, 8), &[(6.0, 6.0, 1.0)]);
        let model =
            PlantedClassifier::new(&image, Evidence::Darkness, &positive, Some(&negative)).unwrap();
        assert!(!model.truth()[[6, 6]]);
        let mut hidden = image.clone().into_array();
        hidden
            .index_axis_mut(Axis(0), 6)
            .index_axis_mut(Axis(0), 6)
            .fill(1.0);
        assert!(model.probability(hidden.view()) > model.probability(image.view()));
        let batch = image.view().insert_axis(Axis(0));
        let scores = model.predict(batch).unwrap();
        assert!((scores[[0, 0]] + scores[[0, 1]] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn truth_keeps_only_pixels_with_evidence() {
        // A region half white (no darkness), half grey.
        let image = Image::new(Array3::from_shape_fn((4, 4, 3), |(_, x, _)| {
            if x < 2 {
                1.0
            } else {
                0.4
            }
        }))
        .unwrap();
        let positive = Array2::from_elem((4, 4), true);
        let model = PlantedClassifier::new(&image, Evidence::Darkness, &positive, None).unwrap();
        for ((_, x), &t) in model.truth().indexed_iter() {
            assert_eq!(t, x >= 2);
        }
        let blank = grey(4, 4, 1.0);
        assert!(PlantedClassifier::new(&blank, Evidence::Darkness, &positive, None).is_err());
        let small = Array2::from_elem((2, 2), true);
        assert!(PlantedClassifier::new(&image, Evidence::Darkness, &small, None).is_err());
    }

    #[test]
    fn shapes_by_hand() {
        let e = shapes::ellipse((5, 7), (2.0, 3.0), (3.0, 1.0), 0.0);
        assert!(e[[2, 0]] && e[[2, 6]] && !e[[0, 3]] && e[[1, 3]]);
        let rotated = shapes::ellipse((7, 5), (3.0, 2.0), (3.0, 1.0), std::f64::consts::FRAC_PI_2);
        assert!(rotated[[0, 2]] && rotated[[6, 2]] && !rotated[[3, 0]]);
        let d = shapes::discs((5, 5), &[(0.0, 0.0, 1.0), (4.0, 4.0, 0.5)]);
        assert_eq!(d.iter().filter(|&&m| m).count(), 3 + 1);
    }
}
