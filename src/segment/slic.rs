//! SLIC superpixels (Achanta et al., TPAMI 2012) as scikit-image 0.26
//! implements them, label for label.

use rayon::prelude::*;

use super::connectivity::enforce_connectivity;
use super::lab::{slic_features, LabPlanes};
use super::{check_desired, Segmentation, Segmenter};
use crate::blur::MAX_SIGMA;
use crate::error::{Error, Result};
use crate::image::Image;

/// Rows per work unit of the assignment step; fixed, so the parallel and the
/// sequential paths visit pixels and centres in the same order.
const BAND_ROWS: usize = 8;

/// SLIC superpixels, compatible with `skimage.segmentation.slic(image,
/// n_segments, compactness, sigma=…, start_label=0)` of scikit-image 0.26.
///
/// SLIC is k-means in a five-dimensional space: the pixel's CIELAB colour
/// and its position. Centres start on a regular grid; each iteration assigns
/// every pixel within two grid steps of a centre to the centre minimising
///
/// `D = (dy² + dx²) / S² + ‖lab − lab_centre‖² / compactness²`
///
/// (`S` the grid step), then moves centres to the mean of their pixels.
/// A final pass makes every segment 4-connected, merging fragments smaller
/// than `min_size_factor · H·W/centres` into a neighbour and cutting
/// segments larger than `max_size_factor · H·W/centres`.
///
/// # Compactness
/// `compactness` trades colour against space. Large values (≥ 20) give
/// square, grid-like cells that ignore tissue boundaries; small values follow
/// colour edges closely but produce irregular cells. The paper's choice for
/// histopathology, and this crate's default, is `5` (scikit-image's default
/// is 10).
///
/// # Why the actual count differs from the desired one
/// `desired` only sets the initial grid (`round(√(H·W/desired))` pixels
/// apart). On tissue with large uniform regions and a low compactness,
/// neighbouring centres converge onto the same colour region, and the
/// connectivity pass then merges their fragments; with `compactness = 5` on
/// a 512×512 IHC image, 100 requested segments give about 22. The
/// multi-scale combiners therefore weigh levels by the *actual* count `s'`
/// ([`Segmentation::count`]).
///
/// # Parameters
/// | Name | Default | Range | Purpose |
/// |---|---|---|---|
/// | `compactness` | 5.0 | finite, > 0 | colour vs. space balance |
/// | `sigma` | 0.0 | 0 ≤ σ ≤ 1000 | Gaussian pre-smoothing (pixels) |
/// | `max_iter` | 10 | ≥ 1 | k-means iterations (all are run) |
/// | `enforce_connectivity` | true | | 4-connected segments |
/// | `min_size_factor` | 0.5 | finite, ≥ 0 | merge fragments below this share of the mean size |
/// | `max_size_factor` | 3.0 | finite, > 0, ≥ min | cut segments above this share |
/// | `parallel` | true | | rayon over row bands (identical labels) |
///
/// # Departures from scikit-image
/// - A pixel that no centre's window reaches in an iteration keeps its
///   previous label (as in scikit-image); at the first iteration that is the
///   nearest grid centre, where scikit-image would leave −1. This needs
///   degenerate geometry and does not occur on the reference images.
/// - With connectivity off, labels are compacted to `0..count` (scikit-image
///   leaves gaps where centres emptied).
///
/// # Example
/// ```
/// use multiscale_lime::{Image, Segmenter, Slic};
/// use ndarray::Array3;
///
/// // Left half dark, right half light: SLIC follows the edge.
/// let img = Array3::from_shape_fn((16, 16, 3), |(_, x, _)| if x < 8 { 0.1 } else { 0.9 });
/// let img = Image::new(img)?;
/// let slic = Slic::builder().compactness(5.0).build()?;
/// let seg = slic.segment(&img, 4)?;
/// assert!(seg.count() >= 2);
/// let l = seg.labels();
/// assert!((0..16).all(|y| l[[y, 7]] != l[[y, 8]]));
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slic {
    compactness: f64,
    sigma: f64,
    max_iter: usize,
    enforce_connectivity: bool,
    min_size_factor: f64,
    max_size_factor: f64,
    parallel: bool,
}

impl Default for Slic {
    fn default() -> Self {
        Slic {
            compactness: 5.0,
            sigma: 0.0,
            max_iter: 10,
            enforce_connectivity: true,
            min_size_factor: 0.5,
            max_size_factor: 3.0,
            parallel: true,
        }
    }
}

/// Unvalidated [`Slic`] parameters; [`SlicBuilder::build`] checks them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SlicBuilder(Slic);

