//! SLIC on the bundled IHC images; `single` runs on one thread (the figure
//! compared with scikit-image by `tools/bench_slic_vs_skimage.py`),
//! `parallel` on rayon's pool.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use multiscale_lime::{Segmenter, Slic};

fn slic(c: &mut Criterion) {
    let mut group = c.benchmark_group("slic");
    for (name, file) in [("96", "ihc_patch96.png"), ("512", "ihc.png")] {
        let image = multiscale_lime_testkit::load_asset(file);
        for n in [25usize, 100, 400] {
            for (mode, parallel) in [("single", false), ("parallel", true)] {
                let slic = Slic::builder().parallel(parallel).build().unwrap();
                group.bench_with_input(
                    BenchmarkId::new(format!("{mode}/{name}"), n),
                    &n,
                    |b, &n| b.iter(|| slic.segment(&image, n).unwrap()),
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, slic);
criterion_main!(benches);
