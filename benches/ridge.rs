//! Weighted ridge fits at LIME's sizes: K segments, n = 10·K samples.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
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
        let w = Array1::from_shape_fn(n, |_| rng.random_range(0.1..1.0));
        let r = Ridge::default();
        group.bench_with_input(BenchmarkId::new("fit", format!("K{k}_n{n}")), &k, |b, _| {
            b.iter(|| r.fit(z.view(), y.view(), w.view()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, ridge);
criterion_main!(benches);