impl SlicBuilder {
    /// Colour-versus-space balance (default 5).
    pub fn compactness(mut self, compactness: f64) -> Self {
        self.0.compactness = compactness;
        self
    }
    /// Width of the Gaussian pre-smoothing in pixels (at most 1000); 0
    /// disables it (default).
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.0.sigma = sigma;
        self
    }
    /// Number of k-means iterations (default 10).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.0.max_iter = max_iter;
        self
    }
    /// Whether to make every segment 4-connected (default true).
    pub fn enforce_connectivity(mut self, on: bool) -> Self {
        self.0.enforce_connectivity = on;
        self
    }
    /// Fragments smaller than this share of the mean segment size are merged (default 0.5).
    pub fn min_size_factor(mut self, factor: f64) -> Self {
        self.0.min_size_factor = factor;
        self
    }
    /// Segments are cut at this share of the mean segment size (default 3).
    pub fn max_size_factor(mut self, factor: f64) -> Self {
        self.0.max_size_factor = factor;
        self
    }
    /// Use rayon for the assignment step (default true); labels are identical either way.
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.0.parallel = parallel;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first parameter out of range
    /// (see the table on [`Slic`]).
    pub fn build(self) -> Result<Slic> {
        let s = self.0;
        if !(s.compactness.is_finite() && s.compactness > 0.0) {
            return Err(Error::invalid(
                "compactness",
                s.compactness,
                "a finite value > 0",
            ));
        }
        if !(s.sigma.is_finite() && s.sigma >= 0.0 && s.sigma <= MAX_SIGMA) {
            return Err(Error::invalid(
                "sigma",
                s.sigma,
                "a value ≥ 0 and ≤ 1000 pixels",
            ));
        }
        if s.max_iter == 0 {
            return Err(Error::invalid("max_iter", s.max_iter, "at least 1"));
        }
        if !(s.min_size_factor.is_finite() && s.min_size_factor >= 0.0) {
            return Err(Error::invalid(
                "min_size_factor",
                s.min_size_factor,
                "a finite value ≥ 0",
            ));
        }
        if !(s.max_size_factor.is_finite()
            && s.max_size_factor > 0.0
            && s.max_size_factor >= s.min_size_factor)
        {
            return Err(Error::invalid(
                "max_size_factor",
                s.max_size_factor,
                "a finite value > 0 and ≥ min_size_factor",
            ));
        }
        Ok(s)
    }
}

impl Slic {
    /// A builder with the defaults in the table on [`Slic`].
    pub fn builder() -> SlicBuilder {
        SlicBuilder::default()
    }

    /// Colour-versus-space balance.
    pub fn compactness(&self) -> f64 {
        self.compactness
    }
    /// Gaussian pre-smoothing width.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
    /// k-means iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Whether segments are made 4-connected.
    pub fn enforces_connectivity(&self) -> bool {
        self.enforce_connectivity
    }
    /// Minimum fragment size as a share of the mean segment size.
    pub fn min_size_factor(&self) -> f64 {
        self.min_size_factor
    }
    /// Maximum segment size as a share of the mean segment size.
    pub fn max_size_factor(&self) -> f64 {
        self.max_size_factor
    }
    /// Whether the assignment step runs on rayon.
    pub fn is_parallel(&self) -> bool {
        self.parallel
    }

    /// A copy with another compactness, validated.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `compactness` is not finite and > 0.
    pub fn with_compactness(self, compactness: f64) -> Result<Slic> {
        SlicBuilder(self).compactness(compactness).build()
    }
}

/// `skimage.util.regular_grid` for a `(1, H, W)` volume: per axis `(start, step)`.
fn regular_grid(shape: [usize; 3], n_points: usize) -> [(usize, usize); 3] {
    let space = shape.iter().map(|&s| s as f64).product::<f64>();
    if space <= n_points as f64 {
        return [(0, 1); 3];
    }
    let mut order = [0usize, 1, 2];
    order.sort_by_key(|&i| shape[i]); // stable, like numpy's argsort on 3 items
    let sorted = order.map(|i| shape[i] as f64);
    let n = n_points as f64;
    let mut steps = [(space / n).powf(1.0 / 3.0); 3];
    if (0..3).any(|i| sorted[i] < steps[i]) {
        for dim in 0..3 {
            steps[dim] = sorted[dim];
            let rest: f64 = sorted[dim + 1..].iter().product();
            if dim + 1 < 3 {
                let s = (rest / n).powf(1.0 / (3 - dim - 1) as f64);
                for step in &mut steps[dim + 1..] {
                    *step = s;
                }
            }
            if (0..3).all(|i| sorted[i] >= steps[i]) {
                break;
            }
        }
    }
    let mut out = [(0usize, 1usize); 3];
    for (pos, &axis) in order.iter().enumerate() {
        out[axis] = (
            (steps[pos] / 2.0).floor() as usize,
            steps[pos].round_ties_even() as usize,
        );
    }
    out
}

struct Centre {
    y: f64,
    x: f64,
    colour: [f64; 3],
    alive: bool,
    /// How far the last update moved it, in the distance's metric (√D).
    moved: f64,
}

impl Segmenter for Slic {
    /// # Errors
    /// [`Error::SegmentCount`] when `desired` is 0 or exceeds the pixel count.
    fn segment(&self, image: &Image, desired: usize) -> Result<Segmentation> {
        check_desired(image, desired)?;
        let features = slic_features(image, self.sigma, self.compactness);
        self.cluster(image, &features, desired)
    }

