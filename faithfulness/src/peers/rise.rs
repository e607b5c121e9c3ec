//! RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko,
//! BMVC 2018).
//!
//! Each of `N` masks is an `s × s` grid of cells, each on with probability
//! `p`, upsampled bilinearly to `(s + 1)·⌈H/s⌉ × (s + 1)·⌈W/s⌉` and cropped
//! to `H × W` at a random shift `dy ∈ [0, ⌈H/s⌉)`, `dx ∈ [0, ⌈W/s⌉)`. The
//! model scores `m ⊙ x + (1 − m) ⊙ b` (`b` the baseline image) and the
//! saliency is `S = 1/(N·p) · Σᵢ f_c(xᵢ) mᵢ`.
//!
//! The upsampling is the reference code's (`skimage.transform.resize`,
//! order 1, mode `reflect`): pixel centres aligned, source coordinate
//! `(o + ½)·s/up − ½`, mirrored at the grid's edges. The cell size is
//! `⌈H/s⌉` as in that code (the paper writes `⌊H/s⌋`; on 96 × 96 patches
//! at `s = 8` both are 12).

use multiscale_lime::ndarray::{Array2, Array3};
use multiscale_lime::{Classifier, Error, Heatmap, Image, Result};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{check_baseline, check_class, invalid, render_batch, score_batch, CHUNK};

/// The ChaCha stream of RISE's draws (KernelSHAP uses another).
const STREAM: u64 = 1;

/// RISE's settings: the number of masks `N`, the grid side `s` and the
/// probability `p` that a cell is on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rise {
    masks: usize,
    grid: usize,
    p: f64,
}

/// One mask's random draws: its grid cells (row-major) and its shift.
struct Draw {
    cells: Vec<bool>,
    dy: usize,
    dx: usize,
}

/// One axis of the upsampling: for each upsampled coordinate, the two grid
/// indices it interpolates between and the weight of the second.
struct Axis1 {
    taps: Vec<(usize, usize, f64)>,
    cell: usize,
}

impl Axis1 {
    /// The axis of an image side `len` cut into `grid` cells.
    fn new(len: usize, grid: usize) -> Self {
        let cell = len.div_ceil(grid);
        let up = (grid + 1) * cell;
        let scale = grid as f64 / up as f64;
        let taps = (0..up)
            .map(|o| {
                let src = (o as f64 + 0.5) * scale - 0.5;
                let lo = src.floor();
                let i = lo as i64;
                (mirror(i, grid), mirror(i + 1, grid), src - lo)
            })
            .collect();
        Axis1 { taps, cell }
    }
}

/// scipy's `mirror` boundary (skimage's `reflect`): `d c b | a b c d | c b a`.
fn mirror(i: i64, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as i64 - 1);
    let m = i.rem_euclid(period);
    if m < n as i64 {
        m as usize
    } else {
        (period - m) as usize
    }
}

impl Rise {
    /// The reference grid side `s` (on 96 × 96 patches: 12-pixel cells).
    pub const GRID: usize = 8;
    /// The paper's probability that a cell is on.
    pub const P: f64 = 0.5;

    /// `masks` masks of a `grid × grid` grid, cells on with probability `p`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `masks` or `grid` is 0 or `p` is not
    /// in `(0, 1)`.
    pub fn new(masks: usize, grid: usize, p: f64) -> Result<Self> {
        if masks == 0 {
            return Err(invalid("masks", masks, "at least 1"));
        }
        if grid == 0 {
            return Err(invalid("grid", grid, "at least 1"));
        }
        if !(p > 0.0 && p < 1.0) {
            return Err(invalid("p", p, "a probability in (0, 1)"));
        }
        Ok(Rise { masks, grid, p })
    }

    /// `masks` masks at the published defaults ([`Rise::GRID`], [`Rise::P`]).
    ///
    /// # Errors
    /// As [`Rise::new`].
    pub fn with_masks(masks: usize) -> Result<Self> {
        Rise::new(masks, Rise::GRID, Rise::P)
    }

    /// The number of masks `N` (the model calls).
    pub fn masks(&self) -> usize {
        self.masks
    }

    /// The grid side `s`.
    pub fn grid(&self) -> usize {
        self.grid
    }

    /// The probability `p` that a cell is on.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The grid must fit the image (one pixel per cell at least).
    fn check_size(&self, height: usize, width: usize) -> Result<()> {
        if height == 0 || width == 0 || self.grid > height.min(width) {
            return Err(invalid(
                "grid",
                self.grid,
                "at most the image's shorter side",
            ));
        }
        Ok(())
    }

