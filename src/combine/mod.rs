//! Fusing the per-level heatmaps into one (paper §2.2; DESIGN §6).
//!
//! The paper's rules are weighted averages of the level heatmaps:
//! [`Trapezoid`], [`InverseTrapezoid`], [`Gaussian`], [`Uniform`],
//! [`CustomWeights`]. [`Density`] goes beyond them: it averages relevance
//! per pixel, read from the raw coefficients; [`Feathered`] is `Density`
//! with each level's superpixel borders blurred (`docs/faithfulness.md`
//! compares them all).
//!
//! For the weighted averages:
//! Levels are sorted by actual segment count `s'` (coarse → fine; ties keep
//! their order). With abscissae `x_l` (`s'_l` for [`Trapezoid`], `1/s'_l` for
//! [`InverseTrapezoid`]) and gaps `d_l = |x_{l+1} − x_l|`, the trapezoid
//! rule gives `w_1 = d_1/2`, `w_l = (d_{l−1} + d_l)/2`, `w_L = d_{L−1}/2`;
//! they sum to `x_max − x_min`. The fused heatmap is `Σ w_l E_l / Σ w_l`; if
//! every weight is 0 (all levels have the same `s'`) it is the plain mean, and
//! [`CombinedHeatmap::weights`] says so.

mod density;
mod feathered;
mod fusion;

pub use density::Density;
pub use feathered::Feathered;
pub use fusion::Fusion;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::heatmap::{Heatmap, HeatmapStack};

/// The fused heatmap and the normalised weights that produced it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CombinedHeatmap {
    /// The fused map: `Σ w_l E_l / Σ w_l` for the weighted averages, within
    /// the range of the level heatmaps; in `[0, 1]` for [`Density`].
    pub heatmap: Heatmap,
    /// The weights actually used, in level order, summing to 1.
    pub weights: Vec<f64>,
    /// True when the combiner's weights were all zero and the uniform mean
    /// was used instead.
    pub uniform_fallback: bool,
}

/// Fuses the level heatmaps of one explained class into one heatmap,
/// usually as a weighted average with scale weights computed from the
/// levels' actual segment counts `s'`.
pub trait Combiner: Send + Sync {
    /// Non-negative weights, one per level, in the order of `counts`.
    ///
    /// # Errors
    /// [`Error::InconsistentInput`] when `counts` is empty or holds a 0, or
    /// (for [`CustomWeights`]) when its length differs.
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>>;

