//! The checks' results per method: the pass rules, Markdown tables and
//! JSON for the benchmark's report.

use serde_json::{json, Value};

use super::checks::{CascadeRow, ConstantRow, LimeConstantCheck};
use super::CASCADE_MAX_SPEARMAN;

/// One method at one depth of the cascade, averaged over the cases.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthSummary {
    /// Layers randomised.
    pub depth: usize,
    /// The randomised model's name (`head`, `head+conv4`, …).
    pub randomised: String,
    /// Cases averaged.
    pub cases: usize,
    /// Mean Spearman correlation to the trained model's map.
    pub spearman: f64,
    /// Mean Spearman correlation of the absolute values.
    pub spearman_abs: f64,
    /// Mean SSIM.
    pub ssim: f64,
}

/// One method over the cascade.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeSummary {
    /// The method's name.
    pub method: String,
    /// Its depths, shallowest first.
    pub depths: Vec<DepthSummary>,
}

impl CascadeSummary {
    /// [`cascade_passes`] of the method's depths.
    pub fn passed(&self) -> bool {
        cascade_passes(&self.depths)
    }
}

/// The cascade's pass rule: the mean Spearman correlation at the deepest
/// randomisation is below [`CASCADE_MAX_SPEARMAN`] and, when there are
/// several depths, below the first depth's. No depths: fails.
pub fn cascade_passes(depths: &[DepthSummary]) -> bool {
    match (depths.first(), depths.last()) {
        (Some(first), Some(last)) => {
            last.spearman < CASCADE_MAX_SPEARMAN
                && (depths.len() == 1 || last.spearman < first.spearman)
        }
        _ => false,
    }
}

/// The keys of `items` in first-seen order.
fn first_seen<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> Vec<&'a str> {
    let mut order: Vec<&str> = Vec::new();
    for item in items {
        let k = key(item);
        if !order.contains(&k) {
            order.push(k);
        }
    }
    order
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (total, n) = values.fold((0.0, 0usize), |(t, n), v| (t + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        total / n as f64
    }
}

/// The rows per method (in first-seen order) and depth, averaged over
/// the cases. Rows of several cascades (models randomised with different
/// seeds, or explanations with different seeds) average together: the
/// sign of a randomised network's relation to the image is itself
/// random, so one cascade seed can leave a correlation of either sign.
pub fn summarise_cascade(rows: &[CascadeRow]) -> Vec<CascadeSummary> {
    first_seen(rows, |r| &r.method)
        .into_iter()
        .map(|method| {
            let mine: Vec<&CascadeRow> = rows.iter().filter(|r| r.method == method).collect();
            let mut depths: Vec<usize> = mine.iter().map(|r| r.depth).collect();
            depths.sort_unstable();
            depths.dedup();
            let depths = depths
                .into_iter()
                .map(|depth| {
                    let at: Vec<&&CascadeRow> = mine.iter().filter(|r| r.depth == depth).collect();
                    DepthSummary {
                        depth,
                        randomised: at[0].randomised.clone(),
                        cases: at.len(),
                        spearman: mean(at.iter().map(|r| r.spearman)),
                        spearman_abs: mean(at.iter().map(|r| r.spearman_abs)),
                        ssim: mean(at.iter().map(|r| r.ssim)),
                    }
                })
                .collect();
            CascadeSummary {
                method: method.to_string(),
                depths,
            }
        })
        .collect()
}

/// The cascade as a Markdown table: a row per method and depth, the
/// verdict on the method's deepest row.
pub fn cascade_table(summaries: &[CascadeSummary]) -> String {
    let mut out = String::from(
        "| method | randomised | cases | Spearman ↓ | Spearman abs ↓ | SSIM ↓ | passes |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for s in summaries {
        for (i, d) in s.depths.iter().enumerate() {
            let verdict = if i + 1 == s.depths.len() {
                if s.passed() {
                    "yes"
                } else {
                    "no"
                }
            } else {
                ""
            };
            out.push_str(&format!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {verdict} |\n",
                s.method, d.randomised, d.cases, d.spearman, d.spearman_abs, d.ssim
            ));
        }
    }
    out
}

/// One method under the constant model, over the cases.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantSummary {
    /// The method's name.
    pub method: String,
    /// Cases checked.
    pub cases: usize,
    /// The largest `|relevance|` over the cases' maps.
    pub max_abs: f64,
    /// Cases whose map passed ([`ConstantRow::passed`]).
    pub passed_cases: usize,
}

impl ConstantSummary {
    /// Every case passed.
    pub fn passed(&self) -> bool {
        self.passed_cases == self.cases
    }
}

