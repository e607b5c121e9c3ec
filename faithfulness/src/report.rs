//! Scoring heatmaps, and the summary over cases: medians and quartiles.

use std::collections::BTreeMap;

use multiscale_lime::metrics::{
    deletion_curve, insertion_curve, pearson, pixel_auc, pointing_game, relevance_mass,
};
use multiscale_lime::{Heatmap, Result};
use serde_json::{json, Value};

use crate::cases::{Case, Group};

/// Steps of the deletion and insertion curves.
pub const CURVE_STEPS: usize = 50;
/// Blur of the insertion curve's starting image, in pixels.
pub const INSERTION_BLUR: f32 = 5.0;

/// The names of the scores, in table order.
pub const METRICS: [&str; 6] = [
    "pixel_auc",
    "relevance_mass",
    "pointing_game",
    "deletion_auc",
    "insertion_auc",
    "stability",
];

/// One heatmap's scores against its case (stability is over seeds, so
/// not here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// AUC-ROC of the heatmap against the truth mask.
    pub pixel_auc: f64,
    /// Share of the positive relevance inside the truth.
    pub relevance_mass: f64,
    /// 1 when the maximum lies in the truth, else 0.
    pub pointing_game: f64,
    /// Deletion AUC on the case's model (lower is better).
    pub deletion_auc: f64,
    /// Insertion AUC on the case's model (higher is better).
    pub insertion_auc: f64,
}

/// Scores `heatmap` against `case`: the truth metrics, then deletion (the
/// case's hide colour) and insertion on the case's model.
///
/// # Errors
/// When a metric fails (a constant or non-finite heatmap is scored, not
/// an error: a constant map ranks nothing and gets chance scores).
pub fn score(case: &Case, heatmap: &Heatmap) -> Result<Scores> {
    let truth = case.truth.view();
    Ok(Scores {
        pixel_auc: pixel_auc(heatmap, truth)?,
        relevance_mass: relevance_mass(heatmap, truth)?,
        pointing_game: f64::from(u8::from(pointing_game(heatmap, truth, 0)?)),
        deletion_auc: deletion_curve(
            &case.image,
            heatmap,
            &*case.model,
            case.class,
            CURVE_STEPS,
            case.hide,
        )?
        .auc,
        insertion_auc: insertion_curve(
            &case.image,
            heatmap,
            &*case.model,
            case.class,
            CURVE_STEPS,
            INSERTION_BLUR,
        )?
        .auc,
    })
}

/// Mean Pearson correlation over every pair of `maps` (the seeds of one
/// method on one case); a pair with a constant map counts 0.
pub fn stability(maps: &[Heatmap]) -> f64 {
    let mut total = 0.0;
    let mut pairs = 0usize;
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            total += pearson(a, b).unwrap_or(0.0);
            pairs += 1;
        }
    }
    if pairs == 0 {
        1.0
    } else {
        total / pairs as f64
    }
}

/// One method on one case, over the seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub case: String,
    /// The case's group.
    pub group: Group,
    /// The method's name.
    pub method: String,
    /// Model calls per explanation (the mean over seeds).
    pub calls: f64,
    /// Each metric of [`METRICS`], averaged over the seeds (stability: over
    /// the pairs of seeds).
    pub metrics: [f64; 6],
    /// Pixel AUC and deletion AUC of each seed's map, in seed order.
    pub by_seed: Vec<[f64; 2]>,
}

impl CaseResult {
    /// Averages the seeds' scores of one method on one case.
    pub fn new(
        case: &Case,
        method: &str,
        calls: &[usize],
        scores: &[Scores],
        maps: &[Heatmap],
    ) -> Self {
        let n = scores.len().max(1) as f64;
        let mean = |f: fn(&Scores) -> f64| scores.iter().map(f).sum::<f64>() / n;
        CaseResult {
            case: case.name.clone(),
            group: case.group,
            method: method.to_string(),
            calls: calls.iter().sum::<usize>() as f64 / calls.len().max(1) as f64,
            metrics: [
                mean(|s| s.pixel_auc),
                mean(|s| s.relevance_mass),
                mean(|s| s.pointing_game),
                mean(|s| s.deletion_auc),
                mean(|s| s.insertion_auc),
                stability(maps),
            ],
            by_seed: scores
                .iter()
                .map(|s| [s.pixel_auc, s.deletion_auc])
                .collect(),
        }
    }
}

