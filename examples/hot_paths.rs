//! A fixed workload through the two hot paths, for instruction counts
//! (valgrind's callgrind; timings on a shared machine drift too much to
//! compare small changes): ridge fits at LIME's sizes (`Ridge::fit_many`)
//! and masked renders (`render_runs`, through explanations with a
//! near-free classifier). `tools/hot_paths.sh` runs it under callgrind
//! and prints the instructions spent in each.

use multiscale_lime::kernel::{cosine_distance, exponential_kernel};
use multiscale_lime::prelude::*;
use multiscale_lime::{Preset, Ridge, SurrogateFitter};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::{RngExt, SeedableRng};

fn main() -> Result<(), multiscale_lime::Error> {
    // Ridge: K segments, n = 10·K rows, LIME's kernel (the bitset Gram
    // path) and arbitrary weights (the dense path), two targets.
    for k in [25usize, 100] {
        let n = 10 * k;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let z = Array2::from_shape_fn((n, k), |_| f32::from(u8::from(rng.random_bool(0.5))));
        let ys = Array2::from_shape_fn((n, 2), |_| rng.random::<f64>());
        let random = Array1::from_shape_fn(n, |_| rng.random_range(0.1..1.0));
        let lime = Array1::from_iter(z.rows().into_iter().map(|row| {
            let kept = row.iter().filter(|&&v| v == 1.0).count();
            exponential_kernel(cosine_distance(kept, k), 0.25)
        }));
        for w in [&lime, &random] {
            let fits = Ridge::default().fit_many(z.view(), ys.view(), w.view())?;
            assert_eq!(fits.len(), 2);
        }
    }
    // Masked renders: a 96×96 image, the paper's setting (independent
    // masks, black fill) at three levels; the classifier reads one pixel.
    let image = Image::new(Array3::from_shape_fn((96, 96, 3), |(y, x, c)| {
        ((y * 7 + x * 3 + c * 11) % 97) as f32 / 96.0
    }))?;
    let classifier = FnClassifier::new(2, |batch| {
        let mut out = Array2::zeros((batch.dim().0, 2));
        for (i, im) in batch.axis_iter(Axis(0)).enumerate() {
            out[[i, 1]] = im[[48, 48, 0]];
            out[[i, 0]] = 1.0 - im[[48, 48, 0]];
        }
        Ok(out)
    });
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50])
        .seed(3)
        .build()?;
    let explanation = lime.explain(&image, &classifier, Target::Class(1))?;
    assert_eq!(explanation.stacks().len(), 1);
    Ok(())
}