/// The constant-model rows per method, in first-seen order.
pub fn summarise_constant(rows: &[ConstantRow]) -> Vec<ConstantSummary> {
    first_seen(rows, |r| &r.method)
        .into_iter()
        .map(|method| {
            let mine: Vec<&ConstantRow> = rows.iter().filter(|r| r.method == method).collect();
            ConstantSummary {
                method: method.to_string(),
                cases: mine.len(),
                max_abs: mine.iter().fold(0.0, |m, r| r.max_abs.max(m)),
                passed_cases: mine.iter().filter(|r| r.passed()).count(),
            }
        })
        .collect()
}

/// The constant-model check as a Markdown table.
pub fn constant_table(summaries: &[ConstantSummary]) -> String {
    let mut out = String::from(
        "| method | cases | max abs relevance | cases passed | passes |\n|---|---|---|---|---|\n",
    );
    for s in summaries {
        out.push_str(&format!(
            "| {} | {} | {:.3e} | {} | {} |\n",
            s.method,
            s.cases,
            s.max_abs,
            s.passed_cases,
            if s.passed() { "yes" } else { "no" }
        ));
    }
    out
}

/// Multi-scale LIME's constant-model checks as a Markdown table: per
/// case the largest `|coefficient|` and standard error over the levels,
/// the levels whose intervals contain zero, the fused map's largest value.
pub fn lime_constant_table(checks: &[LimeConstantCheck]) -> String {
    let mut out = String::from(
        "| case | max abs coefficient | max std error | levels with 0 in every interval | fused max | passes |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in checks {
        let coefficient = c
            .levels
            .iter()
            .fold(0.0, |m, l| l.max_abs_coefficient.max(m));
        let se = c
            .levels
            .iter()
            .filter_map(|l| l.max_std_error)
            .fold(0.0, f64::max);
        let zero = c
            .levels
            .iter()
            .filter(|l| l.intervals_contain_zero == Some(true))
            .count();
        out.push_str(&format!(
            "| {} | {coefficient:.3e} | {se:.3e} | {zero}/{} | {:.3e} | {} |\n",
            c.case,
            c.levels.len(),
            c.fused_max_abs,
            if c.passed() { "yes" } else { "no" }
        ));
    }
    out
}

/// The cascade as JSON: the pass rule, each method's summary and every
/// row.
pub fn cascade_json(rows: &[CascadeRow], summaries: &[CascadeSummary]) -> Value {
    json!({
        "rule": format!(
            "mean Spearman at full randomisation < {CASCADE_MAX_SPEARMAN} and below the first depth's"
        ),
        "summary": summaries.iter().map(|s| json!({
            "method": s.method,
            "passed": s.passed(),
            "depths": s.depths.iter().map(|d| json!({
                "depth": d.depth,
                "randomised": d.randomised,
                "cases": d.cases,
                "spearman": d.spearman,
                "spearman_abs": d.spearman_abs,
                "ssim": d.ssim,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "rows": rows.iter().map(|r| json!({
            "case": r.case,
            "method": r.method,
            "depth": r.depth,
            "randomised": r.randomised,
            "spearman": r.spearman,
            "spearman_abs": r.spearman_abs,
            "ssim": r.ssim,
        })).collect::<Vec<_>>(),
    })
}

/// The constant-model checks as JSON: every method's summary and row,
/// and multi-scale LIME's own check per case.
pub fn constant_json(
    rows: &[ConstantRow],
    summaries: &[ConstantSummary],
    lime: &[LimeConstantCheck],
) -> Value {
    json!({
        "rule": format!(
            "max |relevance| <= {:e} x the model's largest |score|",
            super::CONSTANT_TOLERANCE
        ),
        "summary": summaries.iter().map(|s| json!({
            "method": s.method,
            "cases": s.cases,
            "max_abs": s.max_abs,
            "passed_cases": s.passed_cases,
            "passed": s.passed(),
        })).collect::<Vec<_>>(),
        "rows": rows.iter().map(|r| json!({
            "case": r.case,
            "method": r.method,
            "max_abs": r.max_abs,
            "scale": r.scale,
            "passed": r.passed(),
        })).collect::<Vec<_>>(),
        "multiscale_lime": lime.iter().map(|c| json!({
            "case": c.case,
            "scale": c.scale,
            "fused_max_abs": c.fused_max_abs,
            "passed": c.passed(),
            "levels": c.levels.iter().map(|l| json!({
                "desired": l.desired,
                "actual": l.actual,
                "max_abs_coefficient": l.max_abs_coefficient,
                "max_std_error": l.max_std_error,
                "intervals_contain_zero": l.intervals_contain_zero,
                "max_abs_heatmap": l.max_abs_heatmap,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
