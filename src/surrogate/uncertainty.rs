//! How sure a fitted coefficient is: sandwich standard errors of the
//! weighted ridge, and the normal quantiles that turn them into intervals.

use nalgebra::DMatrix;
use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::error::{Error, Result};

/// Rows per block of the sandwich product (bounds its scratch memory to
/// `SANDWICH_ROWS × K` values whatever the sample count).
const SANDWICH_ROWS: usize = 256;

/// Heteroscedasticity-robust (HC1 sandwich) standard errors of the ridge
/// coefficients: the square roots of the diagonal of
/// `n/(n−p) · A⁻¹ (Σᵢ πᵢ² rᵢ² z̃ᵢ z̃ᵢᵀ) A⁻¹`, `A = Z̃ᵀΠZ̃ + αI`, `z̃ᵢ = zᵢ − z̄`
/// and `p` the fitted parameters. The masks are random and the linear
/// surrogate only approximates the classifier, so the residuals are the
/// classifier's departure from linearity: the sandwich does not assume
/// they are alike across samples, which a posterior `σ²A⁻¹` would.
pub(super) fn sandwich_std_errors(
    z: ArrayView2<'_, f32>,
    z_mean: &[f64],
    weights: ArrayView1<'_, f64>,
    residuals: &[f64],
    inverse: &DMatrix<f64>,
    parameters: usize,
) -> Array1<f64> {
    let (n, k) = z.dim();
    // The caller has n > parameters.
    let correction = n as f64 / (n - parameters) as f64;
    let mut variance = vec![0.0f64; k];
    for start in (0..n).step_by(SANDWICH_ROWS) {
        let end = (start + SANDWICH_ROWS).min(n);
        // Row i of S is πᵢ rᵢ z̃ᵢ; row i of S·A⁻¹ is πᵢ rᵢ (A⁻¹ z̃ᵢ)ᵀ.
        let s = DMatrix::from_fn(end - start, k, |i, j| {
            let row = start + i;
            weights[row] * residuals[row] * (f64::from(z[[row, j]]) - z_mean[j])
        });
        let t = s * inverse;
        for (j, v) in variance.iter_mut().enumerate() {
            *v += t.column(j).iter().map(|x| x * x).sum::<f64>();
        }
    }
    variance.iter().map(|v| (v * correction).sqrt()).collect()
}

/// The standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (Acklam's rational
/// approximation, relative error below 1.2·10⁻⁹).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    const LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// `Φ⁻¹((1 + confidence)/2)`: the half-width of a two-sided normal
/// interval in standard errors (1.645 for 0.9, 1.960 for 0.95).
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 < confidence < 1`.
pub(crate) fn two_sided_quantile(confidence: f64) -> Result<f64> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::invalid(
            "confidence",
            confidence,
            "a value strictly between 0 and 1",
        ));
    }
    Ok(normal_quantile(0.5 + confidence / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_scipy() {
        // scipy.stats.norm.ppf, scipy 1.17.
        let reference = [
            (0.5, 0.0),
            (0.95, 1.6448536269514722),
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (0.999, 3.090232306167813),
            (0.7, 0.5244005127080407),
            (0.01, -2.3263478740408408),
            (0.03, -1.880793608151251),
            (1e-10, -6.361340902404056),
            (0.99999, 4.264890793923841),
        ];
        for (p, z) in reference {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() <= 1.2e-9 * z.abs().max(1.0),
                "Φ⁻¹({p}) = {got}, want {z}"
            );
        }
    }

    #[test]
    fn two_sided_quantiles() {
        assert!((two_sided_quantile(0.9).unwrap() - 1.6448536269514722).abs() < 2e-9);
        assert!((two_sided_quantile(0.95).unwrap() - 1.959963984540054).abs() < 3e-9);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(two_sided_quantile(bad).is_err());
        }
    }

    #[test]
    fn normal_quantile_is_odd_and_increasing() {
        let mut last = f64::NEG_INFINITY;
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            let z = normal_quantile(p);
            assert!(z > last);
            assert!((z + normal_quantile(1.0 - p)).abs() < 1e-12);
            last = z;
        }
    }
}
