//! The methods compared, each turning a case and a seed into one heatmap.

use multiscale_lime::{
    Combiner, Config, Density, Feathered, Gaussian, Heatmap, InverseTrapezoid, MultiScaleLime,
    MultiScaleLimeBuilder, Perturber, Preset, Result, SampleCount, Segmenter, SquareGrid,
    SurrogateFitter, Target, Trapezoid, Uniform,
};

use crate::cases::Case;
use crate::peers::{self, OcclusionMemo};

/// The levels of every multi-scale method (the README's example).
pub const LEVELS: [usize; 5] = [10, 25, 50, 100, 200];
/// The paper's SLIC compactness ([`Preset::Paper`]'s).
pub const PAPER_COMPACTNESS: f64 = 5.0;
/// The SLIC compactness of the single levels and the second multi-scale
/// SLIC: on these patches compactness 5 gives far fewer segments than
/// asked for (1 for 10 on some), 20 about as many.
pub const COMPACTNESS: f64 = 20.0;
/// The SLIC levels also explained alone, with the defaults at the
/// default's calls (the three finest: alone, the coarser ones trail every
/// multi-scale method).
pub const SINGLE_LEVELS: [usize; 3] = [50, 100, 200];
/// The default's levels and a finer sixth, the second way to spend the
/// paper's budget (`… +400 @paper`, at [`FINE_PER_SEGMENT`]): more
/// superpixels rather than more samples per superpixel.
pub const FINE_LEVELS: [usize; 6] = [10, 25, 50, 100, 200, 400];
/// Samples per superpixel of `… +400 @paper`: about the paper's calls
/// (2200 of 2400 on the planted cases).
pub const FINE_PER_SEGMENT: usize = 3;
/// Samples per actual segment of the multi-scale methods, the paper's 10.
pub const PER_SEGMENT: usize = 10;
/// Single-scale LIME as `lime` runs it by default: one segmentation,
/// 1000 samples (SLIC at this many segments stands in for quickshift).
pub const LIME_DEFAULT: (usize, usize) = (50, 1000);

/// One method's heatmap for one case and seed, and its model calls.
#[derive(Debug, Clone)]
pub struct Output {
    /// The method's name in the table.
    pub method: String,
    /// Perturbed images the classifier scored.
    pub calls: usize,
    /// The heatmap.
    pub heatmap: Heatmap,
}

/// The fusion rules applied to a multi-scale explanation, by name.
pub fn fusions() -> Vec<(&'static str, Box<dyn Combiner>)> {
    vec![
        ("trapezoid", Box::new(Trapezoid)),
        ("inverse", Box::new(InverseTrapezoid)),
        (
            "gaussian",
            Box::new(Gaussian::new(1.0, 0.5).expect("valid constants")),
        ),
        ("uniform", Box::new(Uniform)),
        ("density", Box::new(Density)),
    ]
}

/// The explainer every method but `default` starts from: the case's hide
/// colour, the seed, the paper's other settings ([`Preset::Paper`]).
fn explainer(case: &Case, seed: u64) -> MultiScaleLimeBuilder {
    MultiScaleLime::preset(Preset::Paper)
        .hide_color(case.hide)
        .seed(seed)
}

/// The crate's defaults ([`Preset::Recommended`]) with the case's hide
/// colour and the seed, changed by `tweak` (more samples per superpixel,
/// other levels): its own fused map (`default{suffix}`), the same
/// coefficients fused by [`Feathered`] (`feathered{suffix}`), and its
/// model calls.
fn default_setting(
    case: &Case,
    seed: u64,
    tweak: impl FnOnce(MultiScaleLimeBuilder) -> MultiScaleLimeBuilder,
    suffix: &str,
) -> Result<[Output; 2]> {
    let builder = MultiScaleLime::builder().hide_color(case.hide).seed(seed);
    let explanation =
        tweak(builder)
            .build()?
            .explain(&case.image, &*case.model, Target::Class(case.class))?;
    let stack = &explanation.stacks()[0];
    let calls = stack.levels().iter().map(|l| l.calls).sum();
    Ok([
        Output {
            method: format!("default{suffix}"),
            calls,
            heatmap: explanation.fused().heatmap.clone(),
        },
        Output {
            method: format!("feathered{suffix}"),
            calls,
            heatmap: Feathered::default().combine(stack)?.heatmap,
        },
    ])
}

