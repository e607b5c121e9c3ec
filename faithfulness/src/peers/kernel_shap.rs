//! KernelSHAP (Lundberg & Lee, NeurIPS 2017) on superpixels, as `shap`'s
//! `KernelExplainer` computes it.
//!
//! A coalition `z ∈ {0,1}^M` keeps the superpixels where `zₖ = 1` and shows
//! the baseline image elsewhere. The Shapley kernel
//! `π(z) = (M − 1) / (C(M,|z|)·|z|·(M − |z|))` ([`shapley_kernel`]) weighs
//! the coalitions; `φ₀ = f(∅)` and `Σφ = f(x) − f(∅)` hold exactly (the
//! last variable is eliminated) and the other `φ` solve the weighted least
//! squares.
//!
//! Sampling, as `KernelExplainer.explain`: subset sizes `k` are taken in
//! pairs (`k` and `M − k`), smallest first; each size's share of the
//! kernel's mass is `∝ (M − 1)/(k(M − k))`, doubled for a pair. While the
//! samples left cover every subset of a size (and its complements) in
//! proportion to its share, the size is enumerated, each subset weighted
//! by its share over its count; the remaining sizes are sampled by share,
//! each draw with its complement (paired sampling), a repeated draw adding
//! 1 to its weight instead of a call, and these weights are scaled to the
//! share left. As in `shap`, at most `2^M − 2` coalitions (`2^30` for
//! `M > 30`) and at most `4×` the samples left in draws.
//!
//! Deviations: no L1 feature selection (`shap`'s `l1_reg`; the plain
//! weighted least squares, as captum's `KernelShap` fits); the normal
//! equations are solved by Cholesky, and when they are (numerically)
//! singular, as with fewer coalitions than superpixels, by the minimum-norm
//! least-squares solution (`shap` falls back to `lstsq` on an exactly
//! singular system).

use std::collections::HashMap;

use multiscale_lime::ndarray::Array2;
use multiscale_lime::{Classifier, Error, Heatmap, Image, Result, Segmentation};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{check_baseline, check_class, invalid, score_all, score_image};

/// The ChaCha stream of KernelSHAP's draws (RISE uses another).
const STREAM: u64 = 2;

/// The Shapley kernel `π(z)` of a coalition of `size` of `segments`
/// superpixels: `(M − 1) / (C(M,|z|)·|z|·(M − |z|))`, infinite for the
/// empty and the full coalition (which the explainer enforces exactly).
pub fn shapley_kernel(segments: usize, size: usize) -> f64 {
    if size == 0 || size >= segments {
        return f64::INFINITY;
    }
    (segments - 1) as f64 / (binom(segments, size) * (size * (segments - size)) as f64)
}

/// `C(n, k)` in floating point.
fn binom(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (1..=k).fold(1.0, |acc, i| acc * (n - k + i) as f64 / i as f64)
}

/// The coalitions KernelSHAP scores (besides `∅` and the full one) and
/// their regression weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Coalitions {
    /// One row per coalition, `1` where a superpixel is kept.
    pub masks: Array2<u8>,
    /// Each row's weight in the least squares.
    pub weights: Vec<f64>,
    /// The rows of whole enumerated subset sizes (the first rows); the
    /// others were sampled.
    pub enumerated: usize,
}

/// KernelSHAP's values for one class.
#[derive(Debug, Clone)]
pub struct ShapValues {
    /// `φ₁ … φ_M`, one per superpixel.
    pub phi: Vec<f64>,
    /// `φ₀ = f(∅)`: the score of the baseline image.
    pub base: f64,
    /// `f(x)`: the score of the image.
    pub full: f64,
    /// Model calls: the coalitions scored, `f(∅)` included (`f(x)` not).
    pub calls: usize,
    /// `φₖ` painted on superpixel `k`.
    pub heatmap: Heatmap,
}

/// KernelSHAP at a budget of model calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelShap {
    budget: usize,
}

/// Coalitions in the making: rows of 0/1 and their weights.
struct Draft {
    segments: usize,
    rows: Vec<u8>,
    weights: Vec<f64>,
}

impl Draft {
    fn len(&self) -> usize {
        self.weights.len()
    }

    /// Adds `row`, and its complement when `paired`, each at weight `w`.
    fn push(&mut self, row: &[u8], w: f64, paired: bool) {
        self.rows.extend_from_slice(row);
        self.weights.push(w);
        if paired {
            self.rows.extend(row.iter().map(|&v| 1 - v));
            self.weights.push(w);
        }
    }
}