    /// Fuses the levels of `stack` into one heatmap. The provided
    /// implementation is the weighted average `Σ w_l E_l / Σ w_l` with the
    /// [`weights`](Self::weights) of the stack's actual counts (the uniform
    /// mean when they are all 0); a combiner that is not a weighted average
    /// overrides it.
    ///
    /// ```
    /// use multiscale_lime::{Combiner, MultiScaleLime, SquareGrid, Target, Trapezoid};
    /// # use multiscale_lime::{FnClassifier, Image};
    /// # let image = Image::new(ndarray::Array3::from_elem((8, 8, 3), 0.5))?;
    /// # let classifier = FnClassifier::new(1, |b: ndarray::ArrayView4<'_, f32>| {
    /// #     Ok(ndarray::Array2::from_shape_fn((b.dim().0, 1), |(i, _)| b[[i, 0, 0, 0]]))
    /// # });
    /// let lime = MultiScaleLime::builder().segmenter(SquareGrid).levels([4, 16]).build()?;
    /// let explanation = lime.explain(&image, &classifier, Target::Class(0))?;
    /// let fused = Trapezoid.combine(&explanation.stacks()[0])?;
    /// assert_eq!(fused.weights, vec![0.5, 0.5]); // (16 − 4)/2 each, normalised
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Combiner::weights`], plus [`Error::InconsistentInput`] when the
    /// weights are not one finite, non-negative value per level or the
    /// level heatmaps differ in size.
    fn combine(&self, stack: &HeatmapStack) -> Result<CombinedHeatmap> {
        let counts = stack.counts();
        weighted_average(&self.weights(&counts)?, &stack.heatmaps())
    }
}

/// `Σ w_l E_l / Σ w_l` (the uniform mean when every weight is 0).
fn weighted_average(raw: &[f64], heatmaps: &[&Heatmap]) -> Result<CombinedHeatmap> {
    if raw.len() != heatmaps.len() || raw.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::inconsistent(
            "combine",
            format!(
                "weights {raw:?} for {} levels are not one finite value ≥ 0 per level",
                heatmaps.len()
            ),
        ));
    }
    let Some(first) = heatmaps.first() else {
        return Err(Error::inconsistent("combine", "no levels"));
    };
    let dim = first.dim();
    if let Some(m) = heatmaps.iter().find(|m| m.dim() != dim) {
        return Err(Error::inconsistent(
            "combine",
            format!("heatmaps of sizes {dim:?} and {:?}", m.dim()),
        ));
    }
    let total: f64 = raw.iter().sum();
    let uniform_fallback = total <= 0.0;
    let weights: Vec<f64> = if uniform_fallback {
        vec![1.0 / raw.len() as f64; raw.len()]
    } else {
        raw.iter().map(|w| w / total).collect()
    };
    let mut acc = Array2::<f64>::zeros(dim);
    for (map, &w) in heatmaps.iter().zip(&weights) {
        acc.zip_mut_with(map.values(), |a, &v| *a += w * f64::from(v));
    }
    Ok(CombinedHeatmap {
        heatmap: Heatmap::new(acc.mapv(|v| v as f32)),
        weights,
        uniform_fallback,
    })
}

/// The common size of a stack's level heatmaps (at least one level).
fn check_stack(stack: &HeatmapStack) -> Result<(usize, usize)> {
    let Some(first) = stack.levels().first() else {
        return Err(Error::inconsistent("combine", "no levels"));
    };
    let dim = first.heatmap.dim();
    for level in stack.levels() {
        if level.heatmap.dim() != dim || level.segmentation.dim() != dim {
            return Err(Error::inconsistent(
                "combine",
                format!("levels of sizes {dim:?} and {:?}", level.heatmap.dim()),
            ));
        }
    }
    Ok(dim)
}

fn check_counts(counts: &[usize]) -> Result<()> {
    if counts.is_empty() {
        return Err(Error::inconsistent("combine", "no levels"));
    }
    if counts.contains(&0) {
        return Err(Error::inconsistent(
            "combine",
            format!("segment counts {counts:?} contain 0"),
        ));
    }
    Ok(())
}

/// Trapezoid-rule weights over abscissae `x(s')`, returned in input order.
fn trapezoid(counts: &[usize], x: impl Fn(usize) -> f64) -> Result<Vec<f64>> {
    check_counts(counts)?;
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| counts[i]); // stable: ties keep level order
    let xs: Vec<f64> = order.iter().map(|&i| x(counts[i])).collect();
    let mut w = vec![0.0; counts.len()];
    for pair in 0..xs.len().saturating_sub(1) {
        let half_gap = (xs[pair + 1] - xs[pair]).abs() / 2.0;
        w[order[pair]] += half_gap;
        w[order[pair + 1]] += half_gap;
    }
    Ok(w)
}

/// Paper eq. 2: trapezoid rule over the segment counts `s'`. Levels far from
/// their neighbours in `s'` weigh more; fine levels usually dominate.
///
/// ```
/// use multiscale_lime::{Combiner, Trapezoid};
/// assert_eq!(Trapezoid.weights(&[10, 25, 50, 100])?, vec![7.5, 20.0, 37.5, 25.0]);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trapezoid;

impl Combiner for Trapezoid {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        trapezoid(counts, |s| s as f64)
    }
}

/// Paper eq. 3: trapezoid rule over `1/s'`, which emphasises coarse levels.
/// The absolute gap keeps the weights non-negative.
///
/// ```
/// use multiscale_lime::{Combiner, InverseTrapezoid};
/// let w = InverseTrapezoid.weights(&[10, 25, 50, 100])?;
/// assert!((w[0] - 0.03).abs() < 1e-15 && (w[3] - 0.005).abs() < 1e-15);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InverseTrapezoid;

