//! `faithfulness`: the benchmark's table (stdout) and JSON.
//!
//! ```text
//! cargo run --release -p multiscale-lime-faithfulness -- [--quick] [--no-cnn] [--tract]
//!     [--seeds N] [--out FILE] [--sampling]
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use multiscale_lime::onnx::{OnnxClassifier, OrtClassifier};
use multiscale_lime_faithfulness::cases::{
    cnn_cases, planted_cases, read_png, Case, Group, Model, PATCH,
};
use multiscale_lime_faithfulness::methods::{LEVELS, LIME_DEFAULT, PER_SEGMENT};
use multiscale_lime_faithfulness::report::{summarise, table, to_json, Summary, CURVE_STEPS};
use multiscale_lime_faithfulness::sanity::{self, summary};
use multiscale_lime_faithfulness::{evaluate_all, sampling, study_all};
use multiscale_lime_faithfulness::{methods, plot};
use multiscale_lime_testkit::{onnxruntime_library, repo_root};
use rayon::prelude::*;
use serde_json::json;

const USAGE: &str =
    "usage: faithfulness [--quick] [--no-cnn] [--tract] [--seeds N] [--out FILE] [--sampling]
  --quick    12 planted cases, 3 seeds, no CNN (a quick look while developing)
  --no-cnn   planted cases only
  --tract    run the CNN with tract instead of ONNX Runtime (several times slower)
  --seeds N  seeds 0..N per case (default 5; 10 with --sampling)
  --out FILE the JSON (default target/faithfulness/faithfulness.json, or sampling.json)
  --sampling the sampling designs at 2, 3, 5 and 10 samples per segment against the
             paper's sampling (independent, 10), instead of the methods; every other
             CNN case
  --variants LIST  with --sampling: the variants to run, comma-separated (default all:
             independent, antithetic, balanced, orthogonal, independent+shared,
             balanced+shared, orthogonal+shared, independent+adaptive0.98, …0.99, …0.995,
             …0.998, orthogonal+adaptive0.98, …0.99, …0.995, independent+log-odds,
             orthogonal+log-odds; independent is the reference)";

/// The sanity checks run on every this many CNN cases.
const SANITY_STEP: usize = 4;
/// The seed of the randomised weights.
const SANITY_SEED: u64 = 2018;

