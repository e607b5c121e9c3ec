//! Weighted ridge regression, solved exactly.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use super::uncertainty::sandwich_std_errors;
use super::{check_inputs, Surrogate, SurrogateFitter};
use crate::error::{Error, Result};

/// Weighted ridge regression: minimises
/// `Σᵢ πᵢ (yᵢ − b − zᵢ·β)² + α‖β‖²` (the intercept `b` is not penalised),
/// as `sklearn.linear_model.Ridge(alpha).fit(z, y, sample_weight=π)`.
///
/// Solved exactly: weighted centring, then the normal equations
/// `(Z̃ᵀΠZ̃ + αI) β = Z̃ᵀΠỹ` by Cholesky (nalgebra). Several targets share one
/// factorisation ([`SurrogateFitter::fit_many`]).
///
/// ```
/// use multiscale_lime::{Ridge, SurrogateFitter};
/// use ndarray::array;
///
/// let z = array![[1.0f32, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
/// let y = array![3.0, 2.0, 1.0, 0.0]; // y = 2·z₀ + z₁ exactly
/// let w = array![1.0, 1.0, 1.0, 1.0];
/// let fit = Ridge::new(1e-9)?.fit(z.view(), y.view(), w.view())?;
/// assert!((fit.coefficients[0] - 2.0).abs() < 1e-6);
/// assert!((fit.intercept).abs() < 1e-6);
/// assert!((fit.r2 - 1.0).abs() < 1e-9);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ridge {
    alpha: f64,
    fit_intercept: bool,
    std_errors: bool,
}

impl Default for Ridge {
    /// `alpha = 1`, with intercept: LIME's default surrogate.
    fn default() -> Self {
        Ridge {
            alpha: 1.0,
            fit_intercept: true,
            std_errors: true,
        }
    }
}

impl Ridge {
    /// Ridge with penalty `alpha` and an intercept.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `alpha` is finite and ≥ 0.
    pub fn new(alpha: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::invalid("alpha", alpha, "a finite value ≥ 0"));
        }
        Ok(Ridge {
            alpha,
            fit_intercept: true,
            std_errors: true,
        })
    }

    /// Whether to fit an intercept (default true). Without one, `b = 0` and
    /// nothing is centred.
    #[must_use]
    pub fn fit_intercept(mut self, on: bool) -> Self {
        self.fit_intercept = on;
        self
    }

    /// Whether to estimate each coefficient's standard error (default
    /// true): the sandwich estimator costs about `n·K²` operations, a few
    /// times the fit itself, and fills [`Surrogate::std_errors`].
    pub fn std_errors(mut self, on: bool) -> Self {
        self.std_errors = on;
        self
    }

    /// Whether standard errors are estimated.
    pub fn estimates_std_errors(&self) -> bool {
        self.std_errors
    }

    /// The penalty.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Whether an intercept is fitted.
    pub fn fits_intercept(&self) -> bool {
        self.fit_intercept
    }
}

impl SurrogateFitter for Ridge {
    fn estimates_std_errors(&self) -> bool {
        self.std_errors
    }

    fn fit(
        &self,
        z: ArrayView2<'_, f32>,
        y: ArrayView1<'_, f64>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<Surrogate> {
        let ys = y.insert_axis(Axis(1));
        let mut fits = self.fit_many(z, ys, weights)?;
        fits.pop()
            .ok_or_else(|| Error::inconsistent("surrogate fit", "no target column"))
    }

    fn fit_many(
        &self,
        z: ArrayView2<'_, f32>,
        ys: ArrayView2<'_, f64>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<Vec<Surrogate>> {
        check_inputs(z, ys, weights)?;
        let system = self.factorise(z, weights)?;
        ys.columns()
            .into_iter()
            .map(|y| self.fit_target(&system, z, y, weights))
            .collect()
    }
}

/// What every target of one fit shares: the weighted means of the masks
/// and the factorised normal equations.
struct NormalEquations {
    /// `Σ πᵢ`.
    total: f64,
    /// Weighted column means `z̄` (zeros without an intercept).
    z_mean: Vec<f64>,
    /// The √π-scaled, centred design and `√π`, kept only when the masks
    /// are not 0/1 (the bitset path needs neither).
    design: Option<(DMatrix<f64>, Vec<f64>)>,
    /// Cholesky factor of `Z̃ᵀΠZ̃ + αI`.
    chol: Cholesky<f64, Dyn>,
    /// `(Z̃ᵀΠZ̃ + αI)⁻¹` when standard errors are estimated.
    inverse: Option<DMatrix<f64>>,
    /// Fitted parameters: the coefficients and the intercept, if any.
    parameters: usize,
}

