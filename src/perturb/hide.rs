//! What a hidden segment shows: [`HideColor`] (the user's choice) and the
//! [`Fill`] it becomes for one image and segmentation.

use ndarray::Array3;

use crate::blur::{gaussian_blur, MAX_SIGMA};
use crate::error::{Error, Result};
use crate::input::Image;
use crate::segment::Segmentation;
use crate::text::parse_list;

/// What a hidden segment shows.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum HideColor {
    /// A fixed RGB colour in `[0, 1]`; the paper (and `lime`) use black.
    Constant([f32; 3]),
    /// Each segment's own mean colour (`lime`'s `hide_color=None`).
    SegmentMean,
    /// A Gaussian-blurred copy of the image (σ in pixels): removes texture
    /// but keeps the colour, a gentler baseline for stain-sensitive models.
    Blurred {
        /// Blur width in pixels, > 0 and at most 1000.
        sigma: f32,
    },
}

impl Default for HideColor {
    fn default() -> Self {
        HideColor::Constant([0.0; 3])
    }
}

/// The text form `mslime --hide-color` and Python's `hide_color=` take:
/// `black`, `white`, `mean`, `blur` (σ = 5), `blur:SIGMA` or `R,G,B` with
/// values in `[0, 1]`; [`Display`](std::fmt::Display) writes it back.
///
/// ```
/// use multiscale_lime::HideColor;
///
/// assert_eq!("white".parse::<HideColor>()?, HideColor::Constant([1.0; 3]));
/// assert_eq!("blur:3".parse::<HideColor>()?, HideColor::Blurred { sigma: 3.0 });
/// assert_eq!(HideColor::Constant([0.5, 0.25, 0.0]).to_string(), "0.5,0.25,0");
/// assert!("2,0,0".parse::<HideColor>().is_err()); // outside [0, 1]
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
impl std::str::FromStr for HideColor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "hide_color",
                s,
                "black, white, mean, blur, blur:SIGMA or R,G,B in [0, 1]",
            )
        };
        let colour = match s.trim() {
            "black" => HideColor::Constant([0.0; 3]),
            "white" => HideColor::Constant([1.0; 3]),
            "mean" => HideColor::SegmentMean,
            "blur" => HideColor::Blurred { sigma: 5.0 },
            t if t.starts_with("blur:") => HideColor::Blurred {
                sigma: t["blur:".len()..].trim().parse().map_err(|_| bad())?,
            },
            t => {
                let parts: Vec<f32> = parse_list(t).ok_or_else(bad)?;
                HideColor::Constant(<[f32; 3]>::try_from(parts.as_slice()).map_err(|_| bad())?)
            }
        };
        colour.validate()?;
        Ok(colour)
    }
}

impl std::fmt::Display for HideColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HideColor::Constant([0.0, 0.0, 0.0]) => f.write_str("black"),
            HideColor::Constant([1.0, 1.0, 1.0]) => f.write_str("white"),
            HideColor::Constant([r, g, b]) => write!(f, "{r},{g},{b}"),
            HideColor::SegmentMean => f.write_str("mean"),
            HideColor::Blurred { sigma } => write!(f, "blur:{sigma}"),
        }
    }
}

/// What hidden pixels show in a rendered image: one colour, or the pixels
/// of an image of the explained image's size.
/// [`Perturber::fill`](crate::Perturber::fill) makes it once per level.
///
/// ```
/// use multiscale_lime::{Fill, HideColor, Image, Segmentation};
/// use ndarray::{array, Array3};
///
/// let image = Image::new(Array3::from_shape_fn((1, 2, 3), |(_, x, _)| x as f32))?;
/// let seg = Segmentation::new(array![[0, 1]])?;
/// assert_eq!(HideColor::Constant([1.0; 3]).fill(&image, &seg)?, Fill::Color([1.0; 3]));
/// let Fill::Image(means) = HideColor::SegmentMean.fill(&image, &seg)? else { unreachable!() };
/// assert_eq!(means.pixel(0, 1), [1.0; 3]);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fill {
    /// One RGB colour in `[0, 1]` everywhere; painted, so no image of
    /// that colour is held or read.
    Color([f32; 3]),
    /// The pixels of an image the size of the explained one.
    Image(Image),
}