    /// Converts the image's colours once for all counts (the features do
    /// not depend on the count), then clusters each count, in parallel when
    /// [`is_parallel`](Slic::is_parallel). The same labels as
    /// [`segment`](Segmenter::segment) per count.
    fn segment_levels(&self, image: &Image, desired: &[usize]) -> Vec<Result<Segmentation>> {
        if !desired.iter().any(|&d| check_desired(image, d).is_ok()) {
            // Nothing to cluster: each count's own error, without the conversion.
            return desired.iter().map(|&d| self.segment(image, d)).collect();
        }
        let features = slic_features(image, self.sigma, self.compactness);
        let one = |&d: &usize| {
            check_desired(image, d)?;
            self.cluster(image, &features, d)
        };
        if self.parallel {
            desired.par_iter().map(one).collect()
        } else {
            desired.iter().map(one).collect()
        }
    }
}

impl Slic {
    /// Clusters `features` (of `image`) into about `desired` superpixels.
    fn cluster(&self, image: &Image, features: &LabPlanes, desired: usize) -> Result<Segmentation> {
        let (h, w) = (image.height(), image.width());

        let grid = regular_grid([1, h, w], desired);
        let (ys, xs) = (grid[1], grid[2]);
        let mut centres: Vec<Centre> = (ys.0..h)
            .step_by(ys.1)
            .flat_map(|y| {
                (xs.0..w).step_by(xs.1).map(move |x| Centre {
                    y: y as f64,
                    x: x as f64,
                    colour: [0.0; 3],
                    alive: true,
                    moved: 0.0,
                })
            })
            .collect();
        let n_centres = centres.len();
        let step = grid.iter().map(|g| g.1).max().unwrap_or(1) as f64;
        let spatial_weight = 1.0 / (step * step);
        let window = regular_grid([1, h, w], n_centres);
        let (wy, wx) = ((2 * window[1].1) as f64, (2 * window[2].1) as f64);

        let ctx = Clustering {
            planes: &features.planes,
            boxes: colour_boxes(&features.planes, h, w),
            h,
            w,
            spatial_weight,
            reach: (wy, wx),
        };
        // Every band fills its distances before assigning.
        let mut distance = vec![0.0f64; h * w];
        let blocks_per_row = w.div_ceil(BLOCK);
        // Per row and block: the pruning limit of an iteration (an upper
        // bound on every pixel's winning distance); the band work leaves
        // the block's largest winning distance there for the next one.
        let mut limit = vec![f64::INFINITY; h * blocks_per_row];
        let mut block_move = vec![0.0f64; h * blocks_per_row];
        let mut runs: Vec<LabelRun> = Vec::new();
        let ny = (ys.0..h).step_by(ys.1).count();
        let nx = n_centres / ny.max(1);
        let nearest = |p: usize, (start, step): (usize, usize), n: usize| {
            ((p as f64 - start as f64) / step as f64)
                .round()
                .clamp(0.0, (n - 1) as f64) as usize
        };
        // The nearest grid column of every x, found once, not per pixel.
        let grid_columns: Vec<usize> = (0..w).map(|x| nearest(x, xs, nx)).collect();
        // Labels start at the nearest grid centre (what a pixel no window
        // reaches keeps) and are held as f64, exact small integers, so the
        // scan updates them with the same vector arithmetic as distances.
        let mut labels: Vec<f64> = (0..h)
            .flat_map(|y| {
                let first = nearest(y, ys, ny) * nx;
                grid_columns
                    .iter()
                    .map(move |&column| (first + column) as f64)
            })
            .collect();
        for iteration in 0..self.max_iter {
            if iteration > 0 {
                // The last iteration's centres never move: its labels are final.
                update_centres(
                    &mut centres,
                    &labels,
                    &features.planes,
                    w,
                    spatial_weight,
                    &mut runs,
                );
            }
            let windows: Vec<Window> = centres.iter().map(|c| ctx.window(c)).collect();
            if iteration > 0 {
                carry_limits(
                    &centres,
                    &windows,
                    &runs,
                    &mut limit,
                    &mut block_move,
                    blocks_per_row,
                );
            }
            let band = BAND_ROWS * w;
            let work = |(b, ((lab, dist), limit)): BandSlices<'_>| {
                let y0 = b * BAND_ROWS;
                ctx.band(
                    &centres,
                    &windows,
                    Band {
                        y0,
                        lab,
                        dist,
                        limit,
                    },
                );
            };
            if self.parallel {
                labels
                    .par_chunks_mut(band)
                    .zip(distance.par_chunks_mut(band))
                    .zip(limit.par_chunks_mut(BAND_ROWS * blocks_per_row))
                    .enumerate()
                    .for_each(work);
            } else {
                labels
                    .chunks_mut(band)
                    .zip(distance.chunks_mut(band))
                    .zip(limit.chunks_mut(BAND_ROWS * blocks_per_row))
                    .enumerate()
                    .for_each(work);
            }
        }