/// The multi-scale explanation of `lime`, fused by every rule of
/// [`fusions`] (named `{prefix}+{rule}`), and its model calls.
fn multi_scale<S, P, F>(
    lime: &MultiScaleLime<S, P, F>,
    case: &Case,
    prefix: &str,
    out: &mut Vec<Output>,
) -> Result<usize>
where
    S: Segmenter,
    P: Perturber,
    F: SurrogateFitter,
{
    let explanation = lime.explain(&case.image, &*case.model, Target::Class(case.class))?;
    let stack = &explanation.stacks()[0];
    let calls: usize = stack.levels().iter().map(|l| l.samples).sum();
    for (name, rule) in fusions() {
        out.push(Output {
            method: format!("{prefix}+{name}"),
            calls,
            heatmap: rule.combine(stack)?.heatmap,
        });
    }
    Ok(calls)
}

/// The map of a one-level explainer.
fn single<S, P, F>(lime: &MultiScaleLime<S, P, F>, case: &Case) -> Result<Heatmap>
where
    S: Segmenter,
    P: Perturber,
    F: SurrogateFitter,
{
    let explanation = lime.explain(&case.image, &*case.model, Target::Class(case.class))?;
    Ok(explanation.stacks()[0].levels()[0].heatmap.clone())
}

/// The crate's defaults on the square grid at about `budget` calls (the
/// samples per cell rounded, at least 2).
fn grid(case: &Case, seed: u64, budget: usize) -> Result<MultiScaleLime<SquareGrid>> {
    let mut cells = 0;
    for level in LEVELS {
        cells += SquareGrid.segment(&case.image, level)?.count();
    }
    MultiScaleLime::builder()
        .hide_color(case.hide)
        .seed(seed)
        .segmenter(SquareGrid)
        .levels(LEVELS)
        .samples_per_segment((budget as f64 / cells as f64).round().max(2.0) as usize)
        .build()
}

/// One SLIC level alone with the crate's defaults and `budget` samples.
fn single_level(case: &Case, seed: u64, level: usize, budget: usize) -> Result<Output> {
    let lime = MultiScaleLime::builder()
        .hide_color(case.hide)
        .seed(seed)
        .levels([level])
        .samples(budget)
        .build()?;
    Ok(Output {
        method: format!("slic c={COMPACTNESS} s={level}"),
        calls: budget,
        heatmap: single(&lime, case)?,
    })
}

/// `lime`'s default ([`LIME_DEFAULT`]) with the paper's other settings.
fn lime_default(case: &Case, seed: u64) -> Result<Output> {
    let (level, samples) = LIME_DEFAULT;
    let lime = explainer(case, seed)
        .compactness(COMPACTNESS)
        .levels([level])
        .samples(samples)
        .build()?;
    Ok(Output {
        method: "lime default".into(),
        calls: samples,
        heatmap: single(&lime, case)?,
    })
}

/// Samples per superpixel that give the crate's defaults about the
/// paper's budget: the preset's count scaled by the paper's calls over the
/// default's, at least the preset's.
fn per_segment_for(paper_calls: usize, default_calls: usize) -> usize {
    let preset = match Config::default().samples {
        SampleCount::PerSegment(m) => m,
        other => panic!("the preset counts samples per superpixel, not {other:?}"),
    };
    let m = preset as f64 * paper_calls as f64 / default_calls.max(1) as f64;
    (m.round() as usize).max(preset)
}

