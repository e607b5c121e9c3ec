//! The update step: centres move to the mean position and colour of their
//! pixels, and each block's pruning limit is carried to the next iteration.

use super::geometry::{Centre, Window, BLOCK};

/// Moves each centre to the mean position and colour of its pixels, summing
/// in raster order as scikit-image does, and records how far it moved. A
/// centre left without pixels dies (scikit-image's becomes NaN and never
/// wins a pixel again). `runs` receives the label runs, row by row.
pub(super) fn update_centres(
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
pub(super) fn run_end(row: &[f64], start: usize) -> usize {
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
pub(super) struct LabelRun {
    /// The row.
    pub(super) y: usize,
    /// First column.
    pub(super) x0: usize,
    /// One past the last column.
    pub(super) x1: usize,
    /// The label (a centre's index).
    pub(super) k: usize,
}

/// Turns each block's largest winning distance of the last iteration into
/// this iteration's limit. √D is a Euclidean distance (in position scaled by
/// √spatial_weight and in colour), so a pixel's distance to its last winner
/// grows by at most how far that centre moved: the limit is
/// `(√max + largest move in the block)²`, widened by far more than the few
/// ulps of relative rounding in any computed distance. A block where some
/// pixel's last winner no longer reaches it (the window moved away) gets no
/// limit: its winning distance is not bounded by that centre.
pub(super) fn carry_limits(
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
