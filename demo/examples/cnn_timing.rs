//! Times whole explanations of the bundled CNN on the bundled patch, for
//! `tools/bench_real_model.py`, and how much of each the model took.
//!
//! ```text
//! cargo run --release --example cnn_timing -- ort|tract REPEATS LEVEL...
//! ```
//!
//! Hidden superpixels are white, no metrics; the settings are
//! `Preset::Paper`'s (n = 10·s' per level, compactness 5: the same work
//! `lime` is given by the script) unless `PRESET=recommended`. Prints
//! `backend=… samples=… median_ms=… min_ms=… model_ms=…` on one line,
//! `model_ms` being the median time spent inside the classifier (summed
//! over threads) and `replay_ms` the time the classifier alone takes to
//! score the same batches again, in parallel as the explainer does, each
//! replay right after an explanation; `ratio_*` are the median and range of
//! explanation / replay over the rounds. Set
//! `RAYON_NUM_THREADS` for the thread count; ONNX Runtime's library comes
//! from `ORT_DYLIB_PATH` or `tools/fetch_onnxruntime.py`; `ORT_SESSIONS`,
//! `ORT_INTRA` and `ORT_BATCH` override its sessions, intra-op threads and
//! images per run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::sync::Mutex;

use multiscale_lime::ndarray::{Array2, Array4, ArrayView4};
use multiscale_lime::onnx::{OnnxClassifier, OrtClassifier};
use multiscale_lime::prelude::*;
use multiscale_lime::ClassifierError;
use multiscale_lime_testkit::{asset, load_asset, onnxruntime_library};
use rayon::prelude::*;

/// A classifier that adds up the time its inner one takes, and keeps a
/// copy of the batches it saw while recording (an untimed first run).
struct Timed<C>(C, AtomicU64, Mutex<Option<Vec<Array4<f32>>>>);

impl<C: Classifier> Classifier for Timed<C> {
    fn num_classes(&self) -> usize {
        self.0.num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        if let Some(seen) = self.2.lock().ok().as_mut().and_then(|s| s.as_mut()) {
            seen.push(batch.to_owned());
        }
        let start = Instant::now();
        let out = self.0.predict(batch);
        self.1
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }
    fn preferred_batch_size(&self) -> Option<usize> {
        self.0.preferred_batch_size()
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: cnn_timing ort|tract REPEATS LEVEL...".into());
    }
    let repeats: usize = args[1].parse()?;
    let levels: Vec<usize> = args[2..]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let model = asset("models/ihc_dab_cnn.onnx");
    let classifier: Box<dyn Classifier> = match args[0].as_str() {
        "ort" => {
            let mut builder = OrtClassifier::builder(96, 96).library(onnxruntime_library());
            // Knobs for trying other session layouts.
            if let Some(n) = env_usize("ORT_SESSIONS") {
                builder = builder.sessions(n);
            }
            if let Some(n) = env_usize("ORT_INTRA") {
                builder = builder.intra_threads(n);
            }
            if let Some(n) = env_usize("ORT_BATCH") {
                builder = builder.batch_size(n);
            }
            Box::new(builder.load_path(&model)?)
        }
        "tract" => Box::new(OnnxClassifier::builder(96, 96).load_path(&model)?),
        other => return Err(format!("unknown backend {other}").into()),
    };
    let classifier = Timed(classifier, AtomicU64::new(0), Mutex::new(Some(Vec::new())));
    let patch = load_asset("ihc_patch96.png");
    // The preset from $PRESET (`paper` unless set, as the figures in
    // docs/performance.md).
    let preset: multiscale_lime::Preset = std::env::var("PRESET")
        .unwrap_or_else(|_| "paper".into())
        .parse()?;
    let lime = MultiScaleLime::preset(preset)
        .levels(levels.iter().copied())
        .hide_color(HideColor::Constant([1.0; 3]))
        .seed(0)
        .build()?;
    let (mut times, mut model_times) = (Vec::new(), Vec::new());
    let mut samples = 0;
    // An untimed run records the batches (and warms the model up).
    lime.explain(&patch, &classifier, Target::Predicted)?;
    let batches = classifier
        .2
        .lock()
        .map_err(|_| "poisoned")?
        .take()
        .unwrap_or_default();
    // Each round times a whole explanation, then the very batches of an
    // explanation scored again as the explainer runs them (in parallel over
    // rayon's threads): interleaved, so the machine's drift hits both alike
    // and each round's ratio compares like with like.
    let (mut replays, mut ratios) = (Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        classifier.1.store(0, Ordering::Relaxed);
        let start = Instant::now();
        let e = lime.explain(&patch, &classifier, Target::Predicted)?;
        let explain_ms = start.elapsed().as_secs_f64() * 1e3;
        model_times.push(classifier.1.load(Ordering::Relaxed) as f64 / 1e6);
        samples = e.stacks()[0].levels().iter().map(|l| l.samples).sum();
        let start = Instant::now();
        batches
            .par_iter()
            .try_for_each(|b| classifier.0.predict(b.view()).map(drop))?;
        let replay_ms = start.elapsed().as_secs_f64() * 1e3;
        times.push(explain_ms);
        replays.push(replay_ms);
        ratios.push(explain_ms / replay_ms);
    }
    for t in [&mut times, &mut model_times, &mut replays, &mut ratios] {
        t.sort_by(f64::total_cmp);
    }
    println!(
        "backend={} samples={samples} median_ms={:.1} min_ms={:.1} model_ms={:.1} replay_ms={:.1} \
         ratio_median={:.3} ratio_min={:.3} ratio_max={:.3}",
        args[0],
        times[times.len() / 2],
        times[0],
        model_times[model_times.len() / 2],
        replays[replays.len() / 2],
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
    );
    Ok(())
}
