//! The ridge's standard errors (HC1 sandwich) and the intervals built on
//! them: against a naive implementation of the formula, and their
//! invariances.

use multiscale_lime::Preset;
use multiscale_lime::{
    FnClassifier, Image, MultiScaleLime, Ridge, SquareGrid, SurrogateFitter, Target,
};
use nalgebra::DMatrix;
use ndarray::{Array1, Array2, Array3};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random LIME-like problem: 0/1 masks with row 0 all ones, a target,
/// positive weights.
fn problem(n: usize, k: usize, seed: u64) -> (Array2<f32>, Array1<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random::<bool>())));
    z.row_mut(0).fill(1.0);
    let beta: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let y = Array1::from_shape_fn(n, |i| {
        let linear: f64 = (0..k).map(|j| f64::from(z[[i, j]]) * beta[j]).sum();
        linear + 0.3 * rng.random_range(-1.0..1.0) + 0.2 * f64::from(z[[i, 0]] * z[[i, k - 1]])
    });
    let w = Array1::from_shape_fn(n, |_| rng.random_range(0.05..1.0));
    (z, y, w)
}

/// The formula written out: `√diag(n/(n−p) · A⁻¹ Σᵢ πᵢ² rᵢ² z̃ᵢz̃ᵢᵀ A⁻¹)`.
fn naive(z: &Array2<f32>, y: &Array1<f64>, w: &Array1<f64>, alpha: f64) -> Vec<f64> {
    let (n, k) = z.dim();
    let total: f64 = w.sum();
    let mean: Vec<f64> = (0..k)
        .map(|j| (0..n).map(|i| w[i] * f64::from(z[[i, j]])).sum::<f64>() / total)
        .collect();
    let zc = DMatrix::from_fn(n, k, |i, j| f64::from(z[[i, j]]) - mean[j]);
    let mut a = DMatrix::zeros(k, k);
    for i in 0..n {
        let row = zc.row(i);
        a += w[i] * row.transpose() * row;
    }
    for j in 0..k {
        a[(j, j)] += alpha;
    }
    let a_inv = a.try_inverse().unwrap();
    let fit = Ridge::new(alpha)
        .unwrap()
        .fit(z.view(), y.view(), w.view())
        .unwrap();
    let mut meat = DMatrix::zeros(k, k);
    for i in 0..n {
        let pred = fit.intercept
            + (0..k)
                .map(|j| f64::from(z[[i, j]]) * fit.coefficients[j])
                .sum::<f64>();
        let r = y[i] - pred;
        let row = zc.row(i);
        meat += (w[i] * r).powi(2) * row.transpose() * row;
    }
    let cov = &a_inv * meat * &a_inv * (n as f64 / (n - k - 1) as f64);
    (0..k).map(|j| cov[(j, j)].sqrt()).collect()
}

fn std_errors(z: &Array2<f32>, y: &Array1<f64>, w: &Array1<f64>) -> Vec<f64> {
    Ridge::default()
        .fit(z.view(), y.view(), w.view())
        .unwrap()
        .std_errors
        .expect("more samples than parameters")
        .to_vec()
}