/// `shap`'s share of the kernel's mass per subset size `1..=⌈(M−1)/2⌉`
/// (a paired size counting its complements), and the number of paired sizes.
fn size_weights(m: usize) -> (Vec<f64>, usize) {
    let sizes = (m - 1).div_ceil(2);
    let paired = (m - 1) / 2;
    let mut weights: Vec<f64> = (1..=sizes)
        .map(|k| (m - 1) as f64 / (k * (m - k)) as f64)
        .collect();
    for w in weights.iter_mut().take(paired) {
        *w *= 2.0;
    }
    let total: f64 = weights.iter().sum();
    for w in &mut weights {
        *w /= total;
    }
    (weights, paired)
}

/// The next `k`-combination of `0..n` in lexicographic order
/// (`itertools.combinations`'), or `false` after the last.
fn next_combination(idx: &mut [usize], n: usize) -> bool {
    let k = idx.len();
    let Some(i) = (0..k).rev().find(|&i| idx[i] != i + n - k) else {
        return false;
    };
    idx[i] += 1;
    for j in i + 1..k {
        idx[j] = idx[j - 1] + 1;
    }
    true
}

/// Enumerates whole subset sizes while `samples` cover them; returns how
/// many sizes were enumerated.
fn enumerate(samples: usize, weights: &[f64], paired: usize, draft: &mut Draft) -> usize {
    let m = draft.segments;
    let mut left = samples as f64;
    let mut remaining = weights.to_vec();
    let mut full = 0;
    for size in 1..=weights.len() {
        let is_paired = size <= paired;
        let count = binom(m, size) * if is_paired { 2.0 } else { 1.0 };
        if left * remaining[size - 1] / count < 1.0 - 1e-8 {
            break;
        }
        full += 1;
        left -= count;
        if remaining[size - 1] < 1.0 {
            let rest = 1.0 - remaining[size - 1];
            for r in &mut remaining {
                *r /= rest;
            }
        }
        let w = weights[size - 1] / count;
        let mut idx: Vec<usize> = (0..size).collect();
        let mut row = vec![0u8; m];
        loop {
            row.fill(0);
            for &k in &idx {
                row[k] = 1;
            }
            draft.push(&row, w, is_paired);
            if !next_combination(&mut idx, m) {
                break;
            }
        }
    }
    full
}

/// Samples the sizes not enumerated until `samples` coalitions are drawn
/// (or `4×` the samples left in draws), then scales their weights to the
/// kernel's mass left.
fn sample_rest(
    samples: usize,
    (weights, paired, full): (&[f64], usize, usize),
    draft: &mut Draft,
    rng: &mut ChaCha8Rng,
) {
    let m = draft.segments;
    let fixed = draft.len();
    let mut left = samples.saturating_sub(fixed);
    if full == weights.len() || left == 0 {
        return;
    }
    // Halved: each paired draw brings its complement.
    let share: Vec<f64> = (full..weights.len())
        .map(|i| weights[i] / if i < paired { 2.0 } else { 1.0 })
        .collect();
    let mut cdf: Vec<f64> = share
        .iter()
        .scan(0.0, |acc, &s| {
            *acc += s;
            Some(*acc)
        })
        .collect();
    let last = cdf[cdf.len() - 1];
    cdf.iter_mut().for_each(|c| *c /= last);
    let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut perm: Vec<usize> = (0..m).collect();
    let mut row = vec![0u8; m];
    let mut draws = 4 * left;
    while left > 0 && draws > 0 {
        draws -= 1;
        let u: f64 = rng.random();
        let ind = cdf.partition_point(|&c| c <= u).min(cdf.len() - 1);
        let size = ind + full + 1;
        // A partial Fisher–Yates shuffle: a uniform subset of `size`.
        for j in 0..size {
            let r = rng.random_range(j..m);
            perm.swap(j, r);
        }
        row.fill(0);
        for &k in &perm[..size] {
            row[k] = 1;
        }
        let mut key = vec![0u64; m.div_ceil(64)];
        for &k in &perm[..size] {
            key[k / 64] |= 1 << (k % 64);
        }
        let is_paired = size <= paired;
        if let Some(&at) = seen.get(&key) {
            draft.weights[at] += 1.0;
            if left > 0 && is_paired {
                if let Some(w) = draft.weights.get_mut(at + 1) {
                    *w += 1.0;
                }
            }
        } else {
            seen.insert(key, draft.len());
            let pair = is_paired && left > 1;
            draft.push(&row, 1.0, pair);
            left -= if pair { 2 } else { 1 };
        }
    }
    let mass: f64 = weights[full..].iter().sum();
    let drawn: f64 = draft.weights[fixed..].iter().sum();
    if drawn > 0.0 {
        for w in &mut draft.weights[fixed..] {
            *w *= mass / drawn;
        }
    }
}

