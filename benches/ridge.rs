//! Weighted ridge fits at LIME's sizes: K segments, n = 10·K samples.
//! `lime_weights`: LIME's kernel weights, which depend only on how many
//! segments a row keeps (the bitset Gram path); `random_weights`: arbitrary
//! weights (the dense path).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use multiscale_lime::kernel::{cosine_distance, exponential_kernel};
use multiscale_lime::{Ridge, SurrogateFitter};
use ndarray::{Array1, Array2};
use rand::{RngExt, SeedableRng};

fn ridge(c: &mut Criterion) {
    let mut group = c.benchmark_group("ridge");
    group.sample_size(10);
    for k in [25usize, 100, 200, 800] {
        let n = 10 * k;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random_bool(0.5))));
        let y = Array1::from_shape_fn(n, |_| rng.random::<f64>());
        let random = Array1::from_shape_fn(n, |_| rng.random_range(0.1..1.0));
        let lime = Array1::from_iter(z.rows().into_iter().map(|row| {
            let kept = row.iter().filter(|&&v| v == 1.0).count();
            exponential_kernel(cosine_distance(kept, k), 0.25)
        }));
        let r = Ridge::default();
        for (name, w) in [("lime_weights", &lime), ("random_weights", &random)] {
            group.bench_with_input(BenchmarkId::new(name, format!("K{k}_n{n}")), &k, |b, _| {
                b.iter(|| r.fit(z.view(), y.view(), w.view()).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, ridge);
criterion_main!(benches);
