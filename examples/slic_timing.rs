//! Times `Slic` on one thread, for `tools/bench_slic_vs_skimage.py`.
//!
//! ```text
//! cargo run --release --example slic_timing -- IMAGE.png COMPACTNESS REPEATS N...
//! ```
//! Prints one line per `n`: `n count median_ms`.

use multiscale_lime::{Image, Segmenter, Slic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: slic_timing IMAGE COMPACTNESS REPEATS N...".into());
    }
    let image = Image::try_from(&image::open(&args[0])?.to_rgb8())?;
    let slic = Slic::builder()
        .compactness(args[1].parse()?)
        .parallel(false)
        .build()?;
    let repeats: usize = args[2].parse()?;
    for n in &args[3..] {
        let n: usize = n.parse()?;
        let mut times = Vec::with_capacity(repeats);
        let mut count = 0;
        for _ in 0..repeats.max(1) {
            let start = std::time::Instant::now();
            count = slic.segment(&image, n)?.count();
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!("{n} {count} {:.3}", times[times.len() / 2]);
    }
    Ok(())
}
