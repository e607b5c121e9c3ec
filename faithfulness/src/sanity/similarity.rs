//! How alike two heatmaps are: Spearman rank correlation and SSIM.
//!
//! Adebayo et al. compare the maps of the trained and the randomised
//! models by the Spearman rank correlation of their values, with and
//! without absolute values, and by the structural similarity (SSIM) of
//! the maps scaled to `[0, 1]`. The values match SciPy's
//! `scipy.stats.spearmanr` and scikit-image's `structural_similarity`
//! (`tests/sanity.rs` checks them against `tests/data/sanity_similarity.json`,
//! written by `tools/make_sanity_fixture.py`).

use multiscale_lime::ndarray::{s, Array2};
use multiscale_lime::Heatmap;

use super::{Result, SanityError};

/// Side of SSIM's uniform window (scikit-image's default `win_size`).
pub const SSIM_WINDOW: usize = 7;
/// SSIM's luminance constant `K1` (scikit-image's default).
pub const SSIM_K1: f64 = 0.01;
/// SSIM's contrast constant `K2` (scikit-image's default).
pub const SSIM_K2: f64 = 0.03;

/// Both maps' values as `f64`, after checking they have the same,
/// non-empty shape and finite values.
fn checked(a: &Heatmap, b: &Heatmap) -> Result<(Array2<f64>, Array2<f64>)> {
    if a.dim() != b.dim() {
        return Err(SanityError::Input(format!(
            "heatmaps of shapes {:?} and {:?}",
            a.dim(),
            b.dim()
        )));
    }
    if a.values().is_empty() {
        return Err(SanityError::Input("empty heatmaps".into()));
    }
    if a.values().iter().chain(b.values()).any(|v| !v.is_finite()) {
        return Err(SanityError::Input("a heatmap value is not finite".into()));
    }
    Ok((a.values().mapv(f64::from), b.values().mapv(f64::from)))
}

/// The 1-based ranks of `values`, ties given the mean of their ranks
/// (SciPy's `rankdata(method="average")`).
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end: their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation; NaN when either side is constant.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

fn rank_correlation(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = (a.iter().copied().collect(), b.iter().copied().collect());
    pearson(&average_ranks(&x), &average_ranks(&y))
}

/// Spearman rank correlation of two heatmaps' values (the Pearson
/// correlation of their average ranks), in `[−1, 1]`; NaN when either map
/// is constant (it ranks nothing), as SciPy.
///
/// # Errors
/// [`SanityError::Input`] when the shapes differ, the maps are empty or
/// a value is not finite.
pub fn spearman(a: &Heatmap, b: &Heatmap) -> Result<f64> {
    let (x, y) = checked(a, b)?;
    Ok(rank_correlation(&x, &y))
}

/// [`spearman`] of the maps' absolute values (Adebayo et al. report both:
/// a method whose sign flips but whose magnitudes stay put is not
/// sensitive to the model).
///
/// # Errors
/// As [`spearman`].
pub fn spearman_abs(a: &Heatmap, b: &Heatmap) -> Result<f64> {
    let (x, y) = checked(a, b)?;
    Ok(rank_correlation(&x.mapv(f64::abs), &y.mapv(f64::abs)))
}

/// `(v − min) / (max − min)`, all 0 when the map is constant.
pub fn min_max(values: &Array2<f64>) -> Array2<f64> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    values.mapv(|v| if span > 0.0 { (v - lo) / span } else { 0.0 })
}

/// Mean structural similarity (Wang et al. 2004) of the two maps, each
/// min-max scaled to `[0, 1]` ([`min_max`]), as scikit-image's
/// `structural_similarity(x, y, data_range=1)` computes it for 2-D float
/// images: a [`SSIM_WINDOW`]² uniform window, `K1` = [`SSIM_K1`], `K2` =
/// [`SSIM_K2`], sample (co)variances (`n/(n − 1)`), and the mean over the
/// pixels whose window lies inside the map (scikit-image crops the
/// border of half a window). 1 for equal maps.
///
/// # Errors
/// As [`spearman`], and when a side is shorter than the window.
pub fn ssim(a: &Heatmap, b: &Heatmap) -> Result<f64> {
    let (x, y) = checked(a, b)?;
    let (h, w) = x.dim();
    if h < SSIM_WINDOW || w < SSIM_WINDOW {
        return Err(SanityError::Input(format!(
            "a {h}×{w} map is smaller than SSIM's {SSIM_WINDOW}×{SSIM_WINDOW} window"
        )));
    }
    let (x, y) = (min_max(&x), min_max(&y));
    let products = [&x * &x, &y * &y, &x * &y];
    let n = (SSIM_WINDOW * SSIM_WINDOW) as f64;
    let cov = n / (n - 1.0);
    let (c1, c2) = (SSIM_K1.powi(2), SSIM_K2.powi(2));
    let mut total = 0.0;
    for i in 0..=h - SSIM_WINDOW {
        for j in 0..=w - SSIM_WINDOW {
            let mean =
                |m: &Array2<f64>| m.slice(s![i..i + SSIM_WINDOW, j..j + SSIM_WINDOW]).sum() / n;
            let (ux, uy) = (mean(&x), mean(&y));
            let vx = cov * (mean(&products[0]) - ux * ux);
            let vy = cov * (mean(&products[1]) - uy * uy);
            let vxy = cov * (mean(&products[2]) - ux * uy);
            total += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2))
                / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        }
    }
    Ok(total / ((h - SSIM_WINDOW + 1) * (w - SSIM_WINDOW + 1)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 5.0]),
            vec![2.5, 4.0, 2.5, 1.0]
        );
        assert_eq!(average_ranks(&[1.0, 1.0, 1.0]), vec![2.0, 2.0, 2.0]);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