        let labels: Vec<u32> = labels.into_iter().map(|l| l as u32).collect();
        let (labels, count) = if self.enforce_connectivity {
            let segment_size = (h * w) as f64 / n_centres as f64;
            let min_size = (self.min_size_factor * segment_size) as usize;
            let max_size = (self.max_size_factor * segment_size) as usize;
            enforce_connectivity(&labels, h, w, min_size, max_size)
        } else {
            compact(labels, n_centres)
        };
        let labels = ndarray::Array2::from_shape_vec((h, w), labels).map_err(|e| {
            Error::InvalidSegmentation {
                reason: e.to_string(),
            }
        })?;
        debug_assert!(Segmentation::new(labels.clone()).is_ok());
        Ok(Segmentation::from_trusted(labels, count))
    }
}

/// Rows (or columns) `[trunc(max(c − r, 0)), trunc(min(c + r + 1, n)))`, as
/// the Cython code computes its windows.
fn window_range(c: f64, r: f64, n: usize) -> (usize, usize) {
    let lo = (c - r).max(0.0) as usize;
    let hi = (c + r + 1.0).min(n as f64) as usize;
    (lo, hi)
}

/// One band's labels, distances and block limits, with its index.
type BandSlices<'a> = (usize, ((&'a mut [f64], &'a mut [f64]), &'a mut [f64]));

/// One band of rows from `y0`: labels, distances and block limits.
struct Band<'a> {
    y0: usize,
    lab: &'a mut [f64],
    dist: &'a mut [f64],
    /// In: each block's pruning limit. Out: its largest winning distance.
    limit: &'a mut [f64],
}

/// Pixels per block along a row: the unit of pruning. 128 costs fewer
/// instructions than 32 or 64 on tissue and on slide background alike
/// (per-block bounds and short scans cost more than finer pruning saves).
const BLOCK: usize = 128;

/// What the assignment step reads: features, their per-block colour boxes
/// and the geometry of the centre windows.
struct Clustering<'a> {
    planes: &'a [Vec<f64>; 3],
    /// Per row and block of `BLOCK` pixels: min and max of each channel.
    boxes: Vec<[f64; 6]>,
    h: usize,
    w: usize,
    spatial_weight: f64,
    /// Window half-widths `2·step` along y and x.
    reach: (f64, f64),
}

/// Per row and block, the bounding box of the pixels' colours.
fn colour_boxes(planes: &[Vec<f64>; 3], h: usize, w: usize) -> Vec<[f64; 6]> {
    let mut boxes = Vec::with_capacity(h * w.div_ceil(BLOCK));
    for y in 0..h {
        for x0 in (0..w).step_by(BLOCK) {
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for x in x0..(x0 + BLOCK).min(w) {
                for c in 0..3 {
                    let v = planes[c][y * w + x];
                    b[c] = b[c].min(v);
                    b[c + 3] = b[c + 3].max(v);
                }
            }
            boxes.push(b);
        }
    }
    boxes
}

impl Clustering<'_> {
    fn window(&self, c: &Centre) -> Window {
        let (y0, y1) = window_range(c.y, self.reach.0, self.h);
        let (x0, x1) = window_range(c.x, self.reach.1, self.w);
        Window { y0, y1, x0, x1 }
    }

    /// Assigns one band, with AVX2 when the CPU has it.
    fn band(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above). The feature
            // only widens the vectors; Rust never fuses a·b + c into an FMA,
            // so every distance is bit-identical to the portable path.
            return unsafe { self.band_avx2(centres, windows, band) };
        }
        self.band_portable(centres, windows, band);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn band_avx2(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        self.band_portable(centres, windows, band);
    }

    #[inline(always)]
    fn band_portable(&self, centres: &[Centre], windows: &[Window], band: Band<'_>) {
        let Band {
            y0,
            lab,
            dist,
            limit,
        } = band;
        dist.fill(f64::INFINITY);
        self.assign_band(centres, windows, y0, lab, dist, limit);
        for (row, maxes) in dist
            .chunks(self.w)
            .zip(limit.chunks_mut(self.w.div_ceil(BLOCK)))
        {
            for (block, m) in row.chunks(BLOCK).zip(maxes.iter_mut()) {
                *m = block.iter().fold(0.0, |m, &d| if d > m { d } else { m });
            }
        }
    }

    /// Gives each pixel the centre with the smallest (distance, index) among
    /// those whose window holds it: the same winner as scikit-image's
    /// "first strictly smaller" scan in index order. A centre skips a block
    /// when a lower bound on its distance to the block's pixels (spatial
    /// distance to the block plus colour distance to its colour box,
    /// computed with monotone roundings) exceeds the block's limit, an upper
    /// bound on each pixel's winning distance: such a centre can neither win
    /// nor tie, so skipping is exact.
    #[inline(always)]
    fn assign_band(
        &self,
        centres: &[Centre],
        windows: &[Window],
        y0: usize,
        lab: &mut [f64],
        dist: &mut [f64],
        limit: &[f64],
    ) {
        let w = self.w;
        let rows = lab.len() / w;
        let blocks_per_row = w.div_ceil(BLOCK);
        let mut dxx: Vec<f64> = Vec::new();
        for ((k, c), win) in centres
            .iter()
            .enumerate()
            .zip(windows)
            .filter(|((_, c), _)| c.alive)
        {
            let k = k as f64;
            let (ymin, ymax) = (win.y0.max(y0), win.y1.min(y0 + rows));
            if ymin >= ymax {
                continue;
            }
            let (xmin, xmax) = (win.x0, win.x1);
            dxx.clear();
            dxx.extend((xmin..xmax).map(|x| {
                let dx = c.x - x as f64;
                dx * dx
            }));
            for y in ymin..ymax {
                let dy = c.y - y as f64;
                let dyy = dy * dy;
                let local = (y - y0) * w;
                for bx in xmin / BLOCK..xmax.div_ceil(BLOCK) {
                    let (xs, xe) = ((bx * BLOCK).max(xmin), ((bx + 1) * BLOCK).min(xmax));
                    let b = &self.boxes[y * blocks_per_row + bx];
                    let near_x = c.x.clamp(xs as f64, (xe - 1) as f64);
                    let dx = c.x - near_x;
                    let mut bound = (dyy + dx * dx) * self.spatial_weight;
                    let mut colour = 0.0;
                    for ch in 0..3 {
                        // Plain comparisons: nothing here is NaN, and
                        // f64::max's NaN handling costs instructions.
                        let (below, above) = (b[ch] - c.colour[ch], c.colour[ch] - b[ch + 3]);
                        let e = if below > above { below } else { above };
                        let e = if e > 0.0 { e } else { 0.0 };
                        colour += e * e;
                    }
                    bound += colour;
                    if bound > limit[(y - y0) * blocks_per_row + bx] {
                        continue;
                    }
                    let row = y * w;
                    scan(
                        [
                            &self.planes[0][row + xs..row + xe],
                            &self.planes[1][row + xs..row + xe],
                            &self.planes[2][row + xs..row + xe],
                        ],
                        &dxx[xs - xmin..xe - xmin],
                        &mut dist[local + xs..local + xe],
                        &mut lab[local + xs..local + xe],
                        Scan {
                            dyy,
                            spatial_weight: self.spatial_weight,
                            colour: c.colour,
                            label: k,
                        },
                    );
                }
            }
        }
    }
}