impl Fill {
    /// Checks that the fill can stand in for pixels of an `height × width`
    /// image: a colour in `[0, 1]`, or an image of that size.
    pub(crate) fn check(&self, height: usize, width: usize) -> Result<()> {
        match self {
            Fill::Color(c) if !c.iter().all(|v| (0.0..=1.0).contains(v)) => Err(Error::invalid(
                "fill",
                format!("{c:?}"),
                "RGB values in [0, 1]",
            )),
            Fill::Image(fill) if (fill.height(), fill.width()) != (height, width) => {
                Err(Error::inconsistent(
                    "render",
                    format!(
                        "fill image is {}×{}, the image {height}×{width}",
                        fill.height(),
                        fill.width()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The fill as an image of `height × width` pixels.
    pub(crate) fn into_image(self, height: usize, width: usize) -> Image {
        match self {
            Fill::Color(c) => {
                Image::from_trusted(Array3::from_shape_fn((height, width, 3), |(_, _, ch)| {
                    c[ch]
                }))
            }
            Fill::Image(image) => image,
        }
    }
}

impl HideColor {
    /// Checks the colour or blur width.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a constant outside `[0, 1]` or a
    /// non-positive blur width.
    pub fn validate(&self) -> Result<()> {
        match *self {
            HideColor::Constant(c) if !c.iter().all(|v| (0.0..=1.0).contains(v)) => Err(
                Error::invalid("hide_color", format!("{c:?}"), "RGB values in [0, 1]"),
            ),
            HideColor::Blurred { sigma }
                if !(sigma.is_finite() && sigma > 0.0 && f64::from(sigma) <= MAX_SIGMA) =>
            {
                Err(Error::invalid(
                    "hide_color.sigma",
                    sigma,
                    "a value > 0 and ≤ 1000 pixels",
                ))
            }
            _ => Ok(()),
        }
    }

    /// What hidden pixels of `image` show under this colour: the colour
    /// itself, or an image of segment means or of the blurred image.
    ///
    /// # Errors
    /// As [`HideColor::validate`], plus [`Error::InvalidSegmentation`] when
    /// `segmentation` does not fit `image`.
    pub fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Fill> {
        self.validate()?;
        segmentation.check_fits(image)?;
        let (h, w) = (image.height(), image.width());
        let data = match *self {
            HideColor::Constant(c) => return Ok(Fill::Color(c)),
            HideColor::SegmentMean => {
                let mut sums = vec![[0.0f64; 3]; segmentation.count()];
                let labels = segmentation.as_slice();
                for (px, &l) in image.as_slice().chunks_exact(3).zip(labels) {
                    for c in 0..3 {
                        sums[l as usize][c] += f64::from(px[c]);
                    }
                }
                let means: Vec<[f32; 3]> = sums
                    .iter()
                    .zip(segmentation.sizes())
                    .map(|(s, &n)| s.map(|v| (v / n as f64) as f32))
                    .collect();
                Array3::from_shape_fn((h, w, 3), |(y, x, c)| means[labels[y * w + x] as usize][c])
            }
            HideColor::Blurred { sigma } => {
                let mut out = Array3::<f32>::zeros((h, w, 3));
                for c in 0..3 {
                    let mut plane: Vec<f64> = image
                        .as_slice()
                        .iter()
                        .skip(c)
                        .step_by(3)
                        .map(|&v| f64::from(v))
                        .collect();
                    gaussian_blur(&mut plane, h, w, f64::from(sigma));
                    for (p, v) in plane.into_iter().enumerate() {
                        out[[p / w, p % w, c]] = (v as f32).clamp(0.0, 1.0);
                    }
                }
                out
            }
        };
        Ok(Fill::Image(Image::from_trusted(data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn segment_mean_and_blur_fill() {
        let img = Array3::from_shape_fn((2, 2, 3), |(y, x, c)| {
            (y * 2 + x) as f32 * 0.25 + c as f32 * 0.01
        });
        let img = Image::new(img).unwrap();
        let seg = Segmentation::new(array![[0, 0], [1, 1]]).unwrap();
        let Fill::Image(mean) = HideColor::SegmentMean.fill(&img, &seg).unwrap() else {
            panic!("segment means are an image")
        };
        assert!((mean.view()[[0, 0, 0]] - 0.125).abs() < 1e-6);
        assert!((mean.view()[[1, 1, 0]] - 0.625).abs() < 1e-6);
        let flat = Image::new(Array3::from_elem((5, 4, 3), 0.4)).unwrap();
        let seg = Segmentation::new(ndarray::Array2::zeros((5, 4))).unwrap();
        let Fill::Image(blurred) = HideColor::Blurred { sigma: 2.0 }.fill(&flat, &seg).unwrap()
        else {
            panic!("a blur is an image")
        };
        assert!(blurred.as_slice().iter().all(|v| (v - 0.4).abs() < 1e-6));
        assert!(HideColor::Blurred { sigma: 0.0 }.validate().is_err());
        // Found by fuzzing: a huge σ was a huge kernel allocation.
        assert!(HideColor::Blurred { sigma: 1e18 }.validate().is_err());
        assert!(HideColor::Blurred { sigma: 1000.0 }.validate().is_ok());
        assert!(HideColor::Constant([2.0, 0.0, 0.0]).validate().is_err());
    }

    #[test]
    fn fills_are_checked_against_the_image() {
        assert!(Fill::Color([0.0, 0.5, 1.0]).check(3, 4).is_ok());
        assert!(matches!(
            Fill::Color([0.0, f32::NAN, 1.0]).check(3, 4),
            Err(Error::InvalidParameter { name: "fill", .. })
        ));
        assert!(Fill::Color([1.5, 0.0, 0.0]).check(3, 4).is_err());
        let small = Image::new(Array3::zeros((2, 2, 3))).unwrap();
        assert!(Fill::Image(small.clone()).check(2, 2).is_ok());
        assert!(matches!(
            Fill::Image(small).check(3, 4),
            Err(Error::InconsistentInput { .. })
        ));
        let image = Fill::Color([0.25, 0.5, 0.75]).into_image(2, 3);
        assert!(image
            .as_slice()
            .chunks_exact(3)
            .all(|px| px == [0.25, 0.5, 0.75]));
    }
}
