//! Rendering masked images: each pixel keeps its value where its segment's
//! mask entry is 1 and shows the [`Fill`] elsewhere, copied run by run.

use ndarray::{ArrayView2, ArrayViewMut4};

use super::Fill;
use crate::error::{Error, Result};
use crate::input::Image;
use crate::segment::{SegmentRuns, Segmentation};

/// Keeps each pixel whose segment's mask entry is non-zero and shows `fill`
/// elsewhere, for every row of `masks`: the provided
/// [`Perturber::render`](crate::Perturber::render), whose docs show it.
///
/// # Errors
/// [`Error::InconsistentInput`] when `out` is not `masks.nrows()×H×W×3` in
/// standard layout, when `masks` has not one column per segment, or when a
/// fill image has another size than `image`; [`Error::InvalidParameter`]
/// for a fill colour outside `[0, 1]`; [`Error::InvalidSegmentation`] when
/// the segmentation does not fit the image.
pub(crate) fn render_masked(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Fill,
    masks: ArrayView2<'_, u8>,
    out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    render_runs(image, segmentation, fill, masks, None, out)
}

/// [`render_masked`] into an `out` that already holds the images of
/// `previous`: only segments whose mask entry differs are rewritten.
///
/// # Errors
/// As [`render_masked`], and [`Error::InconsistentInput`] when `previous` is
/// not shaped like `masks`.
pub(crate) fn render_masked_over(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Fill,
    masks: ArrayView2<'_, u8>,
    previous: ArrayView2<'_, u8>,
    out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    check_previous(masks, previous)?;
    render_runs(image, segmentation, fill, masks, Some(previous), out)
}

pub(crate) fn check_previous(
    masks: ArrayView2<'_, u8>,
    previous: ArrayView2<'_, u8>,
) -> Result<()> {
    if previous.dim() == masks.dim() {
        return Ok(());
    }
    Err(Error::inconsistent(
        "render",
        format!(
            "previous masks are {:?}, masks {:?}",
            previous.dim(),
            masks.dim()
        ),
    ))
}

/// What hidden segments show while rendering.
enum Hidden<'a> {
    /// The fill image's pixels (interleaved RGB, the image's size).
    Pixels(&'a [f32]),
    /// One colour everywhere: written without reading a fill image, which
    /// keeps a large image's working set (image plus batch) in cache.
    Constant(Box<Paint>),
}

fn render_runs(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Fill,
    masks: ArrayView2<'_, u8>,
    previous: Option<ArrayView2<'_, u8>>,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    let out = checked_output(image, segmentation, fill, masks, &mut out)?;
    let hidden = match fill {
        Fill::Color(c) => Hidden::Constant(Box::new(Paint::new(*c))),
        Fill::Image(fill) => Hidden::Pixels(fill.as_slice()),
    };
    let src = image.as_slice();
    let runs = segmentation.runs();
    let k = segmentation.count();
    let (mut keep, mut changed) = (vec![false; k], vec![false; k]);
    let pixels = image.height() * image.width();
    for (i, (row, dst)) in masks
        .rows()
        .into_iter()
        .zip(out.chunks_exact_mut(pixels * 3))
        .enumerate()
    {
        for (s, &m) in keep.iter_mut().zip(row.iter()) {
            *s = m != 0;
        }
        match &previous {
            None => render_all(dst, src, runs, &keep, &hidden),
            Some(previous) => {
                for ((c, &now), &before) in changed.iter_mut().zip(&keep).zip(previous.row(i)) {
                    *c = now != (before != 0);
                }
                render_changed(dst, src, runs, &keep, &changed, &hidden);
            }
        }
    }
    Ok(())
}

/// `out` as one slice, once the image, segmentation, fill, masks and
/// output buffer are known to agree.
fn checked_output<'o>(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Fill,
    masks: ArrayView2<'_, u8>,
    out: &'o mut ArrayViewMut4<'_, f32>,
) -> Result<&'o mut [f32]> {
    segmentation.check_fits(image)?;
    let (h, w) = (image.height(), image.width());
    fill.check(h, w)?;
    let expected = (masks.nrows(), h, w, 3);
    if out.dim() != expected {
        return Err(Error::inconsistent(
            "render",
            format!("output buffer is {:?}, expected {expected:?}", out.dim()),
        ));
    }
    if masks.ncols() != segmentation.count() {
        return Err(Error::inconsistent(
            "render",
            format!(
                "masks have {} columns for {} segments",
                masks.ncols(),
                segmentation.count()
            ),
        ));
    }
    out.as_slice_mut()
        .ok_or_else(|| Error::inconsistent("render", "output buffer must be in standard layout"))
}