/// A centre's search window: rows `y0..y1`, columns `x0..x1`.
#[derive(Debug, Clone, Copy)]
struct Window {
    y0: usize,
    y1: usize,
    x0: usize,
    x1: usize,
}

#[derive(Clone, Copy)]
struct Scan {
    dyy: f64,
    spatial_weight: f64,
    colour: [f64; 3],
    label: f64,
}

/// The hot loop: branch-free (distance, index) minimum over one run of pixels.
#[inline(always)]
fn scan(planes: [&[f64]; 3], dxx: &[f64], dist: &mut [f64], lab: &mut [f64], s: Scan) {
    let n = dist.len();
    let (l, a, b, dxx, lab) = (
        &planes[0][..n],
        &planes[1][..n],
        &planes[2][..n],
        &dxx[..n],
        &mut lab[..n],
    );
    if n < 4 {
        (0..n).for_each(|i| scan_pixel(l[i], a[i], b[i], dxx[i], &mut dist[i], &mut lab[i], &s));
        return;
    }
    // Four pixels at a time; the last four overlap the ones before when `n`
    // is not a multiple of 4. Scanning a pixel twice with one centre
    // changes nothing (the second distance equals the first, and only a
    // strictly smaller one wins), so no scalar tail is needed.
    let mut i = 0;
    while i < n {
        let at = i.min(n - 4);
        let quad = at..at + 4;
        let (l, a, b, dxx) = (
            &l[quad.clone()],
            &a[quad.clone()],
            &b[quad.clone()],
            &dxx[quad.clone()],
        );
        let (dist, lab) = (&mut dist[quad.clone()], &mut lab[quad]);
        for j in 0..4 {
            scan_pixel(l[j], a[j], b[j], dxx[j], &mut dist[j], &mut lab[j], &s);
        }
        i += 4;
    }
}

#[inline(always)]
fn scan_pixel(l: f64, a: f64, b: f64, dxx: f64, dist: &mut f64, lab: &mut f64, s: &Scan) {
    let mut d = (s.dyy + dxx) * s.spatial_weight;
    let t0 = l - s.colour[0];
    let t1 = a - s.colour[1];
    let t2 = b - s.colour[2];
    d += t0 * t0 + t1 * t1 + t2 * t2;
    // Centres come in index order, so a strict `<` keeps the lowest
    // index among ties, as scikit-image's scan does.
    // Arithmetic, not a select: a select compiles to a masked store,
    // which is slow on AMD. The step `label − lab` is kept or zeroed by
    // the comparison mask; exact, since labels are small integers.
    let mask = u64::from(d < *dist).wrapping_neg();
    *lab += f64::from_bits((s.label - *lab).to_bits() & mask);
    *dist = if d < *dist { d } else { *dist };
}

