//! Rendering perturbed images against the memory system's own speed, on the
//! 512² IHC image (161 superpixels; a batch of 64, and the automatic batch
//! of 1) and on the 96² patch (69 superpixels; the automatic batch of 37):
//! a fresh render, a render over a buffer holding other masks' images (what
//! the explainer does within a level), and plain copies of the same bytes.
//! Random masks, black fill, as `BernoulliPerturber::default()` renders.
//! Throughput counts the batch's bytes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use multiscale_lime::{BatchSize, BernoulliPerturber, Image, Perturber, Segmenter, Slic};
use ndarray::Array4;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn case(c: &mut Criterion, image: &Image, desired: usize, batch: usize) {
    let (h, w) = (image.height(), image.width());
    let seg = Slic::default().segment(image, desired).unwrap();
    let perturber = BernoulliPerturber::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // Row 0 of a mask matrix is the intact image: leave it out.
    let mut draw = || {
        let m = perturber.masks(seg.count(), batch + 1, &mut rng).unwrap();
        m.slice(ndarray::s![1.., ..]).to_owned()
    };
    let (masks, previous) = (draw(), draw());
    let fill = perturber.fill(image, &seg).unwrap();
    let mut out = Array4::<f32>::zeros((batch, h, w, 3));
    let shape = format!("{batch}x{h}x{w}, s'={}", seg.count());

    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Bytes((batch * h * w * 3 * 4) as u64));
    group.bench_function(format!("masked {shape}"), |b| {
        b.iter(|| {
            perturber
                .render(image, &seg, &fill, masks.view(), out.view_mut())
                .unwrap()
        })
    });
    group.bench_function(format!("masked over previous {shape}"), |b| {
        b.iter(|| {
            let (now, before) = (masks.view(), previous.view());
            perturber
                .render_over(image, &seg, &fill, now, before, out.view_mut())
                .unwrap()
        })
    });
    group.bench_function(format!("plain copy {batch}x{h}x{w}"), |b| {
        b.iter(|| {
            let src = image.as_slice();
            for dst in out.as_slice_mut().unwrap().chunks_exact_mut(src.len()) {
                dst.copy_from_slice(src);
            }
        })
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let large = multiscale_lime_testkit::load_asset("ihc.png");
    let patch = multiscale_lime_testkit::load_asset("ihc_patch96.png");
    case(c, &large, 400, 64);
    case(c, &large, 400, BatchSize::Auto.images(512, 512));
    case(c, &patch, 100, BatchSize::Auto.images(96, 96));
}

criterion_group!(benches, render);
criterion_main!(benches);