impl Ridge {
    /// Centres, builds and factorises `Z̃ᵀΠZ̃ + αI` once for all targets.
    fn factorise(
        &self,
        z: ArrayView2<'_, f32>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<NormalEquations> {
        let (n, k) = z.dim();
        let total: f64 = weights.sum();
        let z_mean: Vec<f64> = if self.fit_intercept {
            (0..k)
                .map(|j| {
                    z.column(j)
                        .iter()
                        .zip(weights)
                        .map(|(&v, &w)| f64::from(v) * w)
                        .sum::<f64>()
                        / total
                })
                .collect()
        } else {
            vec![0.0; k]
        };
        let (mut gram, design) = match binary_gram(z, weights) {
            // Zᵀ Π Z − W z̄ z̄ᵀ is the centred Gram matrix; without an
            // intercept z̄ = 0 and it is Zᵀ Π Z.
            Some(g) => (
                DMatrix::from_fn(k, k, |i, j| g[(i, j)] - total * z_mean[i] * z_mean[j]),
                None,
            ),
            None => {
                let root_w: Vec<f64> = weights.iter().map(|w| w.sqrt()).collect();
                let a =
                    DMatrix::from_fn(n, k, |i, j| (f64::from(z[[i, j]]) - z_mean[j]) * root_w[i]);
                (a.tr_mul(&a), Some((a, root_w)))
            }
        };
        for j in 0..k {
            gram[(j, j)] += self.alpha;
        }
        let chol = gram.cholesky().ok_or(Error::Singular {
            features: k,
            alpha: self.alpha,
        })?;
        // The standard errors need more samples than fitted parameters.
        let parameters = k + usize::from(self.fit_intercept);
        let inverse = (self.std_errors && n > parameters).then(|| chol.inverse());
        Ok(NormalEquations {
            total,
            z_mean,
            design,
            chol,
            inverse,
            parameters,
        })
    }

    /// One target's coefficients, intercept, R² and standard errors.
    fn fit_target(
        &self,
        system: &NormalEquations,
        z: ArrayView2<'_, f32>,
        y: ArrayView1<'_, f64>,
        weights: ArrayView1<'_, f64>,
    ) -> Result<Surrogate> {
        let (n, k) = z.dim();
        let total = system.total;
        let y_mean = y.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total;
        let centre = if self.fit_intercept { y_mean } else { 0.0 };
        let ss_tot: f64 = y
            .iter()
            .zip(weights)
            .map(|(v, w)| w * (v - y_mean).powi(2))
            .sum();
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // A target flat to rounding (the classifier ignored every
        // perturbation): nothing to explain, and fitting the rounding
        // noise would report a meaningless, even negative, R².
        if self.fit_intercept && ss_tot <= total * (scale * n as f64 * f64::EPSILON).powi(2) {
            return Ok(Surrogate {
                coefficients: Array1::zeros(k),
                intercept: y_mean,
                r2: 0.0,
                local_prediction: y_mean,
                std_errors: system.inverse.as_ref().map(|_| Array1::zeros(k)),
            });
        }
        let rhs = match &system.design {
            Some((a, root_w)) => {
                let b_vec = DVector::from_fn(n, |i, _| (y[i] - centre) * root_w[i]);
                a.tr_mul(&b_vec)
            }
            None => binary_rhs(z, y, weights, centre),
        };
        let beta = system.chol.solve(&rhs);
        if beta.iter().any(|v| !v.is_finite()) {
            return Err(Error::Singular {
                features: k,
                alpha: self.alpha,
            });
        }
        let intercept = if self.fit_intercept {
            centre
                - system
                    .z_mean
                    .iter()
                    .zip(beta.iter())
                    .map(|(m, b)| m * b)
                    .sum::<f64>()
        } else {
            0.0
        };
        let residuals = residuals(z, y, intercept, &beta);
        let ss_res: f64 = residuals.iter().zip(weights).map(|(r, w)| w * r * r).sum();
        let std_errors = system.inverse.as_ref().map(|inv| {
            sandwich_std_errors(
                z,
                &system.z_mean,
                weights,
                &residuals,
                inv,
                system.parameters,
            )
        });
        // sklearn's r2_score convention for a constant target.
        let r2 = if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
        // `new` sums the coefficients in the same order as before: the same
        // bits for `local_prediction`.
        let fit = Surrogate::new(beta.iter().copied().collect(), intercept, r2);
        Ok(Surrogate { std_errors, ..fit })
    }
}

