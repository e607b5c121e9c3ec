//! Perturbations: which segments each sample hides, and how hidden segments
//! look.

use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut4};
use rand::distr::{Bernoulli, Distribution};
use rand_chacha::ChaCha8Rng;

use crate::blur::{gaussian_blur, MAX_SIGMA};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::segment::Segmentation;

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

    /// The image a fully hidden sample would show.
    ///
    /// # Errors
    /// As [`HideColor::validate`], plus [`Error::InvalidSegmentation`] when
    /// `segmentation` does not fit `image`.
    pub fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Image> {
        self.validate()?;
        segmentation.check_fits(image)?;
        let (h, w) = (image.height(), image.width());
        let data = match *self {
            HideColor::Constant(c) => Array3::from_shape_fn((h, w, 3), |(_, _, ch)| c[ch]),
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
        Ok(Image::from_trusted(data))
    }
}

/// Draws the binary mask matrix of one level and renders masked images.
///
/// Row 0 of the masks must be all ones (the unperturbed image); the other
/// rows are the perturbations. `render` has a provided implementation that
/// keeps a pixel where its segment's mask entry is 1 and shows `fill`
/// elsewhere; `render_over`'s provided implementation calls `render`, so a
/// perturber that renders differently needs to override `render` only.
pub trait Perturber: Send + Sync {
    /// Draws an `samples × segments` matrix of 0/1 entries, row 0 all ones.
    ///
    /// # Errors
    /// Implementation-specific; [`BernoulliPerturber`] never fails.
    fn masks(&self, segments: usize, samples: usize, rng: &mut ChaCha8Rng) -> Result<Array2<u8>>;

    /// The image hidden segments show (computed once per level).
    ///
    /// # Errors
    /// When the segmentation does not fit the image or the hide colour is invalid.
    fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Image>;

