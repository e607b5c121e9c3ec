//! Does the explanation survive a change of seed?

use crate::classify::Classifier;
use crate::combine::Combiner;
use crate::error::{Error, Result};
use crate::explain::{MultiScaleLime, Target};
use crate::heatmap::Heatmap;
use crate::image::Image;
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
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StabilityReport {
    /// Mean pairwise Pearson correlation of the combined heatmaps.
    pub combined_pearson: f64,
    /// Per level, mean pairwise Jaccard@k of the top-`k` segments.
    pub level_jaccard: Vec<f64>,
    /// Seeds compared.
    pub seeds: Vec<u64>,
}

/// Explains `image` once per seed and compares the results pairwise: the
/// Pearson correlation of the combined heatmaps (by `combiner`) and, per
/// level, the Jaccard@k of the `top_k` segments (capped at the level's
/// segment count). Values near 1 mean the explanation does not depend on
/// the sampling; low values call for more samples.
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
    let combined = runs
        .iter()
        .map(|e| e.combine(combiner).map(|c| c.heatmap))
        .collect::<Result<Vec<_>>>()?;
    let levels = explainer.levels().len();
    let (mut pearson_sum, mut jaccard_sum, mut pairs) = (0.0, vec![0.0; levels], 0usize);
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            pearson_sum += pearson(&combined[i], &combined[j])?;
            let (a, b) = (&runs[i].stacks()[0], &runs[j].stacks()[0]);
            for (l, (la, lb)) in a.levels().iter().zip(b.levels()).enumerate() {
                let ca = la.coefficients.as_slice().unwrap_or(&[]);
                let cb = lb.coefficients.as_slice().unwrap_or(&[]);
                jaccard_sum[l] += jaccard_at_k(ca, cb, top_k.min(ca.len()))?;
            }
            pairs += 1;
        }
    }
    Ok(StabilityReport {
        combined_pearson: pearson_sum / pairs as f64,
        level_jaccard: jaccard_sum.into_iter().map(|s| s / pairs as f64).collect(),
        seeds: seeds.to_vec(),
    })
}