fn close(a: &[f64], b: &[f64], rel: f64) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= rel * x.abs().max(y.abs()).max(1e-12))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sandwich_equals_the_formula(n in 12usize..300, k in 2usize..10, seed in 0u64..1000,
                                   alpha in prop_oneof![Just(1.0), Just(0.01), Just(7.5)]) {
        prop_assume!(n > k + 1);
        let (z, y, w) = problem(n, k, seed);
        let fit = Ridge::new(alpha).unwrap().fit(z.view(), y.view(), w.view()).unwrap();
        let ours = fit.std_errors.unwrap().to_vec();
        prop_assert!(close(&ours, &naive(&z, &y, &w, alpha), 1e-8), "{ours:?}");
    }

    #[test]
    fn scaling_the_target_scales_the_errors(n in 20usize..200, k in 2usize..8, seed in 0u64..1000,
                                            c in prop_oneof![Just(-3.0), Just(0.5), Just(10.0)]) {
        let (z, y, w) = problem(n, k, seed);
        let base = std_errors(&z, &y, &w);
        let scaled = std_errors(&z, &y.mapv(|v| c * v), &w);
        // β and the residuals are linear in y, so the errors scale by |c|.
        let expected: Vec<f64> = base.iter().map(|s| s * f64::abs(c)).collect();
        prop_assert!(close(&scaled, &expected, 1e-8));
    }

    #[test]
    fn shifting_the_target_changes_no_error(n in 20usize..200, k in 2usize..8, seed in 0u64..1000,
                                            shift in -5.0f64..5.0) {
        let (z, y, w) = problem(n, k, seed);
        let shifted = std_errors(&z, &y.mapv(|v| v + shift), &w);
        prop_assert!(close(&shifted, &std_errors(&z, &y, &w), 1e-7));
    }

    #[test]
    fn the_order_of_the_samples_changes_no_error(n in 20usize..200, k in 2usize..8, seed in 0u64..1000) {
        let (z, y, w) = problem(n, k, seed);
        let order: Vec<usize> = (0..n).rev().collect();
        let zr = Array2::from_shape_fn((n, k), |(i, j)| z[[order[i], j]]);
        let yr = Array1::from_shape_fn(n, |i| y[order[i]]);
        let wr = Array1::from_shape_fn(n, |i| w[order[i]]);
        prop_assert!(close(&std_errors(&zr, &yr, &wr), &std_errors(&z, &y, &w), 1e-8));
    }

    #[test]
    fn errors_shrink_as_samples_grow(k in 3usize..8, seed in 0u64..1000) {
        // Four times the samples of one problem: about half the error.
        let (z, y, w) = problem(1600, k, seed);
        let few = std_errors(&z.slice(ndarray::s![..100, ..]).to_owned(), &y.slice(ndarray::s![..100]).to_owned(), &w.slice(ndarray::s![..100]).to_owned());
        let many = std_errors(&z.slice(ndarray::s![..400, ..]).to_owned(), &y.slice(ndarray::s![..400]).to_owned(), &w.slice(ndarray::s![..400]).to_owned());
        let ratio = many.iter().sum::<f64>() / few.iter().sum::<f64>();
        prop_assert!(ratio < 0.75 && ratio > 0.3, "ratio {ratio}");
    }
}

#[test]
fn an_exactly_linear_target_has_no_error() {
    let (z, _, w) = problem(200, 5, 3);
    let y = Array1::from_shape_fn(200, |i| {
        0.5 + 2.0 * f64::from(z[[i, 1]]) - f64::from(z[[i, 4]])
    });
    let fit = Ridge::new(1e-12)
        .unwrap()
        .fit(z.view(), y.view(), w.view())
        .unwrap();
    assert!(fit.std_errors.unwrap().iter().all(|&s| s < 1e-9));
}

#[test]
fn too_few_samples_give_no_errors() {
    let (z, y, w) = problem(6, 5, 1);
    let fit = Ridge::default().fit(z.view(), y.view(), w.view()).unwrap();
    assert!(fit.std_errors.is_none());
    let fit = Ridge::default()
        .fit_intercept(false)
        .fit(z.view(), y.view(), w.view())
        .unwrap();
    assert!(fit.std_errors.is_some());
}

#[test]
fn level_intervals_contain_their_coefficient_and_widen_with_confidence() {
    let image = Image::new(Array3::from_shape_fn((16, 16, 3), |(y, x, c)| {
        ((y * 7 + x * 3 + c) % 11) as f32 / 10.0
    }))
    .unwrap();
    // A non-linear score of the left half: the surrogate cannot fit it
    // exactly, so the intervals have width.
    let clf = FnClassifier::new(1, |b: ndarray::ArrayView4<'_, f32>| {
        Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| {
            let left: f32 = b.slice(ndarray::s![i, .., ..8, ..]).sum() / 384.0;
            left * left
        }))
    });
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 16])
        .build()
        .unwrap();
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    for level in e.stacks()[0].levels() {
        let narrow = level.intervals(0.5).unwrap().unwrap();
        let wide = level.intervals(0.95).unwrap().unwrap();
        for (j, (&b, (n, w))) in level
            .coefficients
            .iter()
            .zip(narrow.iter().zip(&wide))
            .enumerate()
        {
            assert!(n.0 <= b && b <= n.1, "segment {j}");
            assert!(w.0 < n.0 && n.1 < w.1, "segment {j}: 95 % wider than 50 %");
            // Symmetric about β, half-widths in the ratio of the quantiles.
            let ratio = (w.1 - b) / (n.1 - b);
            assert!((ratio - 1.959963984540054 / 0.6744897501960817).abs() < 1e-6);
        }
        assert!(level.intervals(1.0).is_err());
    }
}

#[test]
fn standard_errors_can_be_switched_off_without_changing_the_fit() {
    let (z, y, w) = problem(300, 6, 8);
    let with = Ridge::default().fit(z.view(), y.view(), w.view()).unwrap();
    let without = Ridge::default()
        .std_errors(false)
        .fit(z.view(), y.view(), w.view())
        .unwrap();
    assert!(without.std_errors.is_none() && with.std_errors.is_some());
    assert_eq!(with.coefficients, without.coefficients);
    assert_eq!(with.intercept.to_bits(), without.intercept.to_bits());
}