impl KernelShap {
    /// The smallest budget: `f(∅)` and one coalition.
    pub const MIN_BUDGET: usize = 2;

    /// KernelSHAP scoring at most `budget` coalitions, `f(∅)` included.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `budget` is below
    /// [`KernelShap::MIN_BUDGET`]: the constraint needs `f(∅)`, the fit at
    /// least one coalition more.
    pub fn new(budget: usize) -> Result<Self> {
        if budget < Self::MIN_BUDGET {
            return Err(invalid(
                "budget",
                budget,
                "at least 2 (f(∅) and one coalition)",
            ));
        }
        Ok(KernelShap { budget })
    }

    /// The budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The coalitions drawn for `segments` superpixels besides `∅`: the
    /// budget less one, at most `2^M − 2` (`2^30` for `M > 30`); none for
    /// one superpixel, whose `φ` is `f(x) − f(∅)`.
    pub fn samples(&self, segments: usize) -> usize {
        if segments <= 1 {
            return 0;
        }
        let cap = if segments <= 30 {
            (1usize << segments) - 2
        } else {
            1 << 30
        };
        (self.budget - 1).min(cap)
    }

    /// The coalitions and weights for `segments` superpixels under `seed`,
    /// drawn as `shap`'s `KernelExplainer` draws them.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `segments` is 0.
    pub fn coalitions(&self, segments: usize, seed: u64) -> Result<Coalitions> {
        if segments == 0 {
            return Err(invalid("segments", segments, "at least 1"));
        }
        let samples = self.samples(segments);
        let mut draft = Draft {
            segments,
            rows: Vec::new(),
            weights: Vec::new(),
        };
        let mut enumerated = 0;
        if samples > 0 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(STREAM);
            let (weights, paired) = size_weights(segments);
            let full = enumerate(samples, &weights, paired, &mut draft);
            enumerated = draft.len();
            sample_rest(samples, (&weights, paired, full), &mut draft, &mut rng);
        }
        let masks = Array2::from_shape_vec((draft.len(), segments), draft.rows).map_err(|e| {
            Error::InconsistentInput {
                context: "kernelshap coalitions",
                reason: e.to_string(),
            }
        })?;
        Ok(Coalitions {
            masks,
            weights: draft.weights,
            enumerated,
        })
    }

    /// KernelSHAP's values of `class` on `image` over the superpixels of
    /// `segmentation`, hidden superpixels showing `baseline`, coalitions
    /// drawn from `seed`.
    ///
    /// # Errors
    /// A segmentation or baseline of another size than the image, a class
    /// the model does not have, or a failing model.
    pub fn explain<C: Classifier + ?Sized>(
        &self,
        image: &Image,
        model: &C,
        class: usize,
        segmentation: &Segmentation,
        baseline: &Image,
        seed: u64,
    ) -> Result<ShapValues> {
        let (h, w) = (image.height(), image.width());
        if segmentation.dim() != (h, w) {
            return Err(Error::InvalidSegmentation {
                reason: format!(
                    "label map is {:?} but the image is {:?}",
                    segmentation.dim(),
                    (h, w)
                ),
            });
        }
        check_baseline(image, baseline)?;
        check_class(model, class)?;
        let coalitions = self.coalitions(segmentation.count(), seed)?;
        let full = score_image(model, class, image)?;
        let base = score_image(model, class, baseline)?;
        let (x, b) = (image.as_slice(), baseline.as_slice());
        let labels = segmentation.as_slice();
        let n = coalitions.weights.len();
        let scores = score_all(model, class, n, (h, w), |i, pixels| {
            let row = coalitions.masks.row(i);
            for (p, &l) in labels.iter().enumerate() {
                let from = if row[l as usize] == 1 { x } else { b };
                pixels[3 * p..3 * p + 3].copy_from_slice(&from[3 * p..3 * p + 3]);
            }
        })?;
        let phi = solve(&coalitions, &scores, base, full);
        let heatmap = Heatmap::paint(segmentation, &phi)?;
        Ok(ShapValues {
            phi,
            base,
            full,
            calls: n + 1,
            heatmap,
        })
    }
}

