//! LIME's proximity kernel on binary masks.
//!
//! A perturbed sample keeps `k` of `K` segments. Its cosine distance to the
//! original (all ones) is `d = 1 − k/√(k·K) = 1 − √(k/K)` (`d = 1` when
//! `k = 0`), and its weight is `π = √(exp(−d²/w²))`, `w` the kernel width
//! (LIME's default for images: 0.25).

/// Cosine distance between a mask keeping `kept` of `total` segments and the
/// all-ones mask.
///
/// ```
/// use multiscale_lime::kernel::cosine_distance;
/// assert_eq!(cosine_distance(4, 4), 0.0);
/// assert_eq!(cosine_distance(1, 4), 0.5);
/// assert_eq!(cosine_distance(0, 4), 1.0);
/// ```
pub fn cosine_distance(kept: usize, total: usize) -> f64 {
    if kept == 0 || total == 0 {
        return 1.0;
    }
    1.0 - (kept as f64 / total as f64).sqrt()
}

/// LIME's exponential kernel `√(exp(−d²/w²))` for distance `d` and width `w`.
///
/// ```
/// use multiscale_lime::kernel::exponential_kernel;
/// assert_eq!(exponential_kernel(0.0, 0.25), 1.0);
/// assert!((exponential_kernel(0.25, 0.25) - (-0.5f64).exp()).abs() < 1e-15);
/// ```
pub fn exponential_kernel(distance: f64, width: f64) -> f64 {
    (-(distance * distance) / (width * width)).exp().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn distance_in_unit_range_and_monotone(total in 1usize..500, a in 0usize..500, b in 0usize..500) {
            let (a, b) = (a.min(total), b.min(total));
            let (da, db) = (cosine_distance(a, total), cosine_distance(b, total));
            prop_assert!((0.0..=1.0).contains(&da));
            if a < b { prop_assert!(da >= db); }
        }

        #[test]
        fn kernel_in_unit_range_and_decreasing(d1 in 0.0f64..1.0, d2 in 0.0f64..1.0, w in 0.01f64..10.0) {
            let (k1, k2) = (exponential_kernel(d1, w), exponential_kernel(d2, w));
            prop_assert!((0.0..=1.0).contains(&k1));
            // Positive unless exp(−d²/w²) underflows f64 (d²/w² > ~745):
            // proptest found d = 0.89, w = 0.01 giving exactly 0.
            prop_assert!(k1 > 0.0 || d1 * d1 / (w * w) > 700.0);
            if d1 < d2 { prop_assert!(k1 >= k2); }
        }
    }
}