/// Writes every pixel of one image: in raster order, so that each cache
/// line is filled at once.
fn render_all(
    dst: &mut [f32],
    src: &[f32],
    runs: &SegmentRuns,
    keep: &[bool],
    hidden: &Hidden<'_>,
) {
    for &(a, b, l) in runs.raster() {
        let (a, b) = (a * 3, b * 3);
        match hidden {
            _ if keep[l as usize] => dst[a..b].copy_from_slice(&src[a..b]),
            Hidden::Pixels(alt) => dst[a..b].copy_from_slice(&alt[a..b]),
            Hidden::Constant(paint) => paint.over(&mut dst[a..b]),
        }
    }
}

/// Rewrites the segments whose entry `changed` in an image that holds the
/// previous mask's rendering.
fn render_changed(
    dst: &mut [f32],
    src: &[f32],
    runs: &SegmentRuns,
    keep: &[bool],
    changed: &[bool],
    hidden: &Hidden<'_>,
) {
    // About half the segments change: segment by segment, one test per
    // segment rather than one (unpredictable) branch per run.
    for (l, (&keep, _)) in keep
        .iter()
        .zip(changed)
        .enumerate()
        .filter(|&(_, (_, &c))| c)
    {
        let spans = runs.of(l).iter().map(|&(a, b)| (a * 3, b * 3));
        match hidden {
            _ if keep => spans.for_each(|(a, b)| dst[a..b].copy_from_slice(&src[a..b])),
            Hidden::Pixels(alt) => {
                spans.for_each(|(a, b)| dst[a..b].copy_from_slice(&alt[a..b]));
            }
            Hidden::Constant(paint) => spans.for_each(|(a, b)| paint.over(&mut dst[a..b])),
        }
    }
}

/// Interleaved RGB values of one colour, copied in pieces: `memcpy` is
/// faster than a fill loop on the short spans of small segments.
struct Paint([f32; 3 * 256]);

impl Paint {
    fn new(c: [f32; 3]) -> Self {
        let mut pattern = [0.0; 3 * 256];
        for px in pattern.chunks_exact_mut(3) {
            px.copy_from_slice(&c);
        }
        Paint(pattern)
    }