/// `Σᵢ πᵢ zᵢⱼ (yᵢ − c)` for 0/1 masks: with an intercept (`c = ȳ`) the `z̄`
/// term of the centred design vanishes because `Σᵢ πᵢ (yᵢ − ȳ) = 0`.
fn binary_rhs(
    z: ArrayView2<'_, f32>,
    y: ArrayView1<'_, f64>,
    weights: ArrayView1<'_, f64>,
    centre: f64,
) -> DVector<f64> {
    let mut rhs = DVector::zeros(z.ncols());
    for (i, row) in z.rows().into_iter().enumerate() {
        let r = weights[i] * (y[i] - centre);
        // Branch-free (entries are 0/1 at random): the mask keeps `r` or
        // makes it +0.0, and adding +0.0 changes no sum that starts at +0.0
        // (such a sum never becomes −0.0).
        let add = |acc: &mut f64, zij: f32| {
            let keep = u64::from(zij != 0.0).wrapping_neg();
            *acc += f64::from_bits(r.to_bits() & keep);
        };
        match row.as_slice() {
            Some(row) => rhs
                .as_mut_slice()
                .iter_mut()
                .zip(row)
                .for_each(|(acc, &zij)| add(acc, zij)),
            None => rhs
                .iter_mut()
                .zip(row.iter())
                .for_each(|(acc, &zij)| add(acc, zij)),
        }
    }
    rhs
}

/// `yᵢ − b − zᵢ·β` for every row.
fn residuals(
    z: ArrayView2<'_, f32>,
    y: ArrayView1<'_, f64>,
    intercept: f64,
    beta: &DVector<f64>,
) -> Vec<f64> {
    y.iter()
        .zip(z.rows())
        .map(|(&yi, row)| {
            let pred = intercept
                + row
                    .iter()
                    .zip(beta.iter())
                    .map(|(&zij, b)| f64::from(zij) * b)
                    .sum::<f64>();
            yi - pred
        })
        .collect()
}

