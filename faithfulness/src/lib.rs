//! The faithfulness benchmark of multiscale-lime: does an explanation point
//! at what the model really uses?
//!
//! Run it with `cargo run --release -p multiscale-lime-faithfulness`
//! (`-- --help` for its options); `docs/faithfulness.md` shows its table
//! and how to read it.
//!
//! - [`planted`]: classifiers whose evidence is planted in known pixels,
//!   and the truth they imply;
//! - [`cases`]: the images, models, classes, truths and hide colours;
//! - [`methods`]: every method compared, at the same model-call budget;
//! - [`peers`]: the explainers users weigh against ours, from their papers:
//!   RISE, KernelSHAP, occlusion;
//! - [`report`]: the scores, their summary over cases, the table and JSON;
//! - [`plot`]: the figure of each half, pixel AUC against stability;
//! - [`sampling`]: the sampling designs at several budgets against the
//!   paper's sampling (`--sampling`);
//! - [`sanity`]: model-randomisation sanity checks (Adebayo et al. 2018):
//!   the methods under cascading randomisation of the CNN's layers and
//!   under a constant model.
//!
//! `tests/quick.json` is what `-- --quick` writes (settings and scores
//! only, no timings), and `tests/quick_json.rs` asserts that a rerun
//! writes the same bytes, on the default thread pool and on one thread. A
//! change meant to change results regenerates it with
//! `REGENERATE=1 cargo test -p multiscale-lime-faithfulness --test quick_json`
//! and says why in its commit.

pub mod cases;
pub mod methods;
pub mod peers;
pub mod planted;
pub mod plot;
pub mod report;
pub mod sampling;
pub mod sanity;

use rayon::prelude::*;

use cases::Case;
use report::{score, CaseResult};

/// Every method on `case` for each of `seeds`, scored and averaged over
/// the seeds, in the order [`methods::run_all`] gives them.
///
/// # Errors
/// When an explanation or a metric fails.
pub fn evaluate(case: &Case, seeds: &[u64]) -> multiscale_lime::Result<Vec<CaseResult>> {
    let memo = peers::OcclusionMemo::default();
    let per_seed: Vec<Vec<(methods::Output, report::Scores)>> = seeds
        .iter()
        .map(|&seed| {
            methods::run_all(case, seed, &memo)?
                .into_iter()
                .map(|out| {
                    let scores = score(case, &out.heatmap)?;
                    Ok((out, scores))
                })
                .collect()
        })
        .collect::<multiscale_lime::Result<_>>()?;
    let Some(first) = per_seed.first() else {
        return Ok(Vec::new());
    };
    Ok((0..first.len())
        .map(|m| {
            let column: Vec<&(methods::Output, report::Scores)> =
                per_seed.iter().map(|run| &run[m]).collect();
            CaseResult::new(
                case,
                &column[0].0.method,
                &column.iter().map(|(o, _)| o.calls).collect::<Vec<_>>(),
                &column.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
                &column
                    .iter()
                    .map(|(o, _)| o.heatmap.clone())
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

/// [`evaluate`] on every case, in parallel over the cases; results in case
/// order, so the output does not depend on the thread count.
///
/// # Errors
/// The first case that fails, named.
pub fn evaluate_all(cases: &[Case], seeds: &[u64]) -> Result<Vec<CaseResult>, String> {
    let per_case: Vec<Result<Vec<CaseResult>, String>> = cases
        .par_iter()
        .with_max_len(1)
        .map(|case| evaluate(case, seeds).map_err(|e| format!("{}: {e}", case.name)))
        .collect();
    let mut all = Vec::new();
    for results in per_case {
        all.extend(results?);
    }
    Ok(all)
}

/// [`sampling::study`] on every case, in parallel over the cases; cells in
/// case order.
///
/// # Errors
/// The first case that fails, named.
pub fn study_all(
    cases: &[Case],
    variants: &[sampling::Variant],
    seeds: &[u64],
) -> Result<Vec<sampling::Cell>, String> {
    let per_case: Vec<Result<Vec<sampling::Cell>, String>> = cases
        .par_iter()
        .with_max_len(1)
        .map(|case| {
            sampling::study(case, variants, seeds).map_err(|e| format!("{}: {e}", case.name))
        })
        .collect();
    let mut all = Vec::new();
    for cells in per_case {
        all.extend(cells?);
    }
    Ok(all)
}