    /// Paints `dst`, which starts on a pixel and holds whole pixels.
    fn over(&self, dst: &mut [f32]) {
        for piece in dst.chunks_mut(self.0.len()) {
            piece.copy_from_slice(&self.0[..piece.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::{BernoulliPerturber, HideColor, Perturber};
    use ndarray::{array, Array2, Array3, Array4};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn tiny() -> (Image, Segmentation) {
        let img = Array3::from_shape_fn((2, 2, 3), |(y, x, c)| {
            (y * 2 + x) as f32 * 0.25 + c as f32 * 0.01
        });
        (
            Image::new(img).unwrap(),
            Segmentation::new(array![[0, 0], [1, 1]]).unwrap(),
        )
    }

    /// A 6×7 image of distinct values in 5 segments whose runs cross rows.
    fn graded() -> (Image, Segmentation) {
        let img = Image::new(Array3::from_shape_fn((6, 7, 3), |(y, x, c)| {
            ((y * 7 + x) * 3 + c) as f32 / 126.0
        }))
        .unwrap();
        let seg = Segmentation::new(Array2::from_shape_fn((6, 7), |(y, x)| {
            ((y * 7 + x) / 9) as u32
        }))
        .unwrap();
        (img, seg)
    }

    #[test]
    fn render_keeps_and_hides_by_label() {
        let (img, seg) = tiny();
        let masks = array![[1u8, 1], [0, 1], [1, 0]];
        let mut out = Array4::<f32>::zeros((3, 2, 2, 3));
        let fill = Fill::Color([1.0, 0.5, 0.0]);
        render_masked(&img, &seg, &fill, masks.view(), out.view_mut()).unwrap();
        assert_eq!(out.slice(ndarray::s![0, .., .., ..]), img.view());
        assert_eq!(out[[1, 0, 1, 0]], 1.0);
        assert_eq!(out[[1, 1, 0, 0]], img.view()[[1, 0, 0]]);
        assert_eq!(out[[2, 1, 1, 1]], 0.5);
        assert_eq!(out[[2, 0, 0, 2]], img.view()[[0, 0, 2]]);
    }

    #[test]
    fn render_rejects_wrong_shapes() {
        let (img, seg) = tiny();
        let fill = Fill::Image(img.clone());
        let masks = array![[1u8, 1]];
        let mut wrong = Array4::<f32>::zeros((2, 2, 2, 3));
        assert!(matches!(
            render_masked(&img, &seg, &fill, masks.view(), wrong.view_mut()),
            Err(Error::InconsistentInput { .. })
        ));
        let three = array![[1u8, 1, 1]];
        let mut out = Array4::<f32>::zeros((1, 2, 2, 3));
        assert!(render_masked(&img, &seg, &fill, three.view(), out.view_mut()).is_err());
        let small = Fill::Image(Image::new(Array3::zeros((1, 2, 3))).unwrap());
        assert!(matches!(
            render_masked(&img, &seg, &small, masks.view(), out.view_mut()),
            Err(Error::InconsistentInput { .. })
        ));
        let bright = Fill::Color([0.0, 2.0, 0.0]);
        assert!(matches!(
            render_masked(&img, &seg, &bright, masks.view(), out.view_mut()),
            Err(Error::InvalidParameter { .. })
        ));
    }

    #[test]
    fn render_over_equals_a_fresh_render() {
        let (img, seg) = graded();
        let p = BernoulliPerturber::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let before = p.masks(seg.count(), 16, &mut rng).unwrap();
        let after = p.masks(seg.count(), 16, &mut rng).unwrap();
        for hide in [HideColor::Constant([0.9, 0.1, 0.3]), HideColor::SegmentMean] {
            let fill = hide.fill(&img, &seg).unwrap();
            let mut reused = Array4::<f32>::zeros((16, 6, 7, 3));
            p.render(&img, &seg, &fill, before.view(), reused.view_mut())
                .unwrap();
            p.render_over(
                &img,
                &seg,
                &fill,
                after.view(),
                before.view(),
                reused.view_mut(),
            )
            .unwrap();
            let mut fresh = Array4::<f32>::zeros((16, 6, 7, 3));
            p.render(&img, &seg, &fill, after.view(), fresh.view_mut())
                .unwrap();
            assert_eq!(reused, fresh);
            assert!(matches!(
                p.render_over(
                    &img,
                    &seg,
                    &fill,
                    after.view(),
                    before.slice(ndarray::s![..3, ..]),
                    reused.view_mut()
                ),
                Err(Error::InconsistentInput { .. })
            ));
        }
    }

    #[test]
    fn a_painted_colour_equals_an_image_of_that_colour() {
        let (img, seg) = graded();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for colour in [[0.0; 3], [0.25; 3], [0.9, 0.1, 0.3]] {
            let p = BernoulliPerturber::new(0.5, HideColor::Constant(colour)).unwrap();
            let masks = p.masks(seg.count(), 12, &mut rng).unwrap();
            let mut painted = Array4::<f32>::zeros((12, 6, 7, 3));
            let fill = Fill::Color(colour);
            p.render(&img, &seg, &fill, masks.view(), painted.view_mut())
                .unwrap();
            let mut copied = Array4::<f32>::from_elem((12, 6, 7, 3), -1.0);
            let as_image = Fill::Color(colour).into_image(6, 7);
            render_masked(
                &img,
                &seg,
                &Fill::Image(as_image),
                masks.view(),
                copied.view_mut(),
            )
            .unwrap();
            assert_eq!(painted, copied);
        }
    }

    #[test]
    fn long_runs_are_painted_whole() {
        // Runs of 600 pixels, longer than the paint pattern.
        let img = Image::new(Array3::from_elem((4, 600, 3), 0.5)).unwrap();
        let seg =
            Segmentation::new(Array2::from_shape_fn((4, 600), |(y, _)| (y % 2) as u32)).unwrap();
        let p = BernoulliPerturber::default();
        let colour = [0.9, 0.1, 0.3];
        let masks = array![[0u8, 1], [1, 0]];
        let mut painted = Array4::<f32>::zeros((2, 4, 600, 3));
        p.render(
            &img,
            &seg,
            &Fill::Color(colour),
            masks.view(),
            painted.view_mut(),
        )
        .unwrap();
        let mut copied = Array4::<f32>::zeros((2, 4, 600, 3));
        let as_image = Fill::Image(Fill::Color(colour).into_image(4, 600));
        render_masked(&img, &seg, &as_image, masks.view(), copied.view_mut()).unwrap();
        assert_eq!(painted, copied);
        let previous = array![[1u8, 1], [1, 1]];
        let mut over = Array4::<f32>::from_elem((2, 4, 600, 3), 0.5);
        p.render_over(
            &img,
            &seg,
            &Fill::Color(colour),
            masks.view(),
            previous.view(),
            over.view_mut(),
        )
        .unwrap();
        assert_eq!(over, copied);
        assert_eq!(painted[[0, 0, 599, 2]], 0.3);
    }
}
