//! The starting state: centres on scikit-image's regular grid, every pixel
//! labelled with its nearest grid centre, and the scales of the distance
//! that the grid step sets.

use super::geometry::Centre;

/// Where the k-means loop starts on an `h × w` image.
pub(super) struct Grid {
    /// The grid points, row by row, with zero colour (as in scikit-image).
    pub(super) centres: Vec<Centre>,
    /// `1 / step²`, `step` the largest grid step: the weight of squared
    /// pixel distances in `D`.
    pub(super) spatial_weight: f64,
    /// Window half-widths along y and x: twice the steps of the grid
    /// scikit-image lays for as many points as there are centres.
    pub(super) reach: (f64, f64),
    /// Each pixel's nearest grid centre, row-major: what a pixel that no
    /// window reaches keeps. Held as f64, exact small integers, so the
    /// assignment updates them with the same vector arithmetic as distances.
    pub(super) labels: Vec<f64>,
}

impl Grid {
    /// The grid of scikit-image's `slic` for about `desired` centres.
    pub(super) fn new(h: usize, w: usize, desired: usize) -> Grid {
        let grid = regular_grid([1, h, w], desired);
        let (ys, xs) = (grid[1], grid[2]);
        let centres: Vec<Centre> = (ys.0..h)
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
        let step = grid.iter().map(|g| g.1).max().unwrap_or(1) as f64;
        let window = regular_grid([1, h, w], centres.len());
        let reach = ((2 * window[1].1) as f64, (2 * window[2].1) as f64);
        let labels = nearest_centres(h, w, ys, xs, centres.len());
        Grid {
            centres,
            spatial_weight: 1.0 / (step * step),
            reach,
            labels,
        }
    }
}

/// Each pixel's nearest centre of the `n_centres` on the grid `ys × xs`
/// (per axis `(start, step)`), as an f64 label.
fn nearest_centres(
    h: usize,
    w: usize,
    ys: (usize, usize),
    xs: (usize, usize),
    n_centres: usize,
) -> Vec<f64> {
    let ny = (ys.0..h).step_by(ys.1).count();
    let nx = n_centres / ny.max(1);
    let nearest = |p: usize, (start, step): (usize, usize), n: usize| {
        ((p as f64 - start as f64) / step as f64)
            .round()
            .clamp(0.0, (n - 1) as f64) as usize
    };
    // The nearest grid column of every x, found once, not per pixel.
    let grid_columns: Vec<usize> = (0..w).map(|x| nearest(x, xs, nx)).collect();
    (0..h)
        .flat_map(|y| {
            let first = nearest(y, ys, ny) * nx;
            grid_columns
                .iter()
                .map(move |&column| (first + column) as f64)
        })
        .collect()
}

/// `skimage.util.regular_grid` for a `(1, H, W)` volume: per axis `(start, step)`.
pub(super) fn regular_grid(shape: [usize; 3], n_points: usize) -> [(usize, usize); 3] {
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
