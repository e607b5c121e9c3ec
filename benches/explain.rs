//! One full multi-scale explanation with a near-free classifier, so the
//! library's own cost (segmentation, rendering, ridge) is what is measured.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use multiscale_lime::Preset;
use multiscale_lime::{FnClassifier, MultiScaleLime, Target};

fn explain(c: &mut Criterion) {
    let mut group = c.benchmark_group("explain");
    group.sample_size(10);
    let clf = FnClassifier::new(2, multiscale_lime_testkit::mean_red);
    let cases: [(&str, &str, Vec<usize>); 2] = [
        ("patch96", "ihc_patch96.png", vec![10, 25, 50, 100, 200]),
        ("ihc512", "ihc.png", vec![25, 100, 400]),
    ];
    for (name, file, levels) in cases {
        let image = multiscale_lime_testkit::load_asset(file);
        let lime = MultiScaleLime::preset(Preset::Paper)
            .levels(levels)
            .seed(0)
            .build()
            .unwrap();
        group.bench_with_input(BenchmarkId::new("full", name), &image, |b, image| {
            b.iter(|| lime.explain(image, &clf, Target::Predicted).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, explain);
criterion_main!(benches);
