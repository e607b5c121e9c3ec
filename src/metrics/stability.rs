//! Does the explanation survive a change of seed?

use crate::classify::Classifier;
use crate::combine::Combiner;
use crate::error::{Error, Result};
use crate::explain::{MultiScaleLime, Target};
use crate::heatmap::Heatmap;
use crate::input::Image;
use crate::perturb::Perturber;
use crate::segment::Segmenter;
use crate::surrogate::SurrogateFitter;

/// Pearson correlation of two heatmaps of the same size.
///
/// ```
/// use multiscale_lime::metrics::pearson;
/// use multiscale_lime::Heatmap;
/// use ndarray::array;
///
/// let a = Heatmap::new(array![[1.0, 2.0, 3.0]]);
/// let b = Heatmap::new(array![[2.0, 4.0, 6.0]]);
/// let c = Heatmap::new(array![[3.0, 2.0, 1.0]]);
/// assert!((pearson(&a, &b)? - 1.0).abs() < 1e-12);
/// assert!((pearson(&a, &c)? + 1.0).abs() < 1e-12);
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InconsistentInput`] for different sizes, non-finite values or a
/// constant heatmap (the correlation is undefined).
pub fn pearson(a: &Heatmap, b: &Heatmap) -> Result<f64> {
    if a.dim() != b.dim() {
        return Err(Error::inconsistent(
            "pearson",
            format!("sizes {:?} and {:?}", a.dim(), b.dim()),
        ));
    }
    let (x, y) = (a.values(), b.values());
    if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
        return Err(Error::inconsistent("pearson", "non-finite heatmap value"));
    }
    let n = x.len() as f64;
    let mx = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let my = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&u, &v) in x.iter().zip(y.iter()) {
        let (du, dv) = (f64::from(u) - mx, f64::from(v) - my);
        sxy += du * dv;
        sxx += du * du;
        syy += dv * dv;
    }
    if sxx == 0.0 || syy == 0.0 {
        return Err(Error::inconsistent(
            "pearson",
            "a heatmap is constant; the correlation is undefined",
        ));
    }
    Ok(sxy / (sxx * syy).sqrt())
}

/// Jaccard similarity of the `k` largest entries of two coefficient vectors
/// (segments of the same segmentation), ties broken by index.
///
/// ```
/// use multiscale_lime::metrics::jaccard_at_k;
/// let a = [0.9, 0.1, 0.5, 0.0];
/// let b = [0.8, 0.6, 0.0, 0.1];
/// assert_eq!(jaccard_at_k(&a, &b, 2)?, 1.0 / 3.0); // {0,2} vs {0,1}
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
///
/// # Errors
/// [`Error::InconsistentInput`] for different lengths or non-finite values;
/// [`Error::InvalidParameter`] unless `1 ≤ k ≤ len`.
pub fn jaccard_at_k(a: &[f64], b: &[f64], k: usize) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::inconsistent(
            "jaccard",
            format!("lengths {} and {}", a.len(), b.len()),
        ));
    }
    if k == 0 || k > a.len() {
        return Err(Error::invalid(
            "k",
            k,
            "between 1 and the number of segments",
        ));
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return Err(Error::inconsistent("jaccard", "non-finite coefficient"));
    }
    let top = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[j].total_cmp(&v[i]).then(i.cmp(&j)));
        let mut set = vec![false; v.len()];
        for &i in &idx[..k] {
            set[i] = true;
        }
        set
    };
    let (sa, sb) = (top(a), top(b));
    let inter = sa.iter().zip(&sb).filter(|(x, y)| **x && **y).count();
    let union = sa.iter().zip(&sb).filter(|(x, y)| **x || **y).count();
    Ok(inter as f64 / union as f64)
}

