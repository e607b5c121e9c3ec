//! Fewer model calls for the same explanation: each sampling design at
//! several budgets, against the paper's independent sampling at
//! `n = 10·s'`, over many seeds.
//!
//! Per case, design and samples per segment `m`, every seed's multi-scale
//! explanation (the paper's setting, [`Preset::Paper`]: SLIC at compactness
//! 5, trapezoid fusion) is scored (pixel AUC against the truth, deletion
//! AUC on the model), and the seeds are compared with each other: Pearson of the
//! fused maps, Jaccard of each level's top superpixels, and how often two
//! seeds' coefficients lie within each other's 90 % intervals.

use multiscale_lime::metrics::{deletion_curve, jaccard_at_k, pearson, pixel_auc};
use multiscale_lime::Preset;
use multiscale_lime::Schedule;
use multiscale_lime::{
    Adaptive, Combiner, Heatmap, MultiScaleLime, Response, Result, Sampling, Target, Trapezoid,
};
use serde_json::{json, Value};

use crate::cases::{Case, Group};
use crate::methods::{LEVELS, PAPER_COMPACTNESS};
use crate::report::{quantile, CURVE_STEPS};

/// A way of spending the model calls: a design, with or without sharing
/// the passes across levels, with or without adaptive rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// How each level's masks are drawn.
    pub design: Sampling,
    /// Whether every level is fitted on the passes of all levels.
    pub shared: bool,
    /// Adaptive rounds until each level's expected stability reaches this
    /// many thousandths (the budget being the cell's samples per segment).
    pub adaptive: Option<u16>,
    /// Whether the surrogates regress the log-odds ([`Response::LogOdds`])
    /// instead of the probability.
    pub log_odds: bool,
}

impl Variant {
    const fn plain(design: Sampling, shared: bool) -> Variant {
        Variant {
            design,
            shared,
            adaptive: None,
            log_odds: false,
        }
    }

    const fn log_odds(design: Sampling) -> Variant {
        Variant {
            design,
            shared: false,
            adaptive: None,
            log_odds: true,
        }
    }

    const fn until(design: Sampling, permille: u16) -> Variant {
        Variant {
            design,
            shared: false,
            adaptive: Some(permille),
            log_odds: false,
        }
    }

    /// Every variant studied: each design alone; the independent,
    /// balanced and orthogonal designs with shared passes; adaptive rounds
    /// of independent and orthogonal masks to several expected stabilities;
    /// independent and orthogonal masks regressing the log-odds.
    pub const ALL: [Variant; 16] = [
        Variant::plain(Sampling::Independent, false),
        Variant::plain(Sampling::Antithetic, false),
        Variant::plain(Sampling::Balanced, false),
        Variant::plain(Sampling::Orthogonal, false),
        Variant::plain(Sampling::Independent, true),
        Variant::plain(Sampling::Balanced, true),
        Variant::plain(Sampling::Orthogonal, true),
        Variant::until(Sampling::Independent, 980),
        Variant::until(Sampling::Independent, 990),
        Variant::until(Sampling::Independent, 995),
        Variant::until(Sampling::Independent, 998),
        Variant::until(Sampling::Orthogonal, 980),
        Variant::until(Sampling::Orthogonal, 990),
        Variant::until(Sampling::Orthogonal, 995),
        Variant::log_odds(Sampling::Independent),
        Variant::log_odds(Sampling::Orthogonal),
    ];

    /// The paper's: independent, unshared, every sample drawn.
    pub const PAPER: Variant = Variant::plain(Sampling::Independent, false);

    /// `design`, `design+shared`, `design+adaptive0.99` or
    /// `design+log-odds`.
    pub fn name(&self) -> String {
        if self.log_odds {
            return format!("{}+log-odds", self.design.name());
        }
        match (self.shared, self.adaptive) {
            (_, Some(permille)) => format!(
                "{}+adaptive{}",
                self.design.name(),
                f64::from(permille) / 1000.0
            ),
            (true, None) => format!("{}+shared", self.design.name()),
            (false, None) => self.design.name().to_string(),
        }
    }

    /// The variant of [`Variant::ALL`] named `name`.
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The budgets (samples per segment) the variant is run at: adaptive
    /// rounds only at the paper's 10, which they may stop short of.
    pub fn budgets(&self) -> &'static [usize] {
        if self.adaptive.is_some() {
            &PER_SEGMENT[PER_SEGMENT.len() - 1..]
        } else {
            &PER_SEGMENT
        }
    }
}