impl Combiner for InverseTrapezoid {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        trapezoid(counts, |s| 1.0 / s as f64)
    }
}

/// Gaussian weights over the normalised log-scale
/// `t = (ln s' − ln s'_min)/(ln s'_max − ln s'_min)` (all equal → `t = 0`):
/// `w = exp(−(t − mean)²/(2·std²))`. `mean = 0` emphasises the coarsest level,
/// `1` the finest.
///
/// ```
/// use multiscale_lime::{Combiner, Gaussian};
/// let w = Gaussian::new(1.0, 0.3)?.weights(&[10, 100])?;
/// assert!(w[1] == 1.0 && w[0] < 0.01);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    mean: f64,
    std: f64,
}

impl Gaussian {
    /// A Gaussian centred at `mean` (normalised log-scale) with width `std`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite `mean` or a `std` that is
    /// not finite and > 0.
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        if !mean.is_finite() {
            return Err(Error::invalid("mean", mean, "a finite value"));
        }
        if !(std.is_finite() && std > 0.0) {
            return Err(Error::invalid("std", std, "a finite value > 0"));
        }
        Ok(Gaussian { mean, std })
    }
}

impl Combiner for Gaussian {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        check_counts(counts)?;
        let logs: Vec<f64> = counts.iter().map(|&s| (s as f64).ln()).collect();
        let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Ok(logs
            .iter()
            .map(|&l| {
                let t = if hi > lo { (l - lo) / (hi - lo) } else { 0.0 };
                (-(t - self.mean).powi(2) / (2.0 * self.std * self.std)).exp()
            })
            .collect())
    }
}

/// Every level weighs the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uniform;

impl Combiner for Uniform {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        check_counts(counts)?;
        Ok(vec![1.0; counts.len()])
    }
}

/// Expert scale weights (paper §4), one per level in request order.
///
/// ```
/// use multiscale_lime::{Combiner, CustomWeights};
/// let c = CustomWeights::new(vec![0.0, 1.0, 3.0])?;
/// assert_eq!(c.weights(&[5, 20, 80])?, vec![0.0, 1.0, 3.0]);
/// assert!(c.weights(&[5, 20]).is_err());
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CustomWeights(Vec<f64>);

impl CustomWeights {
    /// Validates the weights.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a weight is negative or not finite,
    /// or when none is positive.
    pub fn new(weights: Vec<f64>) -> Result<Self> {
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(Error::invalid("weights", w, "finite values ≥ 0"));
        }
        if !weights.iter().any(|&w| w > 0.0) {
            return Err(Error::invalid(
                "weights",
                format!("{weights:?}"),
                "at least one weight > 0",
            ));
        }
        Ok(CustomWeights(weights))
    }
}

