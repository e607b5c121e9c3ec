//! The square-grid segmentation of Palatnik de Sousa et al. (2019).

use ndarray::Array2;

use super::{check_desired, Segmentation, Segmenter};
use crate::error::Result;
use crate::input::Image;

/// Cuts the image into a `g×g` grid of near-square cells, `g = round(√s)`.
///
/// The actual count is `s' = g²` with `g` capped at `min(H, W)` so no cell is
/// empty. Row boundaries lie at `floor(i·H/g)`, columns likewise; labels are
/// row-major. This is the baseline the paper compares SLIC against: every
/// image gets the same cells, whatever its content.
///
/// ```
/// use multiscale_lime::{Image, Segmenter, SquareGrid};
/// use ndarray::Array3;
///
/// let img = Image::new(Array3::zeros((4, 4, 3)))?;
/// let seg = SquareGrid.segment(&img, 4)?; // g = 2
/// assert_eq!(seg.count(), 4);
/// assert_eq!(seg.labels()[[0, 0]], 0);
/// assert_eq!(seg.labels()[[3, 3]], 3);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SquareGrid;

impl Segmenter for SquareGrid {
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        check_desired(image, desired)?;
        let (h, w) = (image.height(), image.width());
        let g = ((desired as f64).sqrt().round() as usize).clamp(1, h.min(w));
        // Cell index of row y is the i with floor(i·h/g) ≤ y < floor((i+1)·h/g).
        let cell = |pos: usize, size: usize| -> usize {
            let mut i = pos * g / size;
            while i + 1 < g && (i + 1) * size / g <= pos {
                i += 1;
            }
            while i > 0 && i * size / g > pos {
                i -= 1;
            }
            i
        };
        let rows: Vec<usize> = (0..h).map(|y| cell(y, h)).collect();
        let cols: Vec<usize> = (0..w).map(|x| cell(x, w)).collect();
        let labels = Array2::from_shape_fn((h, w), |(y, x)| (rows[y] * g + cols[x]) as u32);
        Ok(Segmentation::from_trusted(labels, g * g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::Array3;
    use proptest::prelude::*;

    #[test]
    fn boundaries_follow_floor_rule() {
        let img = Image::new(Array3::zeros((10, 7, 3))).unwrap();
        let seg = SquareGrid.segment(&img, 9).unwrap();
        assert_eq!(seg.count(), 9);
        // g = 3: rows split at 0, 3, 6; columns at 0, 2, 4.
        let col0: Vec<u32> = seg.labels().column(0).to_vec();
        assert_eq!(col0, vec![0, 0, 0, 3, 3, 3, 6, 6, 6, 6]);
        let row0: Vec<u32> = seg.labels().row(0).to_vec();
        assert_eq!(row0, vec![0, 0, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn rejects_zero_and_too_many() {
        let img = Image::new(Array3::zeros((2, 2, 3))).unwrap();
        assert!(matches!(
            SquareGrid.segment(&img, 0),
            Err(Error::SegmentCount { .. })
        ));
        assert!(matches!(
            SquareGrid.segment(&img, 5),
            Err(Error::SegmentCount { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_size_gives_valid_cells(h in 1usize..40, w in 1usize..40, s in 1usize..2000) {
            let img = Image::new(Array3::zeros((h, w, 3))).unwrap();
            match SquareGrid.segment(&img, s) {
                Ok(seg) => {
                    let g = seg.count();
                    prop_assert!(Segmentation::new(seg.labels().clone()).is_ok());
                    let side = (g as f64).sqrt() as usize;
                    prop_assert_eq!(side * side, g);
                    prop_assert!(side <= h.min(w));
                }
                Err(e) => prop_assert!(s > h * w, "unexpected error {e}"),
            }
        }
    }
}
