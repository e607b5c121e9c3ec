//! The validated RGB image every stage of the pipeline reads.

use ndarray::{Array3, ArrayView3};

use crate::error::{Error, Result};

/// An RGB image as an `H×W×3` array of `f32` in `[0, 1]`, row-major with
/// channels last.
///
/// Construction validates the shape (three channels, at least one pixel) and
/// the values (finite, in `[0, 1]`), so every consumer can rely on them.
///
/// ```
/// use multiscale_lime::Image;
/// use ndarray::Array3;
///
/// let img = Image::try_from(Array3::<f32>::from_elem((4, 6, 3), 0.5))?;
/// assert_eq!((img.height(), img.width()), (4, 6));
///
/// // From an `image` crate buffer: u8 values become v / 255.
/// let rgb = image::RgbImage::from_pixel(6, 4, image::Rgb([255, 0, 51]));
/// let img = Image::try_from(&rgb)?;
/// assert_eq!(img.pixel(0, 0), [1.0, 0.0, 0.2]);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    data: Array3<f32>,
}

impl Image {
    /// Validates an `H×W×3` array of values in `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::ImageShape`] when the last axis is not 3, [`Error::EmptyImage`]
    /// when `H` or `W` is 0, [`Error::PixelValue`] for a NaN, infinite or
    /// out-of-range value.
    pub fn new(data: Array3<f32>) -> Result<Self> {
        let (h, w, c) = data.dim();
        if c != 3 {
            return Err(Error::ImageShape {
                shape: data.shape().to_vec(),
            });
        }
        if h == 0 || w == 0 {
            return Err(Error::EmptyImage {
                height: h,
                width: w,
            });
        }
        if let Some(((row, col, channel), &value)) = data
            .indexed_iter()
            .find(|(_, v)| !(v.is_finite() && (0.0..=1.0).contains(*v)))
        {
            return Err(Error::PixelValue {
                row,
                col,
                channel,
                value,
            });
        }
        let data = if data.is_standard_layout() {
            data
        } else {
            data.as_standard_layout().into_owned()
        };
        Ok(Image { data })
    }

    /// Builds an image from interleaved 8-bit RGB bytes (`height·width·3` of them).
    ///
    /// # Errors
    /// [`Error::EmptyImage`] for a zero dimension, [`Error::ImageShape`] when
    /// the byte count is not `height·width·3`.
    pub fn from_rgb8(height: usize, width: usize, bytes: &[u8]) -> Result<Self> {
        if height == 0 || width == 0 {
            return Err(Error::EmptyImage { height, width });
        }
        if height.checked_mul(width).and_then(|p| p.checked_mul(3)) != Some(bytes.len()) {
            return Err(Error::ImageShape {
                shape: vec![bytes.len()],
            });
        }
        let data = Array3::from_shape_fn((height, width, 3), |(y, x, c)| {
            f32::from(bytes[(y * width + x) * 3 + c]) / 255.0
        });
        Ok(Image { data })
    }

    /// Rows.
    pub fn height(&self) -> usize {
        self.data.dim().0
    }

    /// Columns.
    pub fn width(&self) -> usize {
        self.data.dim().1
    }

    /// Number of pixels, `height · width`.
    pub fn pixels(&self) -> usize {
        self.height() * self.width()
    }

    /// The `H×W×3` array.
    pub fn view(&self) -> ArrayView3<'_, f32> {
        self.data.view()
    }

    /// The values as one contiguous slice, row-major, channels interleaved.
    pub fn as_slice(&self) -> &[f32] {
        // Construction guarantees standard layout.
        self.data
            .as_slice()
            .expect("Image data is always in standard layout")
    }

    /// The RGB value at (`row`, `col`).
    ///
    /// # Panics
    /// When the position is outside the image.
    pub fn pixel(&self, row: usize, col: usize) -> [f32; 3] {
        [
            self.data[[row, col, 0]],
            self.data[[row, col, 1]],
            self.data[[row, col, 2]],
        ]
    }

    /// Consumes the image, returning the array.
    pub fn into_array(self) -> Array3<f32> {
        self.data
    }

    /// Converts to an 8-bit `image` buffer (values rounded to the nearest of 256 levels).
    #[must_use = "the conversion returns a new buffer"]
    pub fn to_rgb8(&self) -> image::RgbImage {
        let (h, w) = (self.height(), self.width());
        let bytes = self
            .as_slice()
            .iter()
            .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        // Dimensions come from a valid image, so the buffer length matches.
        image::RgbImage::from_raw(w as u32, h as u32, bytes)
            .expect("buffer length equals width·height·3")
    }

    pub(crate) fn from_trusted(data: Array3<f32>) -> Self {
        debug_assert!(data.is_standard_layout() && data.dim().2 == 3);
        Image { data }
    }
}

impl TryFrom<Array3<f32>> for Image {
    type Error = Error;
    fn try_from(data: Array3<f32>) -> Result<Self> {
        Image::new(data)
    }
}

impl TryFrom<ArrayView3<'_, f32>> for Image {
    type Error = Error;
    fn try_from(view: ArrayView3<'_, f32>) -> Result<Self> {
        Image::new(view.to_owned())
    }
}

impl TryFrom<&image::RgbImage> for Image {
    type Error = Error;
    fn try_from(buffer: &image::RgbImage) -> Result<Self> {
        Image::from_rgb8(
            buffer.height() as usize,
            buffer.width() as usize,
            buffer.as_raw(),
        )
    }
}

impl TryFrom<&image::DynamicImage> for Image {
    type Error = Error;
    fn try_from(img: &image::DynamicImage) -> Result<Self> {
        Image::try_from(&img.to_rgb8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_shapes_and_values() {
        assert!(matches!(
            Image::new(Array3::zeros((2, 2, 4))),
            Err(Error::ImageShape { .. })
        ));
        assert!(matches!(
            Image::new(Array3::zeros((0, 2, 3))),
            Err(Error::EmptyImage { .. })
        ));
        let mut a = Array3::<f32>::zeros((2, 2, 3));
        a[[1, 0, 2]] = f32::NAN;
        assert!(matches!(
            Image::new(a),
            Err(Error::PixelValue {
                row: 1,
                col: 0,
                channel: 2,
                ..
            })
        ));
        assert!(matches!(
            Image::from_rgb8(2, 2, &[0; 11]),
            Err(Error::ImageShape { .. })
        ));
        assert!(matches!(
            Image::from_rgb8(0, 2, &[]),
            Err(Error::EmptyImage { .. })
        ));
    }

    #[test]
    fn rgb8_round_trip() {
        let bytes: Vec<u8> = (0..2 * 3 * 3).map(|i| (i * 13) as u8).collect();
        let img = Image::from_rgb8(2, 3, &bytes).unwrap();
        assert_eq!(img.to_rgb8().into_raw(), bytes);
        let t = Array3::<f32>::zeros((3, 2, 3));
        let fortran = t.reversed_axes().reversed_axes();
        assert!(Image::new(fortran).unwrap().view().is_standard_layout());
    }
}
