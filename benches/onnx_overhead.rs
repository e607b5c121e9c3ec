//! Explanation time against pure inference time with the bundled CNN
//! (`assets/models/ihc_dab_cnn.onnx`) on the bundled 96×96 patch: the
//! library's own share (segmentation, masks, rendering, ridge) is the ratio
//! minus one. The inference side scores the very batches one explanation
//! sent to the model, recorded: tract's speed depends on the pixels (masked
//! images with black regions run slower than the intact patch), so only the
//! same images make a fair denominator. Both sides run on one thread, and on
//! all threads, with the default batch size. A second ratio divides one explanation's wall time by the
//! time spent inside the model during that very run (per thread), which a
//! noisy machine cannot skew between runs.
//!
//! `cargo bench --features onnx --bench onnx_overhead` prints both ratios
//! after criterion's figures (`-- nomatch` skips criterion's own runs).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use multiscale_lime::onnx::OnnxClassifier;
use multiscale_lime::Preset;
use multiscale_lime::{Classifier, ClassifierError, MultiScaleLime, Target};
use ndarray::{Array2, Array4, ArrayView4};
use rayon::prelude::*;

/// Keeps a copy of every batch a classifier sees.
struct Recording<'a>(&'a OnnxClassifier, Mutex<Vec<Array4<f32>>>);

impl Classifier for Recording<'_> {
    fn num_classes(&self) -> usize {
        self.0.num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        self.1.lock().unwrap().push(batch.to_owned());
        self.0.predict(batch)
    }
}

/// Adds up the time spent inside the model during an explanation.
struct Timing<'a>(&'a OnnxClassifier, AtomicU64);

impl Classifier for Timing<'_> {
    fn num_classes(&self) -> usize {
        self.0.num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        let start = Instant::now();
        let out = self.0.predict(batch);
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.1.fetch_add(nanos, Ordering::Relaxed);
        out
    }
}

/// The recorded batches scored again, in parallel as the explainer runs them.
fn inference(model: &OnnxClassifier, batches: &[Array4<f32>]) {
    batches.par_iter().for_each(|batch| {
        std::hint::black_box(model.predict(batch.view()).unwrap());
    });
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn overhead(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = OnnxClassifier::builder(96, 96)
        .load_path(root.join("assets/models/ihc_dab_cnn.onnx"))
        .unwrap();
    let patch = multiscale_lime_testkit::load_asset("ihc_patch96.png");
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50, 100, 200])
        .samples_per_segment(10)
        .seed(0)
        .build()
        .unwrap();
    let recording = Recording(&model, Mutex::new(Vec::new()));
    lime.explain(&patch, &recording, Target::Predicted).unwrap();
    let batches = recording.1.into_inner().unwrap();
    let images: usize = batches.iter().map(|b| b.dim().0).sum();

    let mut group = c.benchmark_group("onnx_overhead");
    group.sample_size(10);
    let mut ratios = Vec::new();
    for threads in [1, rayon::current_num_threads()] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        group.bench_function(
            BenchmarkId::new("explain", format!("{threads}threads")),
            |b| {
                b.iter(|| pool.install(|| lime.explain(&patch, &model, Target::Predicted).unwrap()))
            },
        );
        group.bench_function(
            BenchmarkId::new("inference", format!("{threads}threads")),
            |b| b.iter(|| pool.install(|| inference(&model, &batches))),
        );
        // Interleaved medians for the ratio, so drift affects both sides.
        let (mut explain, mut infer) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            explain.push(timed(|| {
                pool.install(|| lime.explain(&patch, &model, Target::Predicted).unwrap());
            }));
            infer.push(timed(|| pool.install(|| inference(&model, &batches))));
        }
        explain.sort();
        infer.sort();
        // The same run's own model time: immune to drift between runs.
        let timing = Timing(&model, AtomicU64::new(0));
        let wall = timed(|| {
            pool.install(|| lime.explain(&patch, &timing, Target::Predicted).unwrap());
        });
        let inside = Duration::from_nanos(timing.1.into_inner()) / threads as u32;
        ratios.push((threads, explain[0], infer[0], wall, inside));
    }
    group.finish();
    println!("\nexplanation / inference, {images} images per explanation (levels 10,25,50,100,200, n = 10·s'):");
    for (threads, e, i, wall, inside) in ratios {
        println!(
            "  {threads} thread(s): explanation {:.1} ms, inference {:.1} ms, ratio {:.3}; \
             one explanation {:.1} ms of which model {:.1} ms per thread, ratio {:.3}",
            e.as_secs_f64() * 1e3,
            i.as_secs_f64() * 1e3,
            e.as_secs_f64() / i.as_secs_f64(),
            wall.as_secs_f64() * 1e3,
            inside.as_secs_f64() * 1e3,
            wall.as_secs_f64() / inside.as_secs_f64()
        );
    }
}

criterion_group!(benches, overhead);
criterion_main!(benches);