/// Every method's heatmap for `case` under `seed`: the crate's defaults
/// (`default`, [`Preset::Recommended`]) and their coefficients
/// [`Feathered`] (`feathered`), also at about the paper's budget, spent on
/// more samples per superpixel (`… @paper`) or on [`FINE_LEVELS`] (`…+400
/// @paper`); multi-scale SLIC with the paper's settings at its
/// compactness and at [`COMPACTNESS`], each under every fusion rule; the
/// defaults on the square grid under every rule, and each SLIC level of
/// [`SINGLE_LEVELS`] alone with the defaults, both at about the default's
/// calls; `lime`'s default; and the [`peers`] (RISE,
/// KernelSHAP, occlusion) at the default's budget (`@default`) and at the
/// paper's (`@paper`). `memo` keeps occlusion's seed-free maps between the
/// seeds of one case.
///
/// # Errors
/// When an explanation fails (a bad case or a failing model).
pub fn run_all(case: &Case, seed: u64, memo: &OcclusionMemo) -> Result<Vec<Output>> {
    let mut out = default_setting(case, seed, |b| b, "")?.to_vec();
    let default_calls = out[0].calls;
    for c in [PAPER_COMPACTNESS, COMPACTNESS] {
        let slic = explainer(case, seed)
            .compactness(c)
            .levels(LEVELS)
            .samples_per_segment(PER_SEGMENT)
            .build()?;
        multi_scale(&slic, case, &format!("slic c={c}"), &mut out)?;
    }
    // out: default, feathered, then `slic c=5` (the paper's setting)
    // and `slic c=20` under each rule.
    let paper_calls = out[2].calls;
    let m = per_segment_for(paper_calls, default_calls);
    out.extend(default_setting(
        case,
        seed,
        |b| b.samples_per_segment(m),
        " @paper",
    )?);
    out.extend(default_setting(
        case,
        seed,
        |b| b.levels(FINE_LEVELS).samples_per_segment(FINE_PER_SEGMENT),
        "+400 @paper",
    )?);
    // The grid and the single levels get the default's calls.
    multi_scale(&grid(case, seed, default_calls)?, case, "grid", &mut out)?;
    for level in SINGLE_LEVELS {
        out.push(single_level(case, seed, level, default_calls)?);
    }
    out.push(lime_default(case, seed)?);
    out.extend(peers::run(case, seed, default_calls, "@default", memo)?);
    out.extend(peers::run(case, seed, paper_calls, "@paper", memo)?);
    Ok(out)
}

/// The methods of the sanity checks (one of each kind, at the default's
/// budget): the crate's defaults and their feathered map, the paper's
/// setting (trapezoid), the defaults on the square grid (density) and on
/// the finest SLIC level alone, `lime`'s default, and the peers at the
/// default's calls.
///
/// # Errors
/// When an explanation fails.
pub fn sanity_set(case: &Case, seed: u64) -> Result<Vec<Output>> {
    let mut out = default_setting(case, seed, |b| b, "")?.to_vec();
    let budget = out[0].calls;
    let paper = explainer(case, seed).build()?;
    let explanation = paper.explain(&case.image, &*case.model, Target::Class(case.class))?;
    out.push(Output {
        method: "paper".into(),
        calls: explanation.stacks()[0]
            .levels()
            .iter()
            .map(|l| l.calls)
            .sum(),
        heatmap: explanation.fused().heatmap.clone(),
    });
    let grid = grid(case, seed, budget)?;
    let explanation = grid.explain(&case.image, &*case.model, Target::Class(case.class))?;
    let stack = &explanation.stacks()[0];
    out.push(Output {
        method: "grid+density".into(),
        calls: stack.levels().iter().map(|l| l.calls).sum(),
        heatmap: Density.combine(stack)?.heatmap,
    });
    out.push(single_level(case, seed, LEVELS[LEVELS.len() - 1], budget)?);
    out.push(lime_default(case, seed)?);
    out.extend(peers::run(
        case,
        seed,
        budget,
        "@default",
        &OcclusionMemo::default(),
    )?);
    Ok(out)
}