    /// Renders one masked image per row of `masks` into `out`
    /// (`masks.nrows() × H × W × 3`).
    ///
    /// # Errors
    /// [`Error::InconsistentInput`] when the shapes disagree.
    fn render(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Image,
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
    /// in few entries (about 30 % instead of 50 %). The provided implementation ignores `previous` and renders from scratch;
    /// [`BernoulliPerturber`] rewrites only the segments whose entry changed.
    ///
    /// # Errors
    /// As [`render`](Self::render), and [`Error::InconsistentInput`] when
    /// `previous` is not shaped like `masks`.
    fn render_over(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Image,
        masks: ArrayView2<'_, u8>,
        previous: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        check_previous(masks, previous)?;
        self.render(image, segmentation, fill, masks, out)
    }
}

/// Keeps each pixel whose segment's mask entry is non-zero and takes `fill`'s
/// pixel elsewhere, for every row of `masks`.
///
/// # Errors
/// [`Error::InconsistentInput`] when `out` is not `masks.nrows()×H×W×3` in
/// standard layout, when `masks` has not one column per segment, or when
/// `fill` has another size than `image`; [`Error::InvalidSegmentation`] when
/// the segmentation does not fit the image.
pub fn render_masked(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Image,
    masks: ArrayView2<'_, u8>,
    out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    render_runs(image, segmentation, &Hidden::Pixels(fill), masks, None, out)
}

/// [`render_masked`] into an `out` that already holds the images of
/// `previous`: only segments whose mask entry differs are rewritten, about
/// half the bytes for random masks.
///
/// # Errors
/// As [`render_masked`], and [`Error::InconsistentInput`] when `previous` is
/// not shaped like `masks`.
pub fn render_masked_over(
    image: &Image,
    segmentation: &Segmentation,
    fill: &Image,
    masks: ArrayView2<'_, u8>,
    previous: ArrayView2<'_, u8>,
    out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    check_previous(masks, previous)?;
    render_runs(
        image,
        segmentation,
        &Hidden::Pixels(fill),
        masks,
        Some(previous),
        out,
    )
}

fn check_previous(masks: ArrayView2<'_, u8>, previous: ArrayView2<'_, u8>) -> Result<()> {
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
    Pixels(&'a Image),
    /// One colour everywhere: written without reading a fill image, which
    /// keeps a large image's working set (image plus batch) in cache.
    Constant(Box<Paint>),
}

fn render_runs(
    image: &Image,
    segmentation: &Segmentation,
    hidden: &Hidden<'_>,
    masks: ArrayView2<'_, u8>,
    previous: Option<ArrayView2<'_, u8>>,
    mut out: ArrayViewMut4<'_, f32>,
) -> Result<()> {
    segmentation.check_fits(image)?;
    let (h, w) = (image.height(), image.width());
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
    if let &Hidden::Pixels(fill) = hidden {
        if (fill.height(), fill.width()) != (h, w) {
            return Err(Error::inconsistent(
                "render",
                "fill image size differs from the image",
            ));
        }
    }
    let Some(out) = out.as_slice_mut() else {
        return Err(Error::inconsistent(
            "render",
            "output buffer must be in standard layout",
        ));
    };
    let src = image.as_slice();
    let runs = segmentation.runs();
    let k = segmentation.count();
    let (mut keep, mut changed) = (vec![false; k], vec![false; k]);
    for (i, (row, dst)) in masks
        .rows()
        .into_iter()
        .zip(out.chunks_exact_mut(h * w * 3))
        .enumerate()
    {
        for (s, &m) in keep.iter_mut().zip(row.iter()) {
            *s = m != 0;
        }
        let Some(previous) = &previous else {
            // Everything is written: in raster order, so that each cache
            // line is filled at once.
            for &(a, b, l) in runs.raster() {
                let (a, b) = (a * 3, b * 3);
                match hidden {
                    _ if keep[l as usize] => dst[a..b].copy_from_slice(&src[a..b]),
                    Hidden::Pixels(fill) => dst[a..b].copy_from_slice(&fill.as_slice()[a..b]),
                    Hidden::Constant(paint) => paint.over(&mut dst[a..b]),
                }
            }
            continue;
        };
        for ((c, &now), &before) in changed.iter_mut().zip(&keep).zip(previous.row(i)) {
            *c = now != (before != 0);
        }
        // About half the segments change: segment by segment, one test per
        // segment rather than one (unpredictable) branch per run.
        for (l, (&keep, _)) in keep
            .iter()
            .zip(&changed)
            .enumerate()
            .filter(|(_, (_, &c))| c)
        {
            let spans = runs.of(l).iter().map(|&(a, b)| (a * 3, b * 3));
            match hidden {
                _ if keep => spans.for_each(|(a, b)| dst[a..b].copy_from_slice(&src[a..b])),
                Hidden::Pixels(fill) => {
                    let alt = fill.as_slice();
                    spans.for_each(|(a, b)| dst[a..b].copy_from_slice(&alt[a..b]));
                }
                Hidden::Constant(paint) => spans.for_each(|(a, b)| paint.over(&mut dst[a..b])),
            }
        }
    }
    Ok(())
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

/// Hides each segment independently with probability `1 − keep_probability`
/// (LIME's sampling), showing the [`HideColor`] instead.
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
}

impl Default for BernoulliPerturber {
    fn default() -> Self {
        BernoulliPerturber {
            keep_probability: 0.5,
            hide_color: HideColor::default(),
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
        })
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
        let coin = Bernoulli::new(self.keep_probability)
            .map_err(|_| Error::invalid("keep_probability", self.keep_probability, "in (0, 1)"))?;
        let mut z = Array2::<u8>::ones((samples, segments));
        for mut row in z.rows_mut().into_iter().skip(1) {
            for v in row.iter_mut() {
                *v = u8::from(coin.sample(rng));
            }
        }
        Ok(z)
    }

    fn fill(&self, image: &Image, segmentation: &Segmentation) -> Result<Image> {
        self.hide_color.fill(image, segmentation)
    }

    fn render(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Image,
        masks: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        let hidden = self.hidden(image, fill);
        render_runs(image, segmentation, &hidden, masks, None, out)
    }

    fn render_over(
        &self,
        image: &Image,
        segmentation: &Segmentation,
        fill: &Image,
        masks: ArrayView2<'_, u8>,
        previous: ArrayView2<'_, u8>,
        out: ArrayViewMut4<'_, f32>,
    ) -> Result<()> {
        check_previous(masks, previous)?;
        let hidden = self.hidden(image, fill);
        render_runs(image, segmentation, &hidden, masks, Some(previous), out)
    }
}

impl BernoulliPerturber {
    /// A constant hide colour is painted, not copied from `fill` (which
    /// [`fill`](Perturber::fill) made of that colour). A spot check of
    /// `fill` keeps a caller's own fill image working, and one of another
    /// size an error.
    fn hidden<'a>(&self, image: &Image, fill: &'a Image) -> Hidden<'a> {
        let same_size = (fill.height(), fill.width()) == (image.height(), image.width());
        match self.hide_color {
            HideColor::Constant(c) if same_size && looks_uniform(fill, c) => {
                Hidden::Constant(Box::new(Paint::new(c)))
            }
            _ => Hidden::Pixels(fill),
        }
    }
}