/// Samples per segment tried: the paper's 10 and fractions of it.
pub const PER_SEGMENT: [usize; 4] = [2, 3, 5, 10];
/// Top superpixels compared between seeds (per level, capped by its size).
pub const TOP_K: usize = 5;
/// The 90 % two-sided normal quantile.
const Z90: f64 = 1.6448536269514722;

/// One design at one budget on one case, over the seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The case's name.
    pub case: String,
    /// The case's group.
    pub group: Group,
    /// The design and whether passes are shared.
    pub variant: Variant,
    /// Samples per segment.
    pub per_segment: usize,
    /// Model calls per explanation, the mean over seeds (adaptive rounds
    /// stop at different counts).
    pub calls: f64,
    /// Each seed's pixel AUC of the fused map.
    pub pixel_auc: Vec<f64>,
    /// Each seed's deletion AUC of the fused map.
    pub deletion_auc: Vec<f64>,
    /// Pearson of the fused maps of each pair of seeds.
    pub pearson: Vec<f64>,
    /// Pearson of one seed's fused map with another seed's map of the
    /// paper's sampling, per ordered pair: how much this cell's maps are
    /// the paper's explanation (for the paper's cell, its stability).
    pub agreement: Vec<f64>,
    /// Jaccard@k of each level's top coefficients, mean over levels, per
    /// pair of seeds.
    pub jaccard: Vec<f64>,
    /// Over pairs of seeds and segments: the share with
    /// `|β_a − β_b| ≤ 1.645·√(se_a² + se_b²)` (0.9 when the errors are
    /// calibrated).
    pub pair_coverage: f64,
    /// Over ordered pairs of seeds and segments: the share of `β_b` inside
    /// `a`'s 90 % interval (0.75 when calibrated: two draws differ by √2
    /// standard errors).
    pub cross_coverage: f64,
}

/// Every variant of `variants` at every budget of [`PER_SEGMENT`] on `case`.
///
/// # Errors
/// When an explanation or a metric fails.
pub fn study(case: &Case, variants: &[Variant], seeds: &[u64]) -> Result<Vec<Cell>> {
    // The paper's maps first: every cell is compared with them.
    let (paper, reference) = cell(case, Variant::PAPER, PAPER_PER_SEGMENT, seeds, None)?;
    let mut cells = Vec::new();
    for &variant in variants {
        for &m in variant.budgets() {
            if variant == Variant::PAPER && m == PAPER_PER_SEGMENT {
                cells.push(paper.clone());
            } else {
                cells.push(cell(case, variant, m, seeds, Some(&reference))?.0);
            }
        }
    }
    Ok(cells)
}

/// The paper's samples per segment.
const PAPER_PER_SEGMENT: usize = 10;