impl Combiner for CustomWeights {
    fn weights(&self, counts: &[usize]) -> Result<Vec<f64>> {
        check_counts(counts)?;
        if counts.len() != self.0.len() {
            return Err(Error::inconsistent(
                "combine",
                format!(
                    "{} custom weights for {} levels",
                    self.0.len(),
                    counts.len()
                ),
            ));
        }
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Segmentation;
    use approx::assert_relative_eq;
    use ndarray::Array2;
    use proptest::prelude::*;

    /// The provided `combine` on bare heatmaps.
    fn fuse(c: &dyn Combiner, counts: &[usize], maps: &[&Heatmap]) -> Result<CombinedHeatmap> {
        weighted_average(&c.weights(counts)?, maps)
    }

    #[test]
    fn exact_vectors() {
        let w = Trapezoid.weights(&[10, 25, 50, 100]).unwrap();
        for (g, e) in w.iter().zip([7.5, 20.0, 37.5, 25.0]) {
            assert_relative_eq!(*g, e, epsilon = 1e-12);
        }
        let w = InverseTrapezoid.weights(&[10, 25, 50, 100]).unwrap();
        for (g, e) in w.iter().zip([0.03, 0.04, 0.015, 0.005]) {
            assert_relative_eq!(*g, e, epsilon = 1e-15);
        }
        let w = Trapezoid.weights(&[12, 12, 40]).unwrap();
        for (g, e) in w.iter().zip([0.0, 14.0, 14.0]) {
            assert_relative_eq!(*g, e, epsilon = 1e-12);
        }
        let w = InverseTrapezoid.weights(&[12, 12, 40]).unwrap();
        for (g, e) in w.iter().zip([0.0, 7.0 / 240.0, 7.0 / 240.0]) {
            assert_relative_eq!(*g, e, epsilon = 1e-15);
        }
        // Unsorted input: weights come back in input order.
        let w = Trapezoid.weights(&[100, 10, 50, 25]).unwrap();
        for (g, e) in w.iter().zip([25.0, 7.5, 37.5, 20.0]) {
            assert_relative_eq!(*g, e, epsilon = 1e-12);
        }
        assert_eq!(Trapezoid.weights(&[7]).unwrap(), vec![0.0]);
    }

    #[test]
    fn invalid_counts_and_weights() {
        assert!(Trapezoid.weights(&[]).is_err());
        assert!(InverseTrapezoid.weights(&[3, 0]).is_err());
        assert!(matches!(
            Gaussian::new(0.5, 0.0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(Gaussian::new(f64::NAN, 1.0).is_err());
        assert!(CustomWeights::new(vec![0.0, 0.0]).is_err());
        assert!(CustomWeights::new(vec![1.0, -1.0]).is_err());
        let a = Heatmap::new(Array2::zeros((2, 2)));
        let b = Heatmap::new(Array2::zeros((2, 3)));
        assert!(fuse(&Uniform, &[1, 2], &[&a, &b]).is_err());
        assert!(fuse(&Uniform, &[1, 2], &[&a]).is_err());
    }

    #[test]
    fn equal_counts_fall_back_to_uniform_mean() {
        let a = Heatmap::new(Array2::from_elem((2, 2), 0.2));
        let b = Heatmap::new(Array2::from_elem((2, 2), 0.6));
        let c = fuse(&Trapezoid, &[9, 9], &[&a, &b]).unwrap();
        assert!(c.uniform_fallback);
        assert_eq!(c.weights, vec![0.5, 0.5]);
        assert!(c.heatmap.values().iter().all(|v| (v - 0.4).abs() < 1e-6));
        // One level: the combined heatmap is that level.
        let one = fuse(&Trapezoid, &[9], &[&b]).unwrap();
        assert_eq!(one.heatmap, b);
    }

    fn counts_strategy() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..2000, 1..8)
    }

    proptest! {
        #[test]
        fn trapezoid_weights_nonnegative_and_telescoping(counts in counts_strategy()) {
            let lo = *counts.iter().min().unwrap() as f64;
            let hi = *counts.iter().max().unwrap() as f64;
            let w = Trapezoid.weights(&counts).unwrap();
            prop_assert!(w.iter().all(|&v| v >= 0.0));
            prop_assert!((w.iter().sum::<f64>() - (hi - lo)).abs() < 1e-9 * hi.max(1.0));
            let wi = InverseTrapezoid.weights(&counts).unwrap();
            prop_assert!(wi.iter().all(|&v| v >= 0.0));
            prop_assert!((wi.iter().sum::<f64>() - (1.0 / lo - 1.0 / hi)).abs() < 1e-12);
        }

        #[test]
        fn weights_are_permutation_consistent(counts in counts_strategy(), seed in any::<u64>()) {
            use rand::{seq::SliceRandom, SeedableRng};
            let mut perm: Vec<usize> = (0..counts.len()).collect();
            perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let permuted: Vec<usize> = perm.iter().map(|&i| counts[i]).collect();
            for combiner in [&Trapezoid as &dyn Combiner, &InverseTrapezoid, &Uniform] {
                let w = combiner.weights(&counts).unwrap();
                let wp = combiner.weights(&permuted).unwrap();
                // Tied counts may swap weights among themselves; compare by count.
                let mut by_count: Vec<(usize, f64)> = counts.iter().copied().zip(w).collect();
                let mut by_count_p: Vec<(usize, f64)> = permuted.iter().copied().zip(wp).collect();
                by_count.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                by_count_p.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                for (a, b) in by_count.iter().zip(&by_count_p) {
                    prop_assert_eq!(a.0, b.0);
                    prop_assert!((a.1 - b.1).abs() < 1e-9);
                }
            }
        }

        #[test]
        fn combined_map_is_invariant_to_level_order(
            counts in prop::collection::vec(1usize..500, 2..6),
            seed in any::<u64>(),
        ) {
            use rand::{seq::SliceRandom, RngExt, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let maps: Vec<Heatmap> = counts
                .iter()
                .map(|_| Heatmap::new(Array2::from_shape_fn((3, 4), |_| rng.random::<f32>())))
                .collect();
            let mut perm: Vec<usize> = (0..counts.len()).collect();
            perm.shuffle(&mut rng);
            // Distinct counts so the trapezoid ordering is unambiguous.
            let mut counts = counts;
            counts.sort_unstable();
            counts.dedup();
            prop_assume!(counts.len() == maps.len());
            let refs: Vec<&Heatmap> = maps.iter().collect();
            let pc: Vec<usize> = perm.iter().map(|&i| counts[i]).collect();
            let pm: Vec<&Heatmap> = perm.iter().map(|&i| &maps[i]).collect();
            let a = fuse(&Trapezoid, &counts, &refs).unwrap();
            let b = fuse(&Trapezoid, &pc, &pm).unwrap();
            for (x, y) in a.heatmap.values().iter().zip(b.heatmap.values()) {
                prop_assert!((x - y).abs() < 1e-6);
            }
            let lo = maps.iter().flat_map(|m| m.values().iter().copied()).fold(f32::INFINITY, f32::min);
            let hi = maps.iter().flat_map(|m| m.values().iter().copied()).fold(f32::NEG_INFINITY, f32::max);
            prop_assert!(a.heatmap.values().iter().all(|&v| v >= lo - 1e-6 && v <= hi + 1e-6));
        }

        #[test]
        fn trapezoid_is_scale_invariant(counts in counts_strategy(), factor in 1usize..50) {
            let scaled: Vec<usize> = counts.iter().map(|&s| s * factor).collect();
            let norm = |w: Vec<f64>| { let t: f64 = w.iter().sum(); w.into_iter().map(move |v| if t > 0.0 { v / t } else { 0.0 }) };
            for (a, b) in norm(Trapezoid.weights(&counts).unwrap()).zip(norm(Trapezoid.weights(&scaled).unwrap())) {
                prop_assert!((a - b).abs() < 1e-12);
            }
        }

        #[test]
        fn gaussian_weights_in_unit_range(counts in counts_strategy(), mean in -1.0f64..2.0, std in 0.05f64..3.0) {
            let w = Gaussian::new(mean, std).unwrap().weights(&counts).unwrap();
            prop_assert!(w.iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
    }

    /// A stack of square-grid levels of an `h × w` image with `cells` cells
    /// a side per level and the given coefficients (min-max painted).
    fn grid_stack(h: usize, w: usize, levels: &[(usize, Vec<f64>)]) -> HeatmapStack {
        use std::sync::Arc;
        let levels = levels
            .iter()
            .map(|(cells, coefficients)| {
                let labels = Array2::from_shape_fn((h, w), |(y, x)| {
                    ((y * cells / h) * cells + x * cells / w) as u32
                });
                let seg = Segmentation::new(labels).unwrap();
                let k = seg.count();
                let coefficients = ndarray::Array1::from(coefficients[..k].to_vec());
                let heatmap = Heatmap::paint(
                    &seg,
                    &crate::Normalization::MinMax.apply(coefficients.as_slice().unwrap()),
                )
                .unwrap();
                crate::heatmap::LevelExplanation {
                    desired: k,
                    actual: k,
                    segmentation: Arc::new(seg),
                    samples: 10 * k,
                    calls: 10 * k,
                    coefficients,
                    intercept: 0.0,
                    r2: 1.0,
                    local_prediction: 0.0,
                    std_errors: None,
                    heatmap,
                }
            })
            .collect();
        HeatmapStack::new(0, levels)
    }

    fn stack_strategy() -> impl Strategy<Value = (Vec<(usize, Vec<f64>)>, u64)> {
        (
            prop::collection::vec((1usize..6, prop::collection::vec(-1.0f64..1.0, 36)), 1..5),
            any::<u64>(),
        )
    }

    proptest! {
        #[test]
        fn density_weighs_sanely_and_ignores_level_order((levels, seed) in stack_strategy()) {
            use rand::{seq::SliceRandom, SeedableRng};
            let stack = grid_stack(6, 6, &levels);
            let mut shuffled = levels.clone();
            shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let other = grid_stack(6, 6, &shuffled);
            let feathered = Feathered::default();
            for combiner in [&Density as &dyn Combiner, &feathered] {
                let a = combiner.combine(&stack).unwrap();
                prop_assert_eq!(a.weights.len(), levels.len());
                prop_assert!(a.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
                prop_assert!((a.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                prop_assert!(a.heatmap.values().iter().all(|v| (0.0..=1.0).contains(v)));
                let b = combiner.combine(&other).unwrap();
                for (x, y) in a.heatmap.values().iter().zip(b.heatmap.values()) {
                    prop_assert!((x - y).abs() < 1e-5, "{} vs {}", x, y);
                }
            }
        }

        #[test]
        fn density_ignores_the_scale_of_the_coefficients(
            (levels, _) in stack_strategy(),
            factor in 0.01f64..100.0,
        ) {
            let scaled: Vec<(usize, Vec<f64>)> = levels
                .iter()
                .map(|(c, b)| (*c, b.iter().map(|v| v * factor).collect()))
                .collect();
            for combiner in [&Density as &dyn Combiner, &Feathered::default()] {
                let a = combiner.combine(&grid_stack(6, 6, &levels)).unwrap();
                let b = combiner.combine(&grid_stack(6, 6, &scaled)).unwrap();
                for (x, y) in a.heatmap.values().iter().zip(b.heatmap.values()) {
                    prop_assert!((x - y).abs() < 1e-5, "{} vs {}", x, y);
                }
            }
        }

        #[test]
        fn feathered_is_density_at_width_zero((levels, _) in stack_strategy()) {
            let stack = grid_stack(6, 6, &levels);
            let zero = Feathered::new(0.0).unwrap().combine(&stack).unwrap();
            prop_assert_eq!(zero, Density.combine(&stack).unwrap());
        }

        #[test]
        fn feathered_matches_a_naive_convolution(
            (levels, _) in stack_strategy(),
            width in 0.05f64..2.0,
        ) {
            let stack = grid_stack(6, 6, &levels);
            let fast = Feathered::new(width).unwrap().combine(&stack).unwrap();
            let naive = naive_feathered(&stack, width);
            for (x, y) in fast.heatmap.values().iter().zip(&naive) {
                prop_assert!((f64::from(*x) - y).abs() < 1e-5, "{} vs {}", x, y);
            }
        }
    }

    /// The feathered map straight from its definition: each level's density
    /// painted, convolved in 2-D with a truncated Gaussian whose indices
    /// reflect at the border (scipy's `reflect`), averaged, min-max scaled.
    fn naive_feathered(stack: &HeatmapStack, width: f64) -> Vec<f64> {
        let (h, w) = stack.levels()[0].segmentation.dim();
        let mut acc = vec![0.0; h * w];
        let levels = stack.levels().len() as f64;
        for level in stack.levels() {
            let seg = &level.segmentation;
            let sizes = seg.sizes();
            let d: Vec<f64> = seg
                .as_slice()
                .iter()
                .map(|&k| level.coefficients[k as usize] / sizes[k as usize] as f64)
                .collect();
            let sigma = Feathered::new(width).unwrap().sigma(h, w, seg.count());
            let radius = (4.0 * sigma + 0.5) as isize;
            let g: Vec<f64> = (-radius..=radius)
                .map(|i| (-0.5 * (i * i) as f64 / (sigma * sigma)).exp())
                .collect();
            let total: f64 = g.iter().sum();
            let reflect = |i: isize, n: usize| crate::blur::reflect(i, n);
            for y in 0..h {
                for x in 0..w {
                    let mut v = 0.0;
                    for (a, ga) in (-radius..=radius).zip(&g) {
                        for (b, gb) in (-radius..=radius).zip(&g) {
                            let yy = reflect(y as isize + a, h);
                            let xx = reflect(x as isize + b, w);
                            v += ga * gb / (total * total) * d[yy * w + xx];
                        }
                    }
                    acc[y * w + x] += v / levels;
                }
            }
        }
        crate::Normalization::MinMax.apply(&acc)
    }

    #[test]
    fn feathered_spreads_with_its_width_and_rejects_bad_widths() {
        // One level, one bright cell in a 2×2 grid of 3×3 cells: the blur
        // spreads the cell's density into its neighbours but not across the
        // far corner more than into the near ones, and a wider feather
        // spreads it further.
        let stack = grid_stack(6, 6, &[(2, vec![1.0, 0.0, 0.0, 0.0])]);
        let narrow = Feathered::new(0.2).unwrap().combine(&stack).unwrap();
        let wide = Feathered::new(0.6).unwrap().combine(&stack).unwrap();
        let (n, w) = (narrow.heatmap.values(), wide.heatmap.values());
        assert_eq!(n[[0, 0]], 1.0);
        assert!(n[[0, 3]] > n[[0, 5]] && n[[3, 3]] < n[[0, 3]]);
        assert!(w[[0, 4]] > n[[0, 4]]);
        for bad in [-0.1, 10.5, f64::NAN, f64::INFINITY] {
            assert!(Feathered::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn density_by_hand() {
        // One level of 2 segments (halves of a 1×4 image) with β = (2, 1):
        // densities 1 and 0.5; a second level of 4 one-pixel segments with
        // β = (0, 1, 0, 0). Mean densities (0.5, 1, 0.25, 0.25) → [0, 1].
        let labels_a = Array2::from_shape_vec((1, 4), vec![0, 0, 1, 1]).unwrap();
        let labels_b = Array2::from_shape_vec((1, 4), vec![0, 1, 2, 3]).unwrap();
        let level = |labels: Array2<u32>, b: Vec<f64>| {
            let seg = Segmentation::new(labels).unwrap();
            let heatmap = Heatmap::paint(&seg, &crate::Normalization::MinMax.apply(&b)).unwrap();
            crate::heatmap::LevelExplanation {
                desired: seg.count(),
                actual: seg.count(),
                segmentation: std::sync::Arc::new(seg),
                samples: 10,
                calls: 10,
                coefficients: ndarray::Array1::from(b),
                intercept: 0.0,
                r2: 1.0,
                local_prediction: 0.0,
                std_errors: None,
                heatmap,
            }
        };
        let stack = HeatmapStack::new(
            0,
            vec![
                level(labels_a, vec![2.0, 1.0]),
                level(labels_b, vec![0.0, 1.0, 0.0, 0.0]),
            ],
        );
        let fused = Density.combine(&stack).unwrap();
        let expected = [1.0 / 3.0, 1.0, 0.0, 0.0];
        for (v, e) in fused.heatmap.values().iter().zip(expected) {
            assert_relative_eq!(f64::from(*v), e, epsilon = 1e-6);
        }
        assert!(Density.combine(&HeatmapStack::new(0, vec![])).is_err());
    }
}
