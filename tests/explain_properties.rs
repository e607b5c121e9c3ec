//! Property tests over the builder and `explain`: any small image, any
//! levels (including huge and all-equal ones), any batch size, and a
//! classifier that may misbehave in every way the fuzz target knows. Every
//! case ends in a valid explanation or a typed error, never a panic; and a
//! valid explanation does not depend on the thread count or batch size.

use multiscale_lime::prelude::*;
use multiscale_lime::{BatchSize, ClassifierError, Error};
use ndarray::{Array2, Array3, ArrayView4};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Behaviour {
    MeanRed,
    Constant(f32),
    NaN,
    Infinite,
    Negative,
    WrongRows,
    WrongColumns,
    Fails,
    FailsAfter(usize),
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        4 => Just(Behaviour::MeanRed),
        1 => (-2.0f32..2.0).prop_map(Behaviour::Constant),
        1 => Just(Behaviour::NaN),
        1 => Just(Behaviour::Infinite),
        1 => Just(Behaviour::Negative),
        1 => Just(Behaviour::WrongRows),
        1 => Just(Behaviour::WrongColumns),
        1 => Just(Behaviour::Fails),
        1 => (0usize..4).prop_map(Behaviour::FailsAfter),
    ]
}

fn image(h: usize, w: usize, seed: u32) -> Image {
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let v = (y as u32 * 73 + x as u32 * 31 + c as u32 * 17 + seed).wrapping_mul(2_654_435_761);
        (v >> 8) as f32 / (1u32 << 24) as f32
    });
    Image::new(data).unwrap()
}

fn scores(
    batch: ArrayView4<'_, f32>,
    behaviour: Behaviour,
    call: usize,
) -> Result<Array2<f32>, ClassifierError> {
    let n = batch.dim().0;
    let fill = |v: f32| Ok(Array2::from_elem((n, 2), v));
    match behaviour {
        Behaviour::MeanRed => Ok(Array2::from_shape_fn((n, 2), |(i, c)| {
            let red = batch
                .index_axis(ndarray::Axis(0), i)
                .index_axis(ndarray::Axis(2), 0)
                .mean()
                .unwrap_or(0.0);
            if c == 0 {
                red
            } else {
                1.0 - red
            }
        })),
        Behaviour::Constant(v) => fill(v),
        Behaviour::NaN => fill(f32::NAN),
        Behaviour::Infinite => fill(f32::INFINITY),
        Behaviour::Negative => fill(-1.0),
        Behaviour::WrongRows => Ok(Array2::zeros((n + 1, 2))),
        Behaviour::WrongColumns => Ok(Array2::zeros((n, 3))),
        Behaviour::Fails => Err(ClassifierError::msg("the model is down")),
        Behaviour::FailsAfter(k) if call >= k => Err(ClassifierError::msg("later failure")),
        Behaviour::FailsAfter(_) => fill(0.5),
    }
}

fn run(
    img: &Image,
    levels: &[usize],
    samples: usize,
    batch: BatchSize,
    threads: usize,
    behaviour: Behaviour,
) -> Result<Explanation, Error> {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let clf = FnClassifier::new(2, |b: ArrayView4<'_, f32>| {
        let call = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        scores(b, behaviour, call)
    });
    let lime = MultiScaleLime::builder()
        .levels(levels.iter().copied())
        .samples(samples)
        .batch_size(batch)
        .seed(9)
        .build()?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| lime.explain(img, &clf, Target::Predicted))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn explain_ends_in_a_valid_result_or_a_typed_error(
        h in 1usize..12,
        w in 1usize..12,
        seed in any::<u32>(),
        levels in prop::collection::vec(prop_oneof![6 => 1usize..20, 1 => 100usize..100_000], 0..4),
        equal in any::<bool>(),
        samples in prop_oneof![9 => 2usize..24, 1 => 0usize..2],
        batch in prop_oneof![
            8 => (1usize..9).prop_map(BatchSize::Fixed),
            1 => Just(BatchSize::Fixed(0)),
            1 => Just(BatchSize::Auto),
        ],
        behaviour in behaviour(),
    ) {
        let img = image(h, w, seed);
        // All levels equal is its own case.
        let levels: Vec<usize> = if equal && !levels.is_empty() {
            vec![levels[0]; levels.len()]
        } else {
            levels
        };
        match run(&img, &levels, samples, batch, 1, behaviour) {
            Ok(e) => {
                let stack = &e.stacks()[0];
                prop_assert_eq!(stack.levels().len(), levels.len());
                for level in stack.levels() {
                    prop_assert_eq!(level.heatmap.dim(), (h, w));
                    prop_assert!(level.heatmap.values().iter().all(|v| v.is_finite()));
                    prop_assert!(level.actual >= 1 && level.actual <= h * w);
                }
                let combined = e.combine(&Trapezoid).unwrap();
                prop_assert!((combined.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
            Err(err) => {
                // Typed, and says something.
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn valid_explanations_do_not_depend_on_threads_or_batch_size(
        h in 4usize..14,
        w in 4usize..14,
        seed in any::<u32>(),
        levels in prop::collection::vec(1usize..12, 1..4),
        samples in 2usize..30,
        batch in 1usize..9,
    ) {
        let img = image(h, w, seed);
        let one = run(&img, &levels, samples, BatchSize::Auto, 1, Behaviour::MeanRed).unwrap();
        let other = run(&img, &levels, samples, batch.into(), 2, Behaviour::MeanRed).unwrap();
        prop_assert_eq!(one.stacks(), other.stacks());
    }
}

#[test]
fn fixed_cases_give_the_expected_outcome() {
    // The property above accepts any typed error; these pin which one, and
    // that valid settings (equal levels included) give a valid result.
    let img = image(8, 9, 3);
    let e = run(&img, &[3, 3, 10], 12, 4.into(), 1, Behaviour::MeanRed).unwrap();
    assert_eq!(e.stacks()[0].levels().len(), 3);
    assert!(matches!(
        run(&img, &[3], 12, 4.into(), 1, Behaviour::NaN),
        Err(Error::ClassifierNonFinite { .. })
    ));
    assert!(matches!(
        run(&img, &[3], 12, 4.into(), 1, Behaviour::WrongRows),
        Err(Error::ClassifierOutput { .. })
    ));
    assert!(matches!(
        run(&img, &[3], 12, 4.into(), 1, Behaviour::FailsAfter(1)),
        Err(Error::Classifier(_))
    ));
    assert!(matches!(
        run(&img, &[100_000], 12, 4.into(), 1, Behaviour::MeanRed),
        Err(Error::SegmentCount { .. })
    ));
}
