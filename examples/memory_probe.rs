//! Peak-memory probe: one explanation of a large image (the bundled IHC image
//! enlarged to SIDE×SIDE) with a near-free classifier. Run it under
//! `/usr/bin/time -v` and read "Maximum resident set size":
//!
//! ```text
//! cargo build --release --example memory_probe
//! /usr/bin/time -v target/release/examples/memory_probe 4096 8000 auto
//! ```
//! Arguments: SIDE SAMPLES BATCH_SIZE|auto [LEVEL]. Perturbed images exist
//! only batch by batch (`images × SIDE² × 12` bytes per worker thread), so
//! the peak depends on the batch size and thread count, not on SAMPLES.

use multiscale_lime::prelude::*;
use multiscale_lime::BatchSize;
use multiscale_lime::Preset;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [side, samples, batch, rest @ ..] = args.as_slice() else {
        return Err("usage: memory_probe SIDE SAMPLES BATCH_SIZE|auto [LEVEL]".into());
    };
    let (side, samples): (usize, usize) = (side.parse()?, samples.parse()?);
    let batch = match batch.as_str() {
        "auto" => BatchSize::Auto,
        n => BatchSize::Fixed(n.parse()?),
    };
    let level = rest.first().map_or(Ok(400), |l| l.parse())?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let small = image::open(root.join("assets/ihc.png"))?.to_rgb8();
    let side32 = u32::try_from(side)?;
    let large = image::imageops::resize(
        &small,
        side32,
        side32,
        image::imageops::FilterType::Triangle,
    );
    let image = Image::try_from(&large)?;
    drop(large);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([level])
        .samples(samples)
        .batch_size(batch)
        .seed(0)
        .build()?;
    let start = std::time::Instant::now();
    let e = lime.explain(
        &image,
        &FnClassifier::new(2, multiscale_lime_testkit::mean_red),
        Target::Predicted,
    )?;
    let level = &e.stacks()[0].levels()[0];
    println!(
        "{side}×{side}, s = {} (s' = {}), {} samples, batch {}, {} threads: {:.1} s",
        level.desired,
        level.actual,
        level.samples,
        batch.images(side, side),
        rayon::current_num_threads(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
