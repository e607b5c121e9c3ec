//! Gaussian smoothing as scipy's `gaussian_filter` computes it (reflect
//! boundary, kernel truncated at 4σ, symmetric correlation order), shared by
//! SLIC's pre-smoothing and the blurred hide colour.

/// The widest Gaussian accepted (pixels). Its kernel spans 8σ + 1 taps, so
/// an unbounded σ would be an unbounded allocation (a fuzzed σ of 1e18 asked
/// for 2·10¹⁸ bytes); at 1000 the kernel (8001 taps) is already wider than
/// the images this crate is meant for.
pub(crate) const MAX_SIGMA: f64 = 1000.0;

/// scipy's `_gaussian_kernel1d`: `exp(-0.5/σ² · x²)` normalised by numpy's sum.
pub(crate) fn gaussian_weights(sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let s2 = sigma * sigma;
    let phi: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / s2 * (x * x) as f64).exp())
        .collect();
    let total = numpy_sum(&phi);
    phi.iter().map(|v| v / total).collect()
}

/// numpy's pairwise summation (8-way unrolled blocks of up to 128 values).
fn numpy_sum(d: &[f64]) -> f64 {
    let n = d.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in d {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&d[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += d[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += d[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum(&d[..n2]) + numpy_sum(&d[n2..])
    }
}

/// Index into a line of length `n` under scipy's `reflect` boundary mode
/// (`d c b a | a b c d | d c b a`).
pub(crate) fn reflect(i: isize, n: usize) -> usize {
    let period = 2 * n as isize;
    let m = i.rem_euclid(period) as usize;
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

/// scipy's symmetric `correlate1d`: `x₀w₀ + Σ_{j=r..1} (x₋ⱼ + xⱼ)·wⱼ`.
pub(crate) fn correlate_line(line: &[f64], weights: &[f64]) -> Vec<f64> {
    let n = line.len();
    let r = (weights.len() / 2) as isize;
    let centre = weights[r as usize];
    (0..n as isize)
        .map(|i| {
            let mut acc = line[i as usize] * centre;
            for j in (1..=r).rev() {
                let pair = line[reflect(i - j, n)] + line[reflect(i + j, n)];
                acc += pair * weights[(r - j) as usize];
            }
            acc
        })
        .collect()
}

pub(crate) fn smooth_axis(
    plane: &mut [f64],
    h: usize,
    w: usize,
    weights: &[f64],
    along_rows: bool,
) {
    if along_rows {
        let mut line = vec![0.0; h];
        for x in 0..w {
            for y in 0..h {
                line[y] = plane[y * w + x];
            }
            for (y, v) in correlate_line(&line, weights).into_iter().enumerate() {
                plane[y * w + x] = v;
            }
        }
    } else {
        for row in plane.chunks_exact_mut(w) {
            let out = correlate_line(row, weights);
            row.copy_from_slice(&out);
        }
    }
}

/// Blurs one `h×w` plane in place (rows first, then columns, as scipy's axis order).
pub(crate) fn gaussian_blur(plane: &mut [f64], h: usize, w: usize, sigma: f64) {
    let weights = gaussian_weights(sigma);
    smooth_axis(plane, h, w, &weights, true);
    smooth_axis(plane, h, w, &weights, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn reflect_mode_indices() {
        let idx: Vec<usize> = (-5..8).map(|i| reflect(i, 3)).collect();
        assert_eq!(idx, vec![1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1]);
        assert_eq!(reflect(-3, 1), 0);
    }

    #[test]
    fn gaussian_weights_sum_to_one_and_are_symmetric() {
        let w = gaussian_weights(1.0);
        assert_eq!(w.len(), 9);
        assert_relative_eq!(w.iter().sum::<f64>(), 1.0, epsilon = 1e-12);
        for i in 0..4 {
            assert_eq!(w[i], w[8 - i]);
        }
        // scipy.ndimage._gaussian_kernel1d(1.0, 0, 4)[4]
        assert_relative_eq!(w[4], 3.98943469e-01, epsilon = 1e-9);
    }

    #[test]
    fn blur_preserves_constants_and_mass() {
        let mut flat = vec![0.3; 5 * 7];
        gaussian_blur(&mut flat, 5, 7, 1.5);
        assert!(flat.iter().all(|v| (v - 0.3).abs() < 1e-12));
        let mut spike = vec![0.0; 9 * 9];
        spike[4 * 9 + 4] = 1.0;
        gaussian_blur(&mut spike, 9, 9, 1.0);
        assert_relative_eq!(spike.iter().sum::<f64>(), 1.0, epsilon = 1e-9);
        assert!(spike[4 * 9 + 4] < 0.2);
    }
}
