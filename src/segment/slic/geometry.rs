//! What the assignment and update steps share: the centres, their search
//! windows, and the blocks rows are cut into for pruning. A leaf: it
//! imports none of its sibling modules, so every step can import it.

/// Pixels per block along a row: the unit of pruning. 128 costs fewer
/// instructions than 32 or 64 on tissue and on slide background alike
/// (per-block bounds and short scans cost more than finer pruning saves).
pub(super) const BLOCK: usize = 128;

/// A cluster centre: position, colour, and what the update step learnt.
pub(super) struct Centre {
    /// Row, the mean of its pixels' rows (a grid row at the start).
    pub(super) y: f64,
    /// Column, the mean of its pixels' columns (a grid column at the start).
    pub(super) x: f64,
    /// Scaled CIELAB colour, the mean of its pixels' (zero at the start, as
    /// in scikit-image).
    pub(super) colour: [f64; 3],
    /// False once an update left it without pixels: it never wins again.
    pub(super) alive: bool,
    /// How far the last update moved it, in the distance's metric (√D).
    pub(super) moved: f64,
}

/// A centre's search window: rows `y0..y1`, columns `x0..x1`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// First row.
    pub(super) y0: usize,
    /// One past the last row.
    pub(super) y1: usize,
    /// First column.
    pub(super) x0: usize,
    /// One past the last column.
    pub(super) x1: usize,
}

/// Rows (or columns) `[trunc(max(c − r, 0)), trunc(min(c + r + 1, n)))`, as
/// the Cython code computes its windows.
pub(super) fn window_range(c: f64, r: f64, n: usize) -> (usize, usize) {
    let lo = (c - r).max(0.0) as usize;
    let hi = (c + r + 1.0).min(n as f64) as usize;
    (lo, hi)
}