/// A cell and its seeds' fused maps; `reference` the paper's maps (`None`
/// for the paper's cell itself).
fn cell(
    case: &Case,
    variant: Variant,
    m: usize,
    seeds: &[u64],
    reference: Option<&[Heatmap]>,
) -> Result<(Cell, Vec<Heatmap>)> {
    let mut fused = Vec::new();
    let mut levels = Vec::new();
    let (mut pixel, mut deletion) = (Vec::new(), Vec::new());
    let mut calls = 0;
    for &seed in seeds {
        let mut builder = MultiScaleLime::preset(Preset::Paper)
            .hide_color(case.hide)
            .sampling(variant.design)
            .schedule(if variant.shared {
                Schedule::SharedPasses
            } else {
                Schedule::PerLevel
            })
            .compactness(PAPER_COMPACTNESS)
            .levels(LEVELS)
            .samples_per_segment(m)
            .response(if variant.log_odds {
                Response::LogOdds
            } else {
                Response::Score
            })
            .seed(seed);
        if let Some(permille) = variant.adaptive {
            builder = builder.schedule(Adaptive::stability(f64::from(permille) / 1000.0)?);
        }
        let lime = builder.build()?;
        let e = lime.explain(&case.image, &*case.model, Target::Class(case.class))?;
        let stack = &e.stacks()[0];
        calls += stack.levels().iter().map(|l| l.calls).sum::<usize>();
        let map = Trapezoid.combine(stack)?.heatmap;
        pixel.push(pixel_auc(&map, case.truth.view())?);
        deletion.push(
            deletion_curve(
                &case.image,
                &map,
                &*case.model,
                case.class,
                CURVE_STEPS,
                case.hide,
            )?
            .auc,
        );
        fused.push(map);
        levels.push(stack.levels().to_vec());
    }
    let (mut pearsons, mut jaccards) = (Vec::new(), Vec::new());
    let (mut pair_in, mut cross_in, mut total) = (0usize, 0usize, 0usize);
    for a in 0..seeds.len() {
        for b in a + 1..seeds.len() {
            pearsons.push(pearson(&fused[a], &fused[b]).unwrap_or(0.0));
            let mut j = 0.0;
            for (la, lb) in levels[a].iter().zip(&levels[b]) {
                let (ca, cb) = (la.coefficients.to_vec(), lb.coefficients.to_vec());
                j += jaccard_at_k(&ca, &cb, TOP_K.min(ca.len()))?;
                if let (Some(sa), Some(sb)) = (&la.std_errors, &lb.std_errors) {
                    for i in 0..ca.len() {
                        let d = (ca[i] - cb[i]).abs();
                        pair_in += usize::from(d <= Z90 * (sa[i].powi(2) + sb[i].powi(2)).sqrt());
                        cross_in += usize::from(d <= Z90 * sa[i]) + usize::from(d <= Z90 * sb[i]);
                        total += 1;
                    }
                }
            }
            jaccards.push(j / levels[a].len() as f64);
        }
    }
    // Pearson of each seed's map with every other seed's map of the paper.
    let reference = reference.unwrap_or(&fused);
    let mut agreement = Vec::new();
    for (a, map) in fused.iter().enumerate() {
        for (b, paper) in reference.iter().enumerate() {
            if a != b {
                agreement.push(pearson(map, paper).unwrap_or(0.0));
            }
        }
    }
    let share = |hits: usize, of: usize| {
        if of == 0 {
            f64::NAN
        } else {
            hits as f64 / of as f64
        }
    };
    let cell = Cell {
        case: case.name.clone(),
        group: case.group,
        variant,
        per_segment: m,
        calls: calls as f64 / seeds.len().max(1) as f64,
        pixel_auc: pixel,
        deletion_auc: deletion,
        pearson: pearsons,
        jaccard: jaccards,
        pair_coverage: share(pair_in, total),
        cross_coverage: share(cross_in, 2 * total),
        agreement,
    };
    Ok((cell, fused))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn std(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt()
}

/// One design at one budget over a group's cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The group.
    pub group: Group,
    /// The design and whether passes are shared.
    pub variant: Variant,
    /// Samples per segment.
    pub per_segment: usize,
    /// Median model calls per explanation over the cases.
    pub calls: f64,
    /// Median over cases of the seeds' mean pixel AUC.
    pub pixel_auc: f64,
    /// Median over cases of the seeds' mean deletion AUC.
    pub deletion_auc: f64,
    /// Median over cases of the mean pairwise Pearson.
    pub stability: f64,
    /// Median over cases of the mean pairwise Jaccard@k.
    pub jaccard: f64,
    /// Median over cases of the mean agreement with the paper's maps.
    pub agreement: f64,
    /// Median over cases of the pair coverage.
    pub pair_coverage: f64,
    /// Median over cases of the cross coverage.
    pub cross_coverage: f64,
    /// Seed-to-seed spread: the median over cases of the standard
    /// deviation of pixel AUC over the seeds.
    pub pixel_sd: f64,
    /// The same for deletion AUC.
    pub deletion_sd: f64,
    /// The same for Pearson, over the pairs of seeds.
    pub stability_sd: f64,
    /// The spread of the summary itself: the standard deviation over
    /// seeds of the per-seed median (over cases) pixel AUC.
    pub pixel_sd_of_median: f64,
    /// The same for deletion AUC.
    pub deletion_sd_of_median: f64,
    /// The same over pairs of seeds for Pearson.
    pub stability_sd_of_median: f64,
}

impl Row {
    /// Whether this row is as good as `reference` within the reference's
    /// seed-to-seed spread on stability, pixel AUC and deletion AUC.
    pub fn reaches(&self, reference: &Row) -> bool {
        self.stability >= reference.stability - reference.stability_sd
            && self.pixel_auc >= reference.pixel_auc - reference.pixel_sd
            && self.deletion_auc <= reference.deletion_auc + reference.deletion_sd
    }
}

