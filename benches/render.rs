//! Rendering perturbed images against the memory system's own speed: one
//! batch of 64 masked copies of the 512² IHC image (161 superpixels, random
//! masks, black fill), the same batch rendered over a buffer holding other
//! masks' images (what the explainer does within a level), and 64 plain
//! copies of the same bytes. Throughput counts the batch's bytes.

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use multiscale_lime::perturb::{render_masked, render_masked_over};
use multiscale_lime::{BernoulliPerturber, Perturber, Segmenter, Slic};
use ndarray::Array4;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 64;

fn render(c: &mut Criterion) {
    let image = common::load("ihc.png");
    let (h, w) = (image.height(), image.width());
    let seg = Slic::default().segment(&image, 400).unwrap();
    let perturber = BernoulliPerturber::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let masks = perturber.masks(seg.count(), BATCH, &mut rng).unwrap();
    let previous = perturber.masks(seg.count(), BATCH, &mut rng).unwrap();
    let fill = perturber.fill(&image, &seg).unwrap();
    let mut out = Array4::<f32>::zeros((BATCH, h, w, 3));

    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Bytes((BATCH * h * w * 3 * 4) as u64));
    group.bench_function(format!("masked 64x512x512, s'={}", seg.count()), |b| {
        b.iter(|| render_masked(&image, &seg, &fill, masks.view(), out.view_mut()).unwrap())
    });
    // The buffer already holds other masks' images (the explainer reuses
    // buffers within a level): only changed segments are written.
    group.bench_function(
        format!("masked over previous 64x512x512, s'={}", seg.count()),
        |b| {
            b.iter(|| {
                render_masked_over(
                    &image,
                    &seg,
                    &fill,
                    masks.view(),
                    previous.view(),
                    out.view_mut(),
                )
                .unwrap()
            })
        },
    );
    group.bench_function("plain copy 64x512x512", |b| {
        b.iter(|| {
            let src = image.as_slice();
            for dst in out.as_slice_mut().unwrap().chunks_exact_mut(src.len()) {
                dst.copy_from_slice(src);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
