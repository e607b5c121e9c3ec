//! Occlusion (Zeiler & Fergus, ECCV 2014), as captum's `Occlusion`
//! computes it: a square `w × w` window (all three channels) is slid over
//! the image; at each position the window shows the baseline, and each
//! pixel's attribution is the mean over the windows covering it of
//! `f_c(x) − f_c(x with the window hidden)` (captum divides the summed
//! differences by the number of windows covering the pixel).
//!
//! The number of windows follows the budget: `k = ⌊√budget⌋` positions
//! per side (at most one per pixel of travel), at
//! `round(i·(H − w)/(k − 1))`, `i = 0..k` (halves rounded up), so the
//! first window touches one edge and the last the other. Occlusion draws
//! nothing: it takes no seed.

use multiscale_lime::ndarray::Array2;
use multiscale_lime::{Classifier, Error, Heatmap, Image, Result};

use super::{check_baseline, check_class, invalid, score_all, score_image};

/// Occlusion's window side and budget of model calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occlusion {
    window: usize,
    budget: usize,
}

impl Occlusion {
    /// The default window side: one RISE cell at `s = 8` on 96 × 96 patches.
    pub const WINDOW: usize = 12;

    /// A `window × window` occlusion with at most `budget` windows.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `window` or `budget` is 0.
    pub fn new(window: usize, budget: usize) -> Result<Self> {
        if window == 0 {
            return Err(invalid("window", window, "at least 1 pixel"));
        }
        if budget == 0 {
            return Err(invalid("budget", budget, "at least 1"));
        }
        Ok(Occlusion { window, budget })
    }

    /// The window side.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The window's offsets along a side of `len` pixels: `⌊√budget⌋` of
    /// them (fewer when the window cannot move that often), the first 0,
    /// the last `len − w`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the window is longer than the side,
    /// or when the budget allows one position where the window must move
    /// (`budget < 4`).
    pub fn positions(&self, len: usize) -> Result<Vec<usize>> {
        let w = self.window;
        if w > len {
            return Err(invalid("window", w, "at most the image's shorter side"));
        }
        let travel = len - w;
        let k = self.budget.isqrt().min(travel + 1);
        if travel == 0 {
            return Ok(vec![0]);
        }
        if k < 2 {
            return Err(invalid(
                "budget",
                self.budget,
                "at least 4 (two window positions per side, one at each edge)",
            ));
        }
        let steps = k - 1;
        // Integer rounding, halves up: (2·i·travel + steps) / (2·steps).
        Ok((0..k)
            .map(|i| (2 * i * travel + steps) / (2 * steps))
            .collect())
    }

    /// Every window's top-left corner `(y, x)`, row by row: the model calls
    /// of [`Occlusion::explain`].
    ///
    /// # Errors
    /// As [`Occlusion::positions`].
    pub fn windows(&self, height: usize, width: usize) -> Result<Vec<(usize, usize)>> {
        let ys = self.positions(height)?;
        let xs = self.positions(width)?;
        Ok(ys
            .iter()
            .flat_map(|&y| xs.iter().map(move |&x| (y, x)))
            .collect())
    }

    /// The occlusion map of `class` on `image`, hidden windows showing
    /// `baseline`.
    ///
    /// # Errors
    /// As [`Occlusion::positions`], a baseline of another size, a class the
    /// model does not have, or a failing model.
    pub fn explain<C: Classifier + ?Sized>(
        &self,
        image: &Image,
        model: &C,
        class: usize,
        baseline: &Image,
    ) -> Result<Heatmap> {
        let (h, w) = (image.height(), image.width());
        let windows = self.windows(h, w)?;
        check_baseline(image, baseline)?;
        check_class(model, class)?;
        let full = score_image(model, class, image)?;
        let (x, b) = (image.as_slice(), baseline.as_slice());
        let side = self.window;
        let scores = score_all(model, class, windows.len(), (h, w), |i, pixels| {
            pixels.copy_from_slice(x);
            let (y0, x0) = windows[i];
            for y in y0..y0 + side {
                let row = 3 * (y * w + x0)..3 * (y * w + x0 + side);
                pixels[row.clone()].copy_from_slice(&b[row]);
            }
        })?;
        let mut total = vec![0.0f64; h * w];
        let mut count = vec![0u32; h * w];
        // Summed in window order, whatever the thread count.
        for (&(y0, x0), f) in windows.iter().zip(scores) {
            let drop = full - f;
            for y in y0..y0 + side {
                for p in y * w + x0..y * w + x0 + side {
                    total[p] += drop;
                    count[p] += 1;
                }
            }
        }
        let values: Vec<f32> = total
            .iter()
            .zip(&count)
            .map(|(&t, &c)| {
                if c == 0 {
                    0.0
                } else {
                    (t / f64::from(c)) as f32
                }
            })
            .collect();
        Array2::from_shape_vec((h, w), values)
            .map(Heatmap::new)
            .map_err(|e| Error::InconsistentInput {
                context: "occlusion",
                reason: e.to_string(),
            })
    }
}