/// Whether about 256 pixels spread over `fill`, its first and last among
/// them, all have colour `c`.
fn looks_uniform(fill: &Image, c: [f32; 3]) -> bool {
    let px = fill.as_slice();
    let n = px.len() / 3;
    let step = (n / 256).max(1);
    (0..n)
        .step_by(step)
        .chain(n.checked_sub(1))
        .all(|i| px[i * 3..i * 3 + 3] == c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array4};
    use rand::SeedableRng;

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
        let seg = Segmentation::new(ndarray::Array2::from_shape_fn((6, 7), |(y, x)| {
            ((y * 7 + x) / 9) as u32
        }))
        .unwrap();
        (img, seg)
    }

    #[test]
    fn render_keeps_and_hides_by_label() {
        let (img, seg) = tiny();
        let fill = HideColor::Constant([1.0, 0.5, 0.0])
            .fill(&img, &seg)
            .unwrap();
        let masks = array![[1u8, 1], [0, 1], [1, 0]];
        let mut out = Array4::<f32>::zeros((3, 2, 2, 3));
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
        let fill = img.clone();
        let masks = array![[1u8, 1]];
        let mut wrong = Array4::<f32>::zeros((2, 2, 2, 3));
        assert!(matches!(
            render_masked(&img, &seg, &fill, masks.view(), wrong.view_mut()),
            Err(Error::InconsistentInput { .. })
        ));
        let three = array![[1u8, 1, 1]];
        let mut out = Array4::<f32>::zeros((1, 2, 2, 3));
        assert!(render_masked(&img, &seg, &fill, three.view(), out.view_mut()).is_err());
    }

    #[test]
    fn render_over_equals_a_fresh_render() {
        let (img, seg) = graded();
        let p = BernoulliPerturber::new(0.5, HideColor::Constant([0.9, 0.1, 0.3])).unwrap();
        let fill = p.fill(&img, &seg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let before = p.masks(seg.count(), 16, &mut rng).unwrap();
        let after = p.masks(seg.count(), 16, &mut rng).unwrap();
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

    #[test]
    fn long_runs_are_painted_whole() {
        // Runs of 600 pixels, longer than the paint pattern.
        let img = Image::new(Array3::from_elem((4, 600, 3), 0.5)).unwrap();
        let seg = Segmentation::new(ndarray::Array2::from_shape_fn((4, 600), |(y, _)| {
            (y % 2) as u32
        }))
        .unwrap();
        let p = BernoulliPerturber::new(0.5, HideColor::Constant([0.9, 0.1, 0.3])).unwrap();
        let fill = p.fill(&img, &seg).unwrap();
        let masks = ndarray::array![[0u8, 1], [1, 0]];
        let mut painted = Array4::<f32>::zeros((2, 4, 600, 3));
        p.render(&img, &seg, &fill, masks.view(), painted.view_mut())
            .unwrap();
        let mut copied = Array4::<f32>::zeros((2, 4, 600, 3));
        render_masked(&img, &seg, &fill, masks.view(), copied.view_mut()).unwrap();
        assert_eq!(painted, copied);
        let previous = ndarray::array![[1u8, 1], [1, 1]];
        let mut over = Array4::<f32>::from_elem((2, 4, 600, 3), 0.5);
        p.render_over(
            &img,
            &seg,
            &fill,
            masks.view(),
            previous.view(),
            over.view_mut(),
        )
        .unwrap();
        assert_eq!(over, copied);
        assert_eq!(painted[[0, 0, 599, 2]], 0.3);
    }

    #[test]
    fn painted_constant_equals_copied_fill() {
        let (img, seg) = graded();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for colour in [[0.0; 3], [0.25; 3], [0.9, 0.1, 0.3]] {
            let p = BernoulliPerturber::new(0.5, HideColor::Constant(colour)).unwrap();
            let fill = p.fill(&img, &seg).unwrap();
            let masks = p.masks(seg.count(), 12, &mut rng).unwrap();
            let mut painted = Array4::<f32>::zeros((12, 6, 7, 3));
            p.render(&img, &seg, &fill, masks.view(), painted.view_mut())
                .unwrap();
            let mut copied = Array4::<f32>::from_elem((12, 6, 7, 3), -1.0);
            render_masked(&img, &seg, &fill, masks.view(), copied.view_mut()).unwrap();
            assert_eq!(painted, copied);
            // A fill of the caller's own is shown, not the hide colour.
            let own = HideColor::Constant([0.5, 0.6, 0.7])
                .fill(&img, &seg)
                .unwrap();
            p.render(&img, &seg, &own, masks.view(), painted.view_mut())
                .unwrap();
            render_masked(&img, &seg, &own, masks.view(), copied.view_mut()).unwrap();
            assert_eq!(painted, copied);
            assert!(painted.iter().any(|&v| v == 0.6));
            // A fill of another size is an error, even in the hide colour.
            let small = Image::new(Array3::from_elem((2, 2, 3), colour[0])).unwrap();
            let small = p.fill(
                &small,
                &Segmentation::new(ndarray::Array2::zeros((2, 2))).unwrap(),
            );
            assert!(matches!(
                p.render(
                    &img,
                    &seg,
                    &small.unwrap(),
                    masks.view(),
                    painted.view_mut()
                ),
                Err(Error::InconsistentInput { .. })
            ));
        }
    }

    #[test]
    fn segment_mean_and_blur_fill() {
        let (img, seg) = tiny();
        let mean = HideColor::SegmentMean.fill(&img, &seg).unwrap();
        assert!((mean.view()[[0, 0, 0]] - 0.125).abs() < 1e-6);
        assert!((mean.view()[[1, 1, 0]] - 0.625).abs() < 1e-6);
        let flat = Image::new(Array3::from_elem((5, 4, 3), 0.4)).unwrap();
        let seg = Segmentation::new(ndarray::Array2::zeros((5, 4))).unwrap();
        let blurred = HideColor::Blurred { sigma: 2.0 }.fill(&flat, &seg).unwrap();
        assert!(blurred.as_slice().iter().all(|v| (v - 0.4).abs() < 1e-6));
        assert!(HideColor::Blurred { sigma: 0.0 }.validate().is_err());
        // Found by fuzzing: a huge σ was a huge kernel allocation.
        assert!(HideColor::Blurred { sigma: 1e18 }.validate().is_err());
        assert!(HideColor::Blurred { sigma: 1000.0 }.validate().is_ok());
        assert!(HideColor::Constant([2.0, 0.0, 0.0]).validate().is_err());
    }

    #[test]
    fn masks_keep_about_half() {
        let p = BernoulliPerturber::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let z = p.masks(50, 400, &mut rng).unwrap();
        let share = z.iter().map(|&v| f64::from(v)).sum::<f64>() / z.len() as f64;
        assert!((share - 0.5).abs() < 0.03, "share {share}");
        assert!(BernoulliPerturber::new(1.0, HideColor::default()).is_err());
        assert!(BernoulliPerturber::new(0.0, HideColor::default()).is_err());
    }
}
