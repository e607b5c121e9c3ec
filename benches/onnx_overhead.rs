//! Explanation time against pure inference time with the bundled CNN
//! (`assets/models/ihc_dab_cnn.onnx`) on the bundled 96×96 patch: the
//! library's own share (segmentation, masks, rendering, ridge) is the ratio
//! minus one. Both sides run on one thread, and on all threads, with the
//! same images per model call (64).
//!
//! `cargo bench --bench onnx_overhead` prints the ratio after criterion's
//! figures.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use multiscale_lime::onnx::OnnxClassifier;
use multiscale_lime::{Classifier, ClassifierError, MultiScaleLime, Target};
use ndarray::{Array2, Array4, ArrayView4, Axis};
use rayon::prelude::*;

const BATCH: usize = 64;

/// Counts the images a classifier sees.
struct Counting<'a>(&'a OnnxClassifier, AtomicUsize);

impl Classifier for Counting<'_> {
    fn num_classes(&self) -> usize {
        self.0.num_classes()
    }
    fn predict(&self, batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
        self.1.fetch_add(batch.dim().0, Ordering::Relaxed);
        self.0.predict(batch)
    }
}

/// `images` forward passes in batches of [`BATCH`], batches in parallel as
/// the explainer runs them.
fn inference(model: &OnnxClassifier, batch: &Array4<f32>, images: usize) {
    let starts: Vec<usize> = (0..images).step_by(BATCH).collect();
    starts.par_iter().for_each(|&start| {
        let len = BATCH.min(images - start);
        let out = model
            .predict(batch.slice_axis(Axis(0), (0..len).into()))
            .unwrap();
        std::hint::black_box(out);
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
    let patch = common::load("ihc_patch96.png");
    let lime = MultiScaleLime::builder()
        .levels([10, 25, 50, 100, 200])
        .samples_per_segment(10)
        .batch_size(BATCH)
        .seed(0)
        .build()
        .unwrap();
    let counting = Counting(&model, AtomicUsize::new(0));
    lime.explain(&patch, &counting, Target::Predicted).unwrap();
    let images = counting.1.load(Ordering::Relaxed);
    // The patch itself, repeated: inference cost does not depend on content.
    let batch = patch
        .view()
        .insert_axis(Axis(0))
        .broadcast((BATCH, 96, 96, 3))
        .unwrap()
        .to_owned();

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
            |b| b.iter(|| pool.install(|| inference(&model, &batch, images))),
        );
        // Interleaved medians for the ratio, so drift affects both sides.
        let (mut explain, mut infer) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            explain.push(timed(|| {
                pool.install(|| lime.explain(&patch, &model, Target::Predicted).unwrap());
            }));
            infer.push(timed(|| pool.install(|| inference(&model, &batch, images))));
        }
        explain.sort();
        infer.sort();
        ratios.push((threads, explain[1], infer[1]));
    }
    group.finish();
    println!("\nexplanation / inference, {images} images per explanation (levels 10,25,50,100,200, n = 10·s'):");
    for (threads, e, i) in ratios {
        println!(
            "  {threads} thread(s): explanation {:.1} ms, inference {:.1} ms, ratio {:.3}",
            e.as_secs_f64() * 1e3,
            i.as_secs_f64() * 1e3,
            e.as_secs_f64() / i.as_secs_f64()
        );
    }
}

criterion_group!(benches, overhead);
criterion_main!(benches);