    /// Every mask's draws from `seed`, mask by mask.
    fn draws(&self, axes: &(Axis1, Axis1), seed: u64) -> Vec<Draw> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(STREAM);
        (0..self.masks)
            .map(|_| Draw {
                cells: (0..self.grid * self.grid)
                    .map(|_| rng.random::<f64>() < self.p)
                    .collect(),
                dy: rng.random_range(0..axes.0.cell),
                dx: rng.random_range(0..axes.1.cell),
            })
            .collect()
    }

    /// One mask, `H·W` values in `[0, 1]`, row-major.
    fn mask(&self, axes: &(Axis1, Axis1), draw: &Draw, (h, w): (usize, usize)) -> Vec<f32> {
        let s = self.grid;
        let on = |r: usize, c: usize| f64::from(u8::from(draw.cells[r * s + c]));
        // Columns first (s rows × W), then rows: bilinear is separable.
        let mut across = vec![0.0f64; s * w];
        for r in 0..s {
            for x in 0..w {
                let (c0, c1, t) = axes.1.taps[x + draw.dx];
                across[r * w + x] = (1.0 - t) * on(r, c0) + t * on(r, c1);
            }
        }
        let mut out = Vec::with_capacity(h * w);
        for y in 0..h {
            let (r0, r1, t) = axes.0.taps[y + draw.dy];
            for x in 0..w {
                let v = (1.0 - t) * across[r0 * w + x] + t * across[r1 * w + x];
                out.push(v as f32);
            }
        }
        out
    }

    /// The `N` masks for an `height × width` image under `seed`
    /// (`N × H × W`, values in `[0, 1]`): the masks [`Rise::explain`] uses.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the grid is larger than the image's
    /// shorter side.
    pub fn generate_masks(&self, height: usize, width: usize, seed: u64) -> Result<Array3<f32>> {
        self.check_size(height, width)?;
        let axes = (Axis1::new(height, self.grid), Axis1::new(width, self.grid));
        let draws = self.draws(&axes, seed);
        let flat: Vec<f32> = draws
            .par_iter()
            .flat_map_iter(|d| self.mask(&axes, d, (height, width)))
            .collect();
        Array3::from_shape_vec((self.masks, height, width), flat).map_err(|e| {
            Error::InconsistentInput {
                context: "rise masks",
                reason: e.to_string(),
            }
        })
    }

    /// RISE's saliency of `class` on `image`, hidden pixels showing
    /// `baseline`, masks drawn from `seed`.
    ///
    /// # Errors
    /// A grid larger than the image, a baseline of another size, a class
    /// the model does not have, or a failing model.
    pub fn explain<C: Classifier + ?Sized>(
        &self,
        image: &Image,
        model: &C,
        class: usize,
        baseline: &Image,
        seed: u64,
    ) -> Result<Heatmap> {
        let (h, w) = (image.height(), image.width());
        self.check_size(h, w)?;
        check_baseline(image, baseline)?;
        check_class(model, class)?;
        let axes = (Axis1::new(h, self.grid), Axis1::new(w, self.grid));
        let draws = self.draws(&axes, seed);
        let (x, b) = (image.as_slice(), baseline.as_slice());
        let mut saliency = vec![0.0f64; h * w];
        for chunk in draws.chunks(CHUNK) {
            let masks: Vec<Vec<f32>> = chunk
                .par_iter()
                .map(|d| self.mask(&axes, d, (h, w)))
                .collect();
            let batch = render_batch(chunk.len(), (h, w), |i, pixels| {
                for (p, &m) in masks[i].iter().enumerate() {
                    for c in 0..3 {
                        let k = 3 * p + c;
                        pixels[k] = m * x[k] + (1.0 - m) * b[k];
                    }
                }
            });
            let scores = score_batch(model, class, batch.view())?;
            // Summed in mask order, whatever the thread count.
            for (mask, f) in masks.iter().zip(scores) {
                for (s, &m) in saliency.iter_mut().zip(mask) {
                    *s += f * f64::from(m);
                }
            }
        }
        let norm = 1.0 / (self.masks as f64 * self.p);
        let values = Array2::from_shape_vec(
            (h, w),
            saliency.into_iter().map(|s| (s * norm) as f32).collect(),
        )
        .map_err(|e| Error::InconsistentInput {
            context: "rise",
            reason: e.to_string(),
        })?;
        Ok(Heatmap::new(values))
    }
}