/// Moves each centre to the mean position and colour of its pixels, summing
/// in raster order as scikit-image does, and records how far it moved. A
/// centre left without pixels dies (scikit-image's becomes NaN and never
/// wins a pixel again). `runs` receives the label runs, row by row.
fn update_centres(
    centres: &mut [Centre],
    labels: &[f64],
    planes: &[Vec<f64>; 3],
    w: usize,
    spatial_weight: f64,
    runs: &mut Vec<LabelRun>,
) {
    let n = centres.len();
    // Counts and coordinate sums are integers, exact in any order; colour
    // sums are added pixel by pixel in raster order, as scikit-image does.
    let mut counts = vec![0u64; n];
    let mut sum_y = vec![0u64; n];
    let mut sum_x = vec![0u64; n];
    let mut colour = vec![[0.0f64; 3]; n];
    runs.clear();
    for (y, row) in labels.chunks(w).enumerate() {
        let mut x0 = 0;
        while x0 < w {
            let x1 = run_end(row, x0);
            let k = row[x0] as usize;
            runs.push(LabelRun { y, x0, x1, k });
            if k < n {
                let len = (x1 - x0) as u64;
                counts[k] += len;
                sum_y[k] += y as u64 * len;
                sum_x[k] += (x0 + x1 - 1) as u64 * len / 2;
                let span = y * w + x0..y * w + x1;
                let [l, a, b] = planes.each_ref().map(|plane| &plane[span.clone()]);
                // In registers for the run, not stored back per pixel.
                let [mut s0, mut s1, mut s2] = colour[k];
                for ((l, a), b) in l.iter().zip(a).zip(b) {
                    s0 += l;
                    s1 += a;
                    s2 += b;
                }
                colour[k] = [s0, s1, s2];
            }
            x0 = x1;
        }
    }
    for (k, c) in centres.iter_mut().enumerate() {
        if counts[k] == 0 {
            c.alive = false;
            continue;
        }
        let count = counts[k] as f64;
        let (y, x) = (sum_y[k] as f64 / count, sum_x[k] as f64 / count);
        let col = colour[k].map(|v| v / count);
        let (dy, dx) = (y - c.y, x - c.x);
        let dc = [0, 1, 2].map(|i| col[i] - c.colour[i]);
        c.moved =
            ((dy * dy + dx * dx) * spatial_weight + dc[0] * dc[0] + dc[1] * dc[1] + dc[2] * dc[2])
                .sqrt();
        (c.y, c.x, c.colour) = (y, x, col);
    }
}

/// The end of the run of equal labels that starts at `start`. Four labels
/// are compared at a time (branch-free), so a run costs one hard-to-predict
/// branch and a quarter of the easy ones.
#[inline]
fn run_end(row: &[f64], start: usize) -> usize {
    let l = row[start];
    let mut x = start + 1;
    while let Some(four) = row.get(x..x + 4) {
        let differs = u32::from(four[0] != l)
            | u32::from(four[1] != l) << 1
            | u32::from(four[2] != l) << 2
            | u32::from(four[3] != l) << 3;
        if differs != 0 {
            return x + differs.trailing_zeros() as usize;
        }
        x += 4;
    }
    x + row[x..].iter().take_while(|&&v| v == l).count()
}

/// Pixels `x0..x1` of row `y`, all labelled `k`.
struct LabelRun {
    y: usize,
    x0: usize,
    x1: usize,
    k: usize,
}

/// Turns each block's largest winning distance of the last iteration into
/// this iteration's limit. √D is a Euclidean distance (in position scaled by
/// √spatial_weight and in colour), so a pixel's distance to its last winner
/// grows by at most how far that centre moved: the limit is
/// `(√max + largest move in the block)²`, widened by far more than the few
/// ulps of relative rounding in any computed distance. A block where some
/// pixel's last winner no longer reaches it (the window moved away) gets no
/// limit: its winning distance is not bounded by that centre.
fn carry_limits(
    centres: &[Centre],
    windows: &[Window],
    runs: &[LabelRun],
    limit: &mut [f64],
    block_move: &mut [f64],
    blocks_per_row: usize,
) {
    block_move.fill(0.0);
    for run in runs {
        let reach = match (centres.get(run.k), windows.get(run.k)) {
            (Some(c), Some(win))
                if (win.y0..win.y1).contains(&run.y) && win.x0 <= run.x0 && run.x1 <= win.x1 =>
            {
                c.moved
            }
            _ => f64::INFINITY,
        };
        let row = run.y * blocks_per_row;
        for m in &mut block_move[row + run.x0 / BLOCK..=row + (run.x1 - 1) / BLOCK] {
            *m = m.max(reach);
        }
    }
    const WIDEN: f64 = 1.0 + 1e-12;
    for (l, &m) in limit.iter_mut().zip(block_move.iter()) {
        let r = (l.sqrt() + m) * WIDEN;
        // Infinite or NaN inputs (a pixel no window reached) leave no limit.
        *l = if r.is_finite() {
            r * r * WIDEN
        } else {
            f64::INFINITY
        };
    }
}