/// Agreement between explanations of the same image under different seeds.
///
/// Pairs of seeds come in the order `(0, 1), (0, 2), …, (1, 2), …` of
/// [`seeds`](Self::seeds).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StabilityReport {
    /// Mean pairwise Pearson correlation of the combined heatmaps.
    pub combined_pearson: f64,
    /// The Pearson correlation of every pair of seeds.
    pub pairwise_pearson: Vec<f64>,
    /// Per level, mean pairwise Jaccard@k of the top-`k` segments.
    pub level_jaccard: Vec<f64>,
    /// Per level, the Jaccard@k of every pair of seeds.
    pub pairwise_level_jaccard: Vec<Vec<f64>>,
    /// Per level, the `k` used: the asked `top_k`, or the level's segment
    /// count where that is smaller (see [`capped`](Self::capped)).
    pub level_top_k: Vec<usize>,
    /// The combined heatmap of each seed, in seed order.
    pub combined: Vec<Heatmap>,
    /// Seeds compared.
    pub seeds: Vec<u64>,
}

impl StabilityReport {
    /// Smallest and largest pairwise Pearson correlation.
    pub fn pearson_range(&self) -> (f64, f64) {
        let lo = self
            .pairwise_pearson
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .pairwise_pearson
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }

    /// The levels whose `k` was capped at their segment count (their top-`k`
    /// sets hold every segment, so their Jaccard is 1 by construction).
    pub fn capped(&self, top_k: usize) -> Vec<usize> {
        (0..self.level_top_k.len())
            .filter(|&l| self.level_top_k[l] < top_k)
            .collect()
    }
}

/// Explains `image` once per seed and compares the results pairwise: the
/// Pearson correlation of the combined heatmaps (by `combiner`) and, per
/// level, the Jaccard@k of the `top_k` segments (capped at the level's
/// segment count, which the report's `level_top_k` records). The first
/// explained class is compared (the predicted one for
/// [`Target::Predicted`] and [`Target::TopLabels`]). Values near 1 mean the
/// explanation does not depend on the sampling; low values call for more
/// samples.
///
/// # Errors
/// [`Error::InvalidParameter`] for fewer than 2 seeds or `top_k = 0`;
/// errors of [`MultiScaleLime::explain`] and of the combiner;
/// [`Error::InconsistentInput`] when a combined heatmap is constant.
pub fn stability<S, P, F, C, K>(
    explainer: &MultiScaleLime<S, P, F>,
    image: &Image,
    classifier: &C,
    target: Target,
    seeds: &[u64],
    combiner: &K,
    top_k: usize,
) -> Result<StabilityReport>
where
    S: Segmenter + Clone,
    P: Perturber + Clone,
    F: SurrogateFitter + Clone,
    C: Classifier + ?Sized,
    K: Combiner + ?Sized,
{
    if seeds.len() < 2 {
        return Err(Error::invalid("seeds", seeds.len(), "at least 2 seeds"));
    }
    if top_k == 0 {
        return Err(Error::invalid("top_k", 0, "at least 1"));
    }
    let runs = seeds
        .iter()
        .map(|&seed| explainer.with_seed(seed).explain(image, classifier, target))
        .collect::<Result<Vec<_>>>()?;
    let stacks: Vec<_> = runs.iter().map(|e| &e.stacks()[0]).collect();
    let combined = stacks
        .iter()
        .map(|stack| combiner.combine(stack).map(|c| c.heatmap))
        .collect::<Result<Vec<_>>>()?;
    let level_top_k: Vec<usize> = stacks[0]
        .levels()
        .iter()
        .map(|l| top_k.min(l.actual))
        .collect();
    let mut pairwise_pearson = Vec::new();
    let mut pairwise_level_jaccard = vec![Vec::new(); level_top_k.len()];
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            pairwise_pearson.push(pearson(&combined[i], &combined[j])?);
            let levels = stacks[i].levels().iter().zip(stacks[j].levels());
            for (l, (la, lb)) in levels.enumerate() {
                let (ca, cb) = (la.coefficients.to_vec(), lb.coefficients.to_vec());
                pairwise_level_jaccard[l].push(jaccard_at_k(&ca, &cb, level_top_k[l])?);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(StabilityReport {
        combined_pearson: mean(&pairwise_pearson),
        level_jaccard: pairwise_level_jaccard.iter().map(|p| mean(p)).collect(),
        pairwise_pearson,
        pairwise_level_jaccard,
        level_top_k,
        combined,
        seeds: seeds.to_vec(),
    })
}