struct Options {
    quick: bool,
    sampling: bool,
    variants: Vec<sampling::Variant>,
    cnn: bool,
    tract: bool,
    seeds: u64,
    out: PathBuf,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        sampling: false,
        variants: sampling::Variant::ALL.to_vec(),
        cnn: true,
        tract: false,
        seeds: 5,
        out: repo_root().join("target/faithfulness/faithfulness.json"),
    };
    let mut seeds_given = false;
    let mut out_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => o.quick = true,
            "--sampling" => o.sampling = true,
            "--variants" => {
                let v = args.next().ok_or("--variants needs a list")?;
                o.variants = v
                    .split(',')
                    .map(|name| {
                        sampling::Variant::parse(name)
                            .ok_or(format!("--variants: unknown variant `{name}`"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--no-cnn" => o.cnn = false,
            "--tract" => o.tract = true,
            "--seeds" => {
                let v = args.next().ok_or("--seeds needs a number")?;
                o.seeds = v
                    .parse()
                    .ok()
                    .filter(|&n| (2..=100).contains(&n))
                    .ok_or(format!("--seeds {v}: want 2 to 100"))?;
                seeds_given = true;
            }
            "--out" => {
                o.out = args.next().ok_or("--out needs a file")?.into();
                out_given = true;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if o.sampling {
        if !seeds_given {
            o.seeds = 10;
        }
        if !out_given {
            o.out = repo_root().join("target/faithfulness/sampling.json");
        }
    }
    if o.quick {
        o.cnn = false;
        o.seeds = o.seeds.min(3);
    }
    Ok(o)
}

/// The bundled CNN's ONNX file.
fn cnn_bytes() -> std::io::Result<Vec<u8>> {
    std::fs::read(repo_root().join("assets/models/ihc_dab_cnn.onnx"))
}

/// A CNN from its ONNX `bytes`, run by tract or ONNX Runtime, and the
/// runtime's name.
fn load_cnn(bytes: &[u8], tract: bool) -> multiscale_lime::Result<(Model, &'static str)> {
    Ok(if tract {
        (
            Arc::new(OnnxClassifier::builder(PATCH, PATCH).load_bytes(bytes)?),
            "tract",
        )
    } else {
        let model = OrtClassifier::builder(PATCH, PATCH)
            .library(onnxruntime_library())
            .load_bytes(bytes)?;
        (Arc::new(model), "onnxruntime")
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2)
        }
    };
    let start = Instant::now();
    let ihc = read_png(&repo_root().join("assets/ihc.png"))?;
    let he = read_png(&repo_root().join("faithfulness/data/he_crop.png"))?;
    let mut cases: Vec<Case> = planted_cases(&ihc, &he)?;
    if o.quick {
        // Two of each kind: IHC and H&E.
        cases = cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % 18 < 6)
            .map(|(_, c)| c)
            .collect();
    }
    let mut runtime = "none";
    if o.cnn {
        let (model, name) = load_cnn(&cnn_bytes()?, o.tract)?;
        runtime = name;
        let cnn = cnn_cases(&ihc, model);
        // The sampling study runs 20 explanations per design and seed:
        // every other CNN case keeps it to minutes.
        let step = if o.sampling { 2 } else { 1 };
        cases.extend(cnn.into_iter().step_by(step));
    }
    let seeds: Vec<u64> = (0..o.seeds).collect();
    eprintln!(
        "{} cases ({} planted), {} seeds each, on {} threads",
        cases.len(),
        cases.iter().filter(|c| c.group == Group::Planted).count(),
        seeds.len(),
        rayon::current_num_threads()
    );
    if o.sampling {
        let cells = study_all(&cases, &o.variants, &seeds)?;
        let rows = sampling::summarise(&cells);
        print!("{}", sampling::table(&rows));
        let settings = json!({
            "levels": LEVELS,
            "per_segment": sampling::PER_SEGMENT,
            "top_k": sampling::TOP_K,
            "seeds": seeds,
            "curve_steps": CURVE_STEPS,
            "cnn_runtime": runtime,
            "quick": o.quick,
        });
        let report = sampling::to_json(settings, &cells, &rows);
        return write_json(&o.out, &report, cases.len(), start);
    }
    let results = evaluate_all(&cases, &seeds)?;
    let summaries = summarise(&results);
    print!("{}", table(&summaries));
    println!();
    print!(
        "{}",
        multiscale_lime_faithfulness::report::seed_table(&summaries)
    );
    let settings = json!({
        "levels": LEVELS,
        "samples_per_segment": PER_SEGMENT,
        "lime_default": {"segments": LIME_DEFAULT.0, "samples": LIME_DEFAULT.1},
        "seeds": seeds,
        "curve_steps": CURVE_STEPS,
        "cnn_runtime": runtime,
        "quick": o.quick,
    });
    write_plots(&o.out, &summaries)?;
    let mut report = to_json(settings, &results, &summaries);
    if o.cnn {
        let cnn_cases: Vec<&Case> = cases.iter().filter(|c| c.group == Group::Cnn).collect();
        report["sanity"] = sanity_checks(&cnn_cases, o.tract)?;
    }
    write_json(&o.out, &report, cases.len(), start)
}

/// Every [`SANITY_STEP`]th CNN case, seed 0: the cascading randomisation
/// of the CNN and the constant model, for [`methods::sanity_set`]; prints
/// the tables and returns their JSON.
fn sanity_checks(
    cases: &[&Case],
    tract: bool,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let load = |b: &[u8]| load_cnn(b, tract).map(|(model, _)| model);
    let bytes = cnn_bytes()?;
    let models = sanity::cascading_models(&bytes, SANITY_SEED, load)?;
    let chosen: Vec<&Case> = cases.iter().copied().step_by(SANITY_STEP).collect();
    let per_case: Vec<sanity::Result<_>> = chosen
        .par_iter()
        .with_max_len(1)
        .map(|case| {
            let cascade = sanity::cascade(case, &models, 0, &methods::sanity_set)?;
            let constant = sanity::constant(case, 0, &methods::sanity_set)?;
            let lime = sanity::lime_constant(case, 0)?;
            Ok((cascade, constant, lime))
        })
        .collect();
    let (mut cascade, mut constant, mut lime) = (Vec::new(), Vec::new(), Vec::new());
    for r in per_case {
        let (a, b, c) = r?;
        cascade.extend(a);
        constant.extend(b);
        lime.push(c);
    }
    let cascade_summary = summary::summarise_cascade(&cascade);
    let constant_summary = summary::summarise_constant(&constant);
    println!(
        "\nSanity: cascading randomisation ({} CNN cases, seed 0)\n",
        chosen.len()
    );
    print!("{}", summary::cascade_table(&cascade_summary));
    println!("\nSanity: a constant model\n");
    print!("{}", summary::constant_table(&constant_summary));
    println!();
    print!("{}", summary::lime_constant_table(&lime));
    Ok(serde_json::json!({
        "cases": chosen.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "cascade": summary::cascade_json(&cascade, &cascade_summary),
        "constant": summary::constant_json(&constant, &constant_summary, &lime),
    }))
}

/// Each half's figure beside the JSON: `faithfulness-planted.svg`, `….cnn.svg`.
fn write_plots(out: &std::path::Path, summaries: &[Summary]) -> std::io::Result<()> {
    let dir = out.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    for group in [Group::Planted, Group::Cnn] {
        if summaries.iter().any(|s| s.group == group) {
            let path = dir.join(format!("faithfulness-{}.svg", group.name()));
            std::fs::write(&path, plot::scatter_svg(summaries, group))?;
            eprintln!("figure: {}", path.display());
        }
    }
    Ok(())
}

/// Writes the JSON report and says where it went and how long it took.
fn write_json(
    out: &std::path::Path,
    report: &serde_json::Value,
    cases: usize,
    start: Instant,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Settings and scores only: the time taken and the thread count go to
    // stderr, so the same run writes the same bytes on any machine (the
    // committed `tests/quick.json` is asserted byte for byte).
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    std::fs::write(out, text)?;
    eprintln!(
        "{cases} cases in {:.0} s; JSON in {}",
        start.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