/// `shap`'s `solve`: the last `φ` eliminated by `Σφ = f(x) − f(∅)`, the
/// others by weighted least squares on `z₁..z_{M−1} − z_M`.
fn solve(coalitions: &Coalitions, scores: &[f64], base: f64, full: f64) -> Vec<f64> {
    let (rows, m) = coalitions.masks.dim();
    let total = full - base;
    if m == 1 {
        return vec![total];
    }
    let k = m - 1;
    let mut a = vec![0.0f64; k * k];
    let mut b = vec![0.0f64; k];
    let mut x = vec![0.0f64; k];
    let design = coalitions.masks.rows().into_iter();
    for ((row, &score), &w) in design.zip(scores).zip(&coalitions.weights) {
        let last = f64::from(row[k]);
        for (xj, &z) in x.iter_mut().zip(&row) {
            *xj = f64::from(z) - last;
        }
        let y = (score - base) - last * total;
        for j in 0..k {
            if x[j] == 0.0 {
                continue;
            }
            let wx = w * x[j];
            b[j] += wx * y;
            for l in 0..=j {
                a[j * k + l] += wx * x[l];
            }
        }
    }
    for j in 0..k {
        for l in 0..j {
            a[l * k + j] = a[j * k + l];
        }
    }
    let mut phi = cholesky_solve(&a, &b, k).unwrap_or_else(|| min_norm_solve(&a, &b, k, rows));
    let rest: f64 = phi.iter().sum();
    phi.push(total - rest);
    phi
}

/// Solves `A β = b` for a symmetric positive definite `k × k` `A` by
/// Cholesky; `None` when a pivot is not clearly positive.
fn cholesky_solve(a: &[f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let scale = (0..k).map(|i| a[i * k + i]).fold(0.0f64, f64::max);
    let tol = scale * k as f64 * f64::EPSILON;
    let mut l = vec![0.0f64; k * k];
    for j in 0..k {
        let d = a[j * k + j] - (0..j).map(|p| l[j * k + p].powi(2)).sum::<f64>();
        if d.is_nan() || d <= tol {
            return None;
        }
        let ljj = d.sqrt();
        l[j * k + j] = ljj;
        for i in j + 1..k {
            let dot: f64 = (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum();
            l[i * k + j] = (a[i * k + j] - dot) / ljj;
        }
    }
    let mut y = vec![0.0f64; k];
    for i in 0..k {
        let dot: f64 = (0..i).map(|p| l[i * k + p] * y[p]).sum();
        y[i] = (b[i] - dot) / l[i * k + i];
    }
    let mut beta = vec![0.0f64; k];
    for i in (0..k).rev() {
        let dot: f64 = (i + 1..k).map(|p| l[p * k + i] * beta[p]).sum();
        beta[i] = (y[i] - dot) / l[i * k + i];
    }
    Some(beta)
}

/// The minimum-norm solution of the normal equations `A β = b` (`A`
/// symmetric, `k × k`, from `rows` coalitions), as `lstsq` gives it: by a
/// cyclic Jacobi eigendecomposition, eigenvalues below
/// `λ_max · max(rows, k) · ε` counted as zero.
fn min_norm_solve(a: &[f64], b: &[f64], k: usize, rows: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    let mut v: Vec<f64> = (0..k * k)
        .map(|i| f64::from(u8::from(i / k == i % k)))
        .collect();
    let norm: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off: f64 = (0..k)
            .flat_map(|p| (p + 1..k).map(move |q| (p, q)))
            .map(|(p, q)| a[p * k + q].powi(2))
            .sum();
        if off <= norm * 1e-30 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                jacobi_rotate(&mut a, &mut v, k, p, q);
            }
        }
    }
    let top = (0..k).map(|i| a[i * k + i].abs()).fold(0.0f64, f64::max);
    let tol = top * rows.max(k) as f64 * f64::EPSILON;
    let mut beta = vec![0.0f64; k];
    for i in 0..k {
        let lambda = a[i * k + i];
        if lambda > tol {
            let proj: f64 = (0..k).map(|r| v[r * k + i] * b[r]).sum::<f64>() / lambda;
            for r in 0..k {
                beta[r] += v[r * k + i] * proj;
            }
        }
    }
    beta
}

/// One Jacobi rotation zeroing `a[p][q]`, accumulated into `v`.
fn jacobi_rotate(a: &mut [f64], v: &mut [f64], k: usize, p: usize, q: usize) {
    let apq = a[p * k + q];
    if apq == 0.0 {
        return;
    }
    let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
    let c = 1.0 / (t * t + 1.0).sqrt();
    let s = t * c;
    for r in 0..k {
        let (rp, rq) = (a[r * k + p], a[r * k + q]);
        a[r * k + p] = c * rp - s * rq;
        a[r * k + q] = s * rp + c * rq;
    }
    for r in 0..k {
        let (pr, qr) = (a[p * k + r], a[q * k + r]);
        a[p * k + r] = c * pr - s * qr;
        a[q * k + r] = s * pr + c * qr;
    }
    for r in 0..k {
        let (rp, rq) = (v[r * k + p], v[r * k + q]);
        v[r * k + p] = c * rp - s * rq;
        v[r * k + q] = s * rp + c * rq;
    }
}