fn compact(labels: Vec<u32>, n: usize) -> (Vec<u32>, usize) {
    let mut map = vec![u32::MAX; n.max(1)];
    let mut used = vec![false; n.max(1)];
    for &l in &labels {
        used[l as usize] = true;
    }
    let mut next = 0u32;
    for (slot, &u) in map.iter_mut().zip(&used) {
        if u {
            *slot = next;
            next += 1;
        }
    }
    (
        labels.into_iter().map(|l| map[l as usize]).collect(),
        next as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vector_and_portable_assignment_agree_bit_for_bit() {
        // On a CPU with AVX2, `band` takes the AVX2 path: it must give the
        // portable path's labels and distances exactly.
        // Wider than two blocks, so rows hold several pruning blocks.
        let (h, w) = (40, 2 * BLOCK + 40);
        let cols = w / 8;
        let data = ndarray::Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
            ((y / 3 * 37 + x / 4 * 101 + c * 53) % 97) as f32 / 96.0
        });
        let image = Image::new(data).unwrap();
        let features = slic_features(&image, 0.0, 5.0);
        let ctx = Clustering {
            planes: &features.planes,
            boxes: colour_boxes(&features.planes, h, w),
            h,
            w,
            spatial_weight: 1.0 / 64.0,
            reach: (16.0, 16.0),
        };
        let centres: Vec<Centre> = (0..5)
            .flat_map(|i| (0..cols).map(move |j| (4 + 8 * i, 4 + 8 * j)))
            .map(|(y, x)| Centre {
                y: y as f64 + 0.3,
                x: x as f64 - 0.2,
                colour: [0, 1, 2].map(|c| features.planes[c][y * w + x]),
                alive: true,
                moved: 0.0,
            })
            .collect();
        let windows: Vec<Window> = centres.iter().map(|c| ctx.window(c)).collect();
        let start: Vec<f64> = (0..h * w)
            .map(|p| ((p / w / 8).min(4) * cols + (p % w / 8).min(cols - 1)) as f64)
            .collect();
        let run = |portable: bool| {
            let (mut lab, mut dist) = (start.clone(), vec![0.0; h * w]);
            // Tight, loose and no limits, so some blocks are skipped.
            let mut limit: Vec<f64> = (0..h * w.div_ceil(BLOCK))
                .map(|i| [0.5, 2.0, 8.0, f64::INFINITY][i % 4])
                .collect();
            let band = Band {
                y0: 0,
                lab: &mut lab,
                dist: &mut dist,
                limit: &mut limit,
            };
            if portable {
                ctx.band_portable(&centres, &windows, band);
            } else {
                ctx.band(&centres, &windows, band);
            }
            let bits = |v: &[f64]| v.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
            (lab, bits(&dist), bits(&limit))
        };
        let (vector, portable) = (run(false), run(true));
        assert_eq!(vector, portable);
        // The scan moved pixels away from their start, so it was exercised.
        assert!(vector.0.iter().zip(&start).any(|(a, b)| a != b));
    }

    /// scikit-image's `_slic_cython` loop written out literally, with none
    /// of the crate's shortcuts (no seeds, no pruning, no vectors, no runs):
    /// every live centre in index order scans its whole window, the first
    /// strictly smaller distance wins, and centres move to the raster-order
    /// mean of their pixels. Returns the compacted labels (connectivity off).
    fn literal_slic(
        features: &LabPlanes,
        h: usize,
        w: usize,
        desired: usize,
        iters: usize,
    ) -> Vec<u32> {
        let grid = regular_grid([1, h, w], desired);
        let (ys, xs) = (grid[1], grid[2]);
        // y, x, then the three colour channels (zero at the start, as in scikit-image).
        let mut centres: Vec<[f64; 5]> = (ys.0..h)
            .step_by(ys.1)
            .flat_map(|y| {
                (xs.0..w)
                    .step_by(xs.1)
                    .map(move |x| [y as f64, x as f64, 0.0, 0.0, 0.0])
            })
            .collect();
        let n = centres.len();
        let step = grid.iter().map(|g| g.1).max().unwrap() as f64;
        let sw = 1.0 / (step * step);
        let window = regular_grid([1, h, w], n);
        let (ry, rx) = ((2 * window[1].1) as f64, (2 * window[2].1) as f64);
        let ny = (ys.0..h).step_by(ys.1).count();
        let nx = n / ny;
        let nearest = |p: usize, (start, step): (usize, usize), count: usize| {
            ((p as f64 - start as f64) / step as f64)
                .round()
                .clamp(0.0, (count - 1) as f64) as usize
        };
        // The crate's documented start for pixels no window reaches.
        let mut labels: Vec<usize> = (0..h * w)
            .map(|p| nearest(p / w, ys, ny) * nx + nearest(p % w, xs, nx))
            .collect();
        let mut alive = vec![true; n];
        let f = &features.planes;
        for _ in 0..iters {
            let mut distance = vec![f64::INFINITY; h * w];
            for (k, c) in centres.iter().enumerate().filter(|(k, _)| alive[*k]) {
                let y0 = (c[0] - ry).max(0.0) as usize;
                let y1 = (c[0] + ry + 1.0).min(h as f64) as usize;
                let x0 = (c[1] - rx).max(0.0) as usize;
                let x1 = (c[1] + rx + 1.0).min(w as f64) as usize;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let p = y * w + x;
                        let (dy, dx) = (c[0] - y as f64, c[1] - x as f64);
                        let mut d = (dy * dy + dx * dx) * sw;
                        let mut colour = 0.0;
                        for ch in 0..3 {
                            let t = f[ch][p] - c[2 + ch];
                            colour += t * t;
                        }
                        d += colour;
                        if d < distance[p] {
                            distance[p] = d;
                            labels[p] = k;
                        }
                    }
                }
            }
            let mut sums = vec![[0.0f64; 6]; n];
            for (p, &k) in labels.iter().enumerate() {
                let s = &mut sums[k];
                s[0] += 1.0;
                s[1] += (p / w) as f64;
                s[2] += (p % w) as f64;
                for ch in 0..3 {
                    s[3 + ch] += f[ch][p];
                }
            }
            for (k, s) in sums.iter().enumerate() {
                if s[0] == 0.0 {
                    alive[k] = false;
                } else {
                    centres[k] = [1, 2, 3, 4, 5].map(|i| s[i] / s[0]);
                }
            }
        }
        compact(labels.into_iter().map(|l| l as u32).collect(), n).0
    }

    fn test_image(h: usize, w: usize, seed: u64, kind: u8) -> Image {
        let data = ndarray::Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
            let v = seed
                .wrapping_add((((y * 977 + x) * 3 + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .wrapping_mul(0xD6E8_FEB8_6659_FD93);
            match kind {
                0 => ((v >> 40) % 256) as f32 / 255.0,
                1 => 0.5,
                2 => [0.2, 0.8][(x / 5 + y / 3) % 2] + c as f32 * 0.05,
                _ => ((x * 7 + y * 3 + c * 11) % 64) as f32 / 63.0 * ((v >> 60) as f32 / 15.0),
            }
        });
        Image::new(data).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Seeding, block pruning, the AVX2 scan and the run-wise centre
        /// update give exactly the labels of the literal algorithm: noise,
        /// flat images (every distance tie is spatial), blocks and ramps;
        /// rows up to 300 pixels span several pruning blocks.
        #[test]
        fn same_labels_as_the_literal_algorithm(
            h in 1usize..40,
            w in prop_oneof![1usize..40, 100usize..300],
            seed in any::<u64>(),
            kind in 0u8..4,
            desired in 1usize..90,
            compactness in prop_oneof![0.2f64..2.0, 2.0f64..40.0],
            iters in 1usize..11,
            parallel in any::<bool>(),
        ) {
            prop_assume!(desired <= h * w);
            let image = test_image(h, w, seed, kind);
            let slic = Slic::builder()
                .compactness(compactness)
                .max_iter(iters)
                .enforce_connectivity(false)
                .parallel(parallel)
                .build()
                .unwrap();
            let ours = slic.segment(&image, desired).unwrap();
            let features = slic_features(&image, 0.0, compactness);
            let literal = literal_slic(&features, h, w, desired, iters);
            prop_assert_eq!(ours.as_slice(), &literal[..]);
        }
    }

    #[test]
    fn regular_grid_matches_skimage() {
        // skimage.util.regular_grid((1, 96, 96), 100) -> steps (1, 10, 10), starts (0, 4, 4)
        assert_eq!(regular_grid([1, 96, 96], 100), [(0, 1), (4, 10), (4, 10)]);
        // regular_grid((1, 96, 96), 25) -> slice(9, None, 19)
        assert_eq!(regular_grid([1, 96, 96], 25)[1], (9, 19));
        // regular_grid((3, 20, 40), 8) -> (slice(1,None,3), slice(5,None,10), slice(5,None,10))
        assert_eq!(regular_grid([3, 20, 40], 8), [(1, 3), (5, 10), (5, 10)]);
        // A space no larger than the request: every voxel is a centre.
        assert_eq!(regular_grid([1, 2, 2], 4), [(0, 1); 3]);
        // Thin images take the sorted-dimension branch.
        assert_eq!(regular_grid([1, 5, 300], 7), [(0, 1), (2, 5), (21, 43)]);
        assert_eq!(regular_grid([1, 3, 50], 20), [(0, 1), (1, 3), (1, 3)]);
        assert_eq!(regular_grid([1, 512, 512], 400)[2], (12, 26));
    }

    #[test]
    fn builder_rejects_bad_values() {
        assert!(Slic::builder().compactness(0.0).build().is_err());
        assert!(Slic::builder().compactness(f64::NAN).build().is_err());
        assert!(Slic::builder().sigma(-1.0).build().is_err());
        // A huge σ would be a huge kernel allocation.
        assert!(Slic::builder().sigma(1e18).build().is_err());
        assert!(Slic::builder().sigma(1000.0).build().is_ok());
        assert!(Slic::builder().max_iter(0).build().is_err());
        assert!(Slic::builder().min_size_factor(-0.1).build().is_err());
        assert!(Slic::builder().min_size_factor(4.0).build().is_err());
        assert!(Slic::builder()
            .max_size_factor(f64::INFINITY)
            .build()
            .is_err());
        assert!(Slic::builder().build().is_ok());
    }
}