/// The `q`-quantile of `values` (linear between order statistics, as
/// numpy's default); NaN for none.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let at = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
        }
    }
}

/// Median and quartiles of one metric of one method over a group's cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        Spread {
            q1: quantile(values, 0.25),
            median: quantile(values, 0.5),
            q3: quantile(values, 0.75),
        }
    }
}

/// The summary of one method in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The group.
    pub group: Group,
    /// The method.
    pub method: String,
    /// Cases summarised.
    pub cases: usize,
    /// Median model calls per explanation.
    pub calls: f64,
    /// Each metric of [`METRICS`].
    pub metrics: [Spread; 6],
    /// Pixel AUC and deletion AUC over the seeds: for each seed the mean
    /// over the group's cases, then the mean and the standard deviation
    /// (n − 1) of those per-seed means. The deviation is how much a method's
    /// figure moves with the seed alone.
    pub seed_spread: [(f64, f64); 2],
}

/// The mean over seeds of the per-seed case means of metric `m` (0: pixel
/// AUC, 1: deletion AUC), and their standard deviation.
fn seed_spread(rows: &[&CaseResult], m: usize) -> (f64, f64) {
    let seeds = rows.iter().map(|r| r.by_seed.len()).min().unwrap_or(0);
    if seeds == 0 || rows.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let per_seed: Vec<f64> = (0..seeds)
        .map(|s| rows.iter().map(|r| r.by_seed[s][m]).sum::<f64>() / rows.len() as f64)
        .collect();
    let mean = per_seed.iter().sum::<f64>() / seeds as f64;
    let var = if seeds > 1 {
        per_seed.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (seeds - 1) as f64
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Summaries per group and method, methods in first-seen order.
pub fn summarise(results: &[CaseResult]) -> Vec<Summary> {
    let mut order: Vec<(Group, String)> = Vec::new();
    let mut by: BTreeMap<(Group, String), Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        let key = (r.group, r.method.clone());
        if !by.contains_key(&key) {
            order.push(key.clone());
        }
        by.entry(key).or_default().push(r);
    }
    order.sort_by_key(|k| k.0);
    order
        .into_iter()
        .map(|key| {
            let rows = &by[&key];
            let column = |i: usize| rows.iter().map(|r| r.metrics[i]).collect::<Vec<_>>();
            Summary {
                group: key.0,
                method: key.1.clone(),
                cases: rows.len(),
                calls: quantile(&rows.iter().map(|r| r.calls).collect::<Vec<_>>(), 0.5),
                metrics: std::array::from_fn(|i| Spread::of(&column(i))),
                seed_spread: [seed_spread(rows, 0), seed_spread(rows, 1)],
            }
        })
        .collect()
}

/// The summaries as a Markdown table: the median, and the quartiles in
/// brackets.
pub fn table(summaries: &[Summary]) -> String {
    let mut out = String::from(
        "| group | method | calls | pixel AUC ↑ | relevance mass ↑ | pointing ↑ | deletion AUC ↓ | insertion AUC ↑ | stability ↑ |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for s in summaries {
        out.push_str(&format!(
            "| {} | {} | {:.0} |",
            s.group.name(),
            s.method,
            s.calls
        ));
        for m in &s.metrics {
            out.push_str(&format!(" {:.3} [{:.3}, {:.3}] |", m.median, m.q1, m.q3));
        }
        out.push('\n');
    }
    out
}

/// Per group and method: calls, pixel AUC and deletion AUC as the mean ±
/// standard deviation over seeds (of the per-seed means over cases), and
/// the median stability, as a Markdown table.
pub fn seed_table(summaries: &[Summary]) -> String {
    let mut out = String::from(
        "| group | method | calls | pixel AUC ↑ (mean ± sd over seeds) | deletion AUC ↓ (mean ± sd over seeds) | stability ↑ |\n\
         |---|---|---|---|---|---|\n",
    );
    for s in summaries {
        let [(p, ps), (d, ds)] = s.seed_spread;
        out.push_str(&format!(
            "| {} | {} | {:.0} | {p:.4} ± {ps:.4} | {d:.4} ± {ds:.4} | {:.4} |\n",
            s.group.name(),
            s.method,
            s.calls,
            s.metrics[5].median,
        ));
    }
    out
}

/// Everything as JSON: the settings, every case result and the summaries.
pub fn to_json(settings: Value, results: &[CaseResult], summaries: &[Summary]) -> Value {
    let metrics = |values: &[f64; 6]| -> Value {
        METRICS
            .iter()
            .zip(values)
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "settings": settings,
        "summary": summaries.iter().map(|s| json!({
            "group": s.group.name(),
            "method": s.method,
            "cases": s.cases,
            "calls": s.calls,
            "median": metrics(&s.metrics.map(|m| m.median)),
            "q1": metrics(&s.metrics.map(|m| m.q1)),
            "q3": metrics(&s.metrics.map(|m| m.q3)),
            "over_seeds": {
                "pixel_auc": {"mean": s.seed_spread[0].0, "sd": s.seed_spread[0].1},
                "deletion_auc": {"mean": s.seed_spread[1].0, "sd": s.seed_spread[1].1},
            },
        })).collect::<Vec<_>>(),
        "cases": results.iter().map(|r| json!({
            "case": r.case,
            "group": r.group.name(),
            "method": r.method,
            "calls": r.calls,
            "metrics": metrics(&r.metrics),
            "by_seed": r.by_seed,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use multiscale_lime::ndarray::array;

    #[test]
    fn seed_spread_is_the_deviation_of_per_seed_means() {
        let row = |by_seed: Vec<[f64; 2]>| CaseResult {
            case: "c".into(),
            group: Group::Planted,
            method: "m".into(),
            calls: 1.0,
            metrics: [0.0; 6],
            by_seed,
        };
        let a = row(vec![[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]);
        let b = row(vec![[0.7, 0.3], [0.8, 0.2], [0.9, 0.1]]);
        // Per-seed means 0.8, 0.8, 0.8: no spread.
        let (mean, sd) = seed_spread(&[&a, &b], 0);
        assert!((mean - 0.8).abs() < 1e-12 && sd < 1e-12);
        // One case: 0.9, 0.8, 0.7 → mean 0.8, sd 0.1.
        let (mean, sd) = seed_spread(&[&a], 0);
        assert!((mean - 0.8).abs() < 1e-12 && (sd - 0.1).abs() < 1e-12);
        let (mean, _) = seed_spread(&[&a], 1);
        assert!((mean - 0.2).abs() < 1e-12);
    }

    #[test]
    fn quantiles_as_numpy() {
        // numpy.quantile([3, 1, 4, 1, 5], [0.25, 0.5, 0.75]) = [1, 3, 4].
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        assert_eq!(quantile(&v, 0.25), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.75), 4.0);
        // numpy.quantile([1, 2, 3, 4], 0.5) = 2.5.
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn stability_averages_pairs() {
        let a = Heatmap::new(array![[1.0, 2.0, 3.0]]);
        let b = Heatmap::new(array![[3.0, 2.0, 1.0]]);
        let flat = Heatmap::new(array![[1.0, 1.0, 1.0]]);
        assert!((stability(&[a.clone(), a.clone()]) - 1.0).abs() < 1e-12);
        // Pairs: (a, a) = 1, (a, b) = −1, (a, b) = −1 → −1/3.
        assert!((stability(&[a.clone(), a.clone(), b]) + 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(stability(&[a, flat]), 0.0);
    }
}
