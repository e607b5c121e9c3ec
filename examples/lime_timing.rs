//! Times whole explanations with a near-free classifier, for
//! `tools/bench_vs_lime.py`.
//!
//! ```text
//! cargo run --release --example lime_timing -- IMAGE.png REPEATS LEVEL...
//! ```
//! Prints `levels=… samples=… median_ms=… min_ms=…` on one line. Set
//! `RAYON_NUM_THREADS` to choose the thread count, `BATCH` a fixed batch
//! size (default: `BatchSize::Auto`) and `STD_ERRORS=0` to fit without
//! standard errors (what they cost).

use multiscale_lime::prelude::*;
use multiscale_lime::BatchSize;
use multiscale_lime::{Preset, Ridge};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: lime_timing IMAGE REPEATS LEVEL...".into());
    }
    let image = Image::try_from(&image::open(&args[0])?.to_rgb8())?;
    let repeats: usize = args[1].parse()?;
    let levels: Vec<usize> = args[2..]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels(levels.iter().copied())
        .compactness(5.0)
        .samples_per_segment(10)
        .seed(0)
        .batch_size(
            std::env::var("BATCH")
                .ok()
                .and_then(|b| b.parse().ok())
                .map_or(BatchSize::Auto, BatchSize::Fixed),
        )
        .surrogate(Ridge::default().std_errors(std::env::var("STD_ERRORS").as_deref() != Ok("0")))
        .build()?;
    let classifier = FnClassifier::new(2, multiscale_lime_testkit::mean_red);
    let mut times = Vec::new();
    let mut samples = 0;
    for _ in 0..repeats.max(1) {
        let start = std::time::Instant::now();
        let e = lime.explain(&image, &classifier, Target::Predicted)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        samples = e.stacks()[0]
            .levels()
            .iter()
            .map(|l| l.samples)
            .sum::<usize>();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "levels={levels:?} samples={samples} median_ms={:.2} min_ms={:.2}",
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