/// `Σᵢ πᵢ zᵢ zᵢᵀ` for a 0/1 mask matrix whose weights take few distinct
/// values (LIME's kernel depends only on how many segments a row keeps):
/// rows are grouped by weight, each group's columns packed into bitsets, and
/// every entry is `Σ_groups π_g · popcount(column_j & column_k)`, exact
/// integer counts. `None` when the masks are not 0/1 or the weights too
/// varied for this to pay off.
fn binary_gram(z: ArrayView2<'_, f32>, weights: ArrayView1<'_, f64>) -> Option<DMatrix<f64>> {
    let (n, k) = z.dim();
    if n < 64 {
        return None;
    }
    // Every entry is tested (no early exit), which vectorises: masks are
    // nearly always 0/1, so the full pass is what it costs anyway.
    let binary = |v: &f32| (*v == 0.0) | (*v == 1.0);
    let all_binary = match z.as_slice() {
        Some(entries) => entries.iter().fold(true, |ok, v| ok & binary(v)),
        None => z.iter().all(binary),
    };
    if !all_binary {
        return None;
    }
    let mut rows: Vec<(u64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_bits(), i))
        .collect();
    rows.sort_unstable();
    let mut groups: Vec<(f64, &[(u64, usize)])> = Vec::new();
    let mut rest = rows.as_slice();
    while let Some(&(bits, _)) = rest.first() {
        let len = rest.iter().take_while(|(b, _)| *b == bits).count();
        groups.push((f64::from_bits(bits), &rest[..len]));
        rest = &rest[len..];
    }
    if groups.len() * 8 > n {
        return None;
    }
    // Column-major bitsets: column j holds, group after group, one bit per row.
    let words: Vec<usize> = groups.iter().map(|(_, g)| g.len().div_ceil(64)).collect();
    let stride: usize = words.iter().sum();
    let mut bits = vec![0u64; stride * k];
    let mut offset = 0;
    for ((_, group), &w) in groups.iter().zip(&words) {
        for (slot, &(_, row)) in group.iter().enumerate() {
            // Branch-free: about half the entries are set, at random.
            for (j, &v) in z.row(row).iter().enumerate() {
                bits[j * stride + offset + slot / 64] |= u64::from(v != 0.0) << (slot % 64);
            }
        }
        offset += w;
    }
    let mut gram = DMatrix::zeros(k, k);
    for j in 0..k {
        let cj = &bits[j * stride..(j + 1) * stride];
        for l in j..k {
            let cl = &bits[l * stride..(l + 1) * stride];
            let (mut acc, mut at) = (0.0, 0);
            for ((weight, _), &w) in groups.iter().zip(&words) {
                let count: u32 = cj[at..at + w]
                    .iter()
                    .zip(&cl[at..at + w])
                    .map(|(a, b)| (a & b).count_ones())
                    .sum();
                acc += weight * f64::from(count);
                at += w;
            }
            gram[(j, l)] = acc;
            gram[(l, j)] = acc;
        }
    }
    Some(gram)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::Array2;
    use proptest::prelude::*;

    /// Deliberately naive oracle: the full (K+1)×(K+1) weighted normal
    /// equations with an unpenalised intercept, by Gaussian elimination.
    #[allow(clippy::needless_range_loop)]
    fn naive_ridge(
        z: &Array2<f32>,
        y: &Array1<f64>,
        w: &Array1<f64>,
        alpha: f64,
    ) -> (f64, Vec<f64>) {
        let (n, k) = z.dim();
        let m = k + 1;
        let x = |i: usize, j: usize| {
            if j == 0 {
                1.0
            } else {
                f64::from(z[[i, j - 1]])
            }
        };
        let mut a = vec![vec![0.0; m + 1]; m];
        for r in 0..m {
            for c in 0..m {
                a[r][c] = (0..n).map(|i| w[i] * x(i, r) * x(i, c)).sum::<f64>();
            }
            if r > 0 {
                a[r][r] += alpha;
            }
            a[r][m] = (0..n).map(|i| w[i] * x(i, r) * y[i]).sum::<f64>();
        }
        for col in 0..m {
            let piv = (col..m)
                .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
                .unwrap();
            a.swap(col, piv);
            for r in 0..m {
                if r != col {
                    let f = a[r][col] / a[col][col];
                    for c in col..=m {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        let sol: Vec<f64> = (0..m).map(|r| a[r][m] / a[r][r]).collect();
        (sol[0], sol[1..].to_vec())
    }

    /// LIME's weights: a function of how many segments a row keeps.
    fn kernel_weights(z: &Array2<f32>) -> Array1<f64> {
        let k = z.ncols();
        Array1::from_iter(z.rows().into_iter().map(|r| {
            let kept = r.iter().filter(|&&v| v == 1.0).count();
            crate::kernel::exponential_kernel(crate::kernel::cosine_distance(kept, k), 0.25)
        }))
    }

    proptest! {
        /// Both Gram paths: small problems and arbitrary weights take the
        /// dense one; 80 or more rows with LIME's kernel weights (at most
        /// k + 1 distinct values) take the bitset one.
        #[test]
        fn matches_naive_normal_equations(
            n in prop_oneof![3usize..40, 80usize..400],
            k in 1usize..9,
            alpha in 0.1f64..5.0,
            lime_weights in any::<bool>(),
            seed in any::<u64>(),
        ) {
            use rand::{RngExt, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random_bool(0.5))));
            let y = Array1::from_shape_fn(n, |_| rng.random_range(-2.0..2.0));
            let w = if lime_weights {
                kernel_weights(&z)
            } else {
                Array1::from_shape_fn(n, |_| rng.random_range(0.01..1.0))
            };
            let bitset = binary_gram(z.view(), w.view()).is_some();
            prop_assert_eq!(bitset, lime_weights && n >= 80);
            let fit = Ridge::new(alpha).unwrap().fit(z.view(), y.view(), w.view()).unwrap();
            let (b, beta) = naive_ridge(&z, &y, &w, alpha);
            prop_assert!((fit.intercept - b).abs() < 1e-8, "{} vs {}", fit.intercept, b);
            for (got, want) in fit.coefficients.iter().zip(&beta) {
                prop_assert!((got - want).abs() < 1e-8, "{got} vs {want}");
            }
            prop_assert!(fit.r2 <= 1.0 + 1e-12);
        }
    }

    #[test]
    fn bitset_gram_matches_the_dense_path() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (n, k) = (600, 40);
        let z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random_bool(0.5))));
        // LIME-style weights: a function of the kept count, so few distinct values.
        let w = Array1::from_iter(z.rows().into_iter().map(|r| {
            let kept = r.iter().filter(|&&v| v == 1.0).count();
            crate::kernel::exponential_kernel(crate::kernel::cosine_distance(kept, k), 0.25)
        }));
        let y = Array1::from_shape_fn(n, |_| rng.random::<f64>());
        assert!(binary_gram(z.view(), w.view()).is_some());
        let fast = Ridge::default().fit(z.view(), y.view(), w.view()).unwrap();
        // The same problem with one weight nudged per row takes the dense path.
        let w_dense = Array1::from_iter(
            w.iter()
                .enumerate()
                .map(|(i, v)| v * (1.0 + 1e-15 * i as f64)),
        );
        assert!(binary_gram(z.view(), w_dense.view()).is_none());
        let dense = Ridge::default()
            .fit(z.view(), y.view(), w_dense.view())
            .unwrap();
        for (a, b) in fast.coefficients.iter().zip(&dense.coefficients) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        assert!((fast.intercept - dense.intercept).abs() < 1e-9);
        assert!((fast.r2 - dense.r2).abs() < 1e-9);
    }

    #[test]
    fn a_flat_target_explains_nothing() {
        // A saturated classifier: every output is 1.0, and the weighted mean
        // of 1700 ones is not exactly 1 in floating point.
        let (n, k) = (1700, 40);
        let z = Array2::from_shape_fn((n, k), |(i, j)| {
            f32::from(u8::from((i * 7 + j * 3) % 5 < 2))
        });
        let w = Array1::from_shape_fn(n, |i| 0.1 + (i % 13) as f64 / 7.0);
        let fit = Ridge::default()
            .fit(z.view(), Array1::ones(n).view(), w.view())
            .unwrap();
        assert_eq!(fit.r2, 0.0);
        assert!(fit.coefficients.iter().all(|&b| b == 0.0));
        assert!((fit.intercept - 1.0).abs() < 1e-12);
        // One row off by one f32 step is a real (tiny) signal, not rounding.
        let mut y = Array1::<f64>::ones(n);
        y[5] = f64::from(1.0f32 - f32::EPSILON / 2.0);
        let fit = Ridge::default().fit(z.view(), y.view(), w.view()).unwrap();
        assert!(fit.r2 > 0.0 && fit.r2 <= 1.0, "{}", fit.r2);
        assert!(fit.coefficients.iter().any(|&b| b != 0.0));
    }

    #[test]
    fn fit_many_equals_separate_fits_and_the_oracle() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        // 5 rows (dense path) and 300 rows with LIME's weights (bitset path).
        for (n, k) in [(5, 2), (300, 7)] {
            let z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random_bool(0.5))));
            let w = if n < 64 {
                Array1::from_shape_fn(n, |_| rng.random_range(0.1..1.0))
            } else {
                kernel_weights(&z)
            };
            assert_eq!(binary_gram(z.view(), w.view()).is_some(), n >= 64);
            let ys = Array2::from_shape_fn((n, 3), |_| rng.random_range(-1.0..2.0));
            let r = Ridge::new(0.7).unwrap();
            let many = r.fit_many(z.view(), ys.view(), w.view()).unwrap();
            assert_eq!(many.len(), 3);
            for (t, fit) in many.iter().enumerate() {
                let y = ys.column(t).to_owned();
                let (b, beta) = naive_ridge(&z, &y, &w, 0.7);
                assert_relative_eq!(fit.intercept, b, epsilon = 1e-9);
                for (got, want) in fit.coefficients.iter().zip(&beta) {
                    assert_relative_eq!(*got, *want, epsilon = 1e-9);
                }
                let one = r.fit(z.view(), y.view(), w.view()).unwrap();
                assert_eq!(fit.coefficients, one.coefficients);
                assert_eq!(fit.intercept.to_bits(), one.intercept.to_bits());
                assert_eq!(fit.r2.to_bits(), one.r2.to_bits());
                assert_eq!(
                    fit.local_prediction.to_bits(),
                    one.local_prediction.to_bits()
                );
            }
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        let z = Array2::<f32>::ones((3, 2));
        let y = Array1::<f64>::zeros(3);
        let w = Array1::<f64>::ones(3);
        let r = Ridge::default();
        assert!(matches!(
            Ridge::new(-1.0),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Ridge::new(f64::NAN),
            Err(Error::InvalidParameter { .. })
        ));
        let short = Array1::<f64>::ones(2);
        assert!(matches!(
            r.fit(z.view(), y.view(), short.view()),
            Err(Error::InconsistentInput { .. })
        ));
        let mut nan = y.clone();
        nan[1] = f64::NAN;
        assert!(r.fit(z.view(), nan.view(), w.view()).is_err());
        let zero = Array1::<f64>::zeros(3);
        assert!(r.fit(z.view(), y.view(), zero.view()).is_err());
        let neg = ndarray::array![1.0, -1.0, 1.0];
        assert!(r.fit(z.view(), y.view(), neg.view()).is_err());
        // alpha = 0 with constant masks: the centred design is all zeros.
        let unpenalised = Ridge::new(0.0).unwrap();
        assert!(matches!(
            unpenalised.fit(z.view(), y.view(), w.view()),
            Err(Error::Singular { .. })
        ));
    }
}
