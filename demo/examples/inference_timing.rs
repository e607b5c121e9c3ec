//! Pure inference time of the bundled CNN per image, for each runtime and
//! batch size, on one thread: the numbers behind each classifier's default
//! batch size (`docs/performance.md`).
//!
//! ```text
//! cargo run --release --example inference_timing [-- IMAGES]
//! ```
//!
//! ONNX Runtime's library comes from `ORT_DYLIB_PATH` or
//! `tools/fetch_onnxruntime.py`; without it only tract is measured. The
//! batches hold IMAGES (default 576) crops of `assets/ihc.png`, the same
//! for every runtime; each configuration is timed three times, interleaved,
//! and the best of three is printed. The run also checks that a crop's
//! scores are the same bits whatever batch it came in.

use std::time::Instant;

use multiscale_lime::ndarray::{s, Array2, Array4};
use multiscale_lime::onnx::{OnnxClassifier, OrtClassifier};
use multiscale_lime::Classifier;
use multiscale_lime_testkit::{asset, load_asset, onnxruntime_library};

const BATCHES: [usize; 8] = [1, 2, 4, 8, 9, 16, 32, 64];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let images: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 576,
    };
    let ihc = load_asset("ihc.png");
    let (h, w) = (ihc.height(), ihc.width());
    let mut batch = Array4::<f32>::zeros((images, 96, 96, 3));
    for i in 0..images {
        let (y, x) = ((i * 37) % (h - 96), (i * 61) % (w - 96));
        batch
            .slice_mut(s![i, .., .., ..])
            .assign(&ihc.view().slice(s![y..y + 96, x..x + 96, ..]));
    }
    let model = asset("models/ihc_dab_cnn.onnx");
    let ort_lib = std::env::var_os("ORT_DYLIB_PATH")
        .map(std::path::PathBuf::from)
        .or_else(|| std::panic::catch_unwind(onnxruntime_library).ok());
    let mut runs: Vec<(String, Box<dyn Classifier>)> = Vec::new();
    for b in BATCHES {
        let tract = OnnxClassifier::builder(96, 96)
            .batch_size(b)
            .load_path(&model)?;
        runs.push((format!("tract batch {b}"), Box::new(tract)));
    }
    if let Some(lib) = &ort_lib {
        for b in BATCHES {
            let ort = OrtClassifier::builder(96, 96)
                .library(lib)
                .sessions(1)
                .batch_size(b)
                .load_path(&model)?;
            runs.push((format!("onnxruntime batch {b}"), Box::new(ort)));
        }
    } else {
        println!("no ONNX Runtime library: tract only");
    }
    let mut best = vec![f64::INFINITY; runs.len()];
    let mut scores: Vec<Array2<f32>> = Vec::new();
    for round in 0..3 {
        for (i, (_, clf)) in runs.iter().enumerate() {
            let start = Instant::now();
            // The explainer's calls: a multiple of the batch size at a time.
            let out = clf.predict(batch.view())?;
            best[i] = best[i].min(start.elapsed().as_secs_f64() * 1e3 / images as f64);
            if round == 0 {
                scores.push(out);
            }
        }
    }
    println!("{:<24} {:>10}", "runtime", "ms/image");
    for ((name, _), ms) in runs.iter().zip(&best) {
        println!("{name:<24} {ms:>10.3}");
    }
    // Each runtime's scores must not depend on the batch they came in.
    for (group, name) in scores.chunks(BATCHES.len()).zip(["tract", "onnxruntime"]) {
        let same = group.iter().all(|s| *s == group[0]);
        let most = group
            .iter()
            .flat_map(|s| s.iter().zip(group[0].iter()).map(|(a, b)| (a - b).abs()))
            .fold(0.0f32, f32::max);
        println!(
            "{name}: scores bit-identical across batch sizes: {same} (largest difference {most:e})"
        );
    }
    if scores.len() == 2 * BATCHES.len() {
        let most = scores[0]
            .iter()
            .zip(scores[BATCHES.len()].iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("tract vs onnxruntime: largest score difference {most:e}");
    }
    Ok(())
}