/// Rows per group, variant and budget, in that order.
pub fn summarise(cells: &[Cell]) -> Vec<Row> {
    let mut rows = Vec::new();
    for group in [Group::Planted, Group::Cnn] {
        for variant in Variant::ALL {
            for &m in variant.budgets() {
                let of: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| c.group == group && c.variant == variant && c.per_segment == m)
                    .collect();
                if of.is_empty() {
                    continue;
                }
                let median = |f: &dyn Fn(&Cell) -> f64| {
                    quantile(&of.iter().map(|c| f(c)).collect::<Vec<_>>(), 0.5)
                };
                let per_index = |f: &dyn Fn(&Cell) -> &Vec<f64>| -> Vec<f64> {
                    (0..f(of[0]).len())
                        .map(|i| quantile(&of.iter().map(|c| f(c)[i]).collect::<Vec<_>>(), 0.5))
                        .collect()
                };
                rows.push(Row {
                    group,
                    variant,
                    per_segment: m,
                    calls: median(&|c| c.calls),
                    pixel_auc: median(&|c| mean(&c.pixel_auc)),
                    deletion_auc: median(&|c| mean(&c.deletion_auc)),
                    stability: median(&|c| mean(&c.pearson)),
                    jaccard: median(&|c| mean(&c.jaccard)),
                    agreement: median(&|c| mean(&c.agreement)),
                    pair_coverage: median(&|c| c.pair_coverage),
                    cross_coverage: median(&|c| c.cross_coverage),
                    pixel_sd: median(&|c| std(&c.pixel_auc)),
                    deletion_sd: median(&|c| std(&c.deletion_auc)),
                    stability_sd: median(&|c| std(&c.pearson)),
                    pixel_sd_of_median: std(&per_index(&|c| &c.pixel_auc)),
                    deletion_sd_of_median: std(&per_index(&|c| &c.deletion_auc)),
                    stability_sd_of_median: std(&per_index(&|c| &c.pearson)),
                });
            }
        }
    }
    rows
}

/// The rows as a Markdown table, with whether each reaches the paper's
/// sampling (independent, 10 per segment) of its group.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| group | design | m | calls | stability ↑ | Jaccard@5 ↑ | pixel AUC ↑ | deletion AUC ↓ | agreement with the paper's | 90 % pair coverage | cross coverage | reaches the paper's |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let reference = rows
            .iter()
            .find(|x| x.group == r.group && x.variant == Variant::PAPER && x.per_segment == 10);
        let reaches = reference.map_or("", |x| if r.reaches(x) { "yes" } else { "no" });
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.4} ± {:.4} | {:.3} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} | {:.3} | {:.3} | {reaches} |\n",
            r.group.name(),
            r.variant.name(),
            r.per_segment,
            r.calls,
            r.stability,
            r.stability_sd,
            r.jaccard,
            r.pixel_auc,
            r.pixel_sd,
            r.deletion_auc,
            r.deletion_sd,
            r.agreement,
            r.pair_coverage,
            r.cross_coverage,
        ));
    }
    out
}

/// The rows and every cell as JSON.
pub fn to_json(settings: Value, cells: &[Cell], rows: &[Row]) -> Value {
    json!({
        "settings": settings,
        "rows": rows.iter().map(|r| json!({
            "group": r.group.name(), "design": r.variant.name(), "per_segment": r.per_segment,
            "calls": r.calls, "stability": r.stability, "stability_sd": r.stability_sd,
            "jaccard": r.jaccard, "agreement": r.agreement, "pixel_auc": r.pixel_auc, "pixel_sd": r.pixel_sd,
            "deletion_auc": r.deletion_auc, "deletion_sd": r.deletion_sd,
            "pair_coverage": r.pair_coverage, "cross_coverage": r.cross_coverage,
            "pixel_sd_of_median": r.pixel_sd_of_median,
            "deletion_sd_of_median": r.deletion_sd_of_median,
            "stability_sd_of_median": r.stability_sd_of_median,
        })).collect::<Vec<_>>(),
        "cells": cells.iter().map(|c| json!({
            "case": c.case, "group": c.group.name(), "design": c.variant.name(),
            "per_segment": c.per_segment, "calls": c.calls, "pixel_auc": c.pixel_auc,
            "deletion_auc": c.deletion_auc, "pearson": c.pearson, "jaccard": c.jaccard, "agreement": c.agreement,
            "pair_coverage": c.pair_coverage, "cross_coverage": c.cross_coverage,
        })).collect::<Vec<_>>(),
    })
}
