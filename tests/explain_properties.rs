//! Property tests over the builder and `explain`: any small image, any
//! levels (including huge and all-equal ones), any batch size, and a
//! classifier that may misbehave in every way the fuzz target knows. Every
//! case ends in a valid explanation or a typed error, never a panic; and a
//! valid explanation does not depend on the thread count or batch size.

use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{ClassifierError, Error, Limits};
use multiscale_lime_testkit::noise_image;
use ndarray::{Array2, ArrayView4};
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

fn scores(
    batch: ArrayView4<'_, f32>,
    behaviour: Behaviour,
    call: usize,
) -> Result<Array2<f32>, ClassifierError> {
    let n = batch.dim().0;
    let fill = |v: f32| Ok(Array2::from_elem((n, 2), v));
    match behaviour {
        Behaviour::MeanRed => multiscale_lime_testkit::mean_red(batch),
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
    let lime = MultiScaleLime::preset(Preset::Paper)
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
        let img = noise_image(h, w, seed);
        // All levels equal is its own case.
        let levels: Vec<usize> = if equal && !levels.is_empty() {
            vec![levels[0]; levels.len()]
        } else {
            levels
        };
        // What the case must give, in the order explain meets it: the
        // settings (build), the classifier on the original image, the
        // levels' segment counts, then the perturbed batches. A valid case
        // with a well-behaved classifier must explain.
        let invalid_settings = levels.is_empty()
            || levels.contains(&0)
            || samples < 2
            || batch == BatchSize::Fixed(0);
        let over_limit = levels.iter().any(|&l| l > Limits::default().segments());
        let expected_error = match behaviour {
            _ if invalid_settings => Some("InvalidParameter"),
            _ if over_limit => Some("LimitExceeded"),
            Behaviour::NaN | Behaviour::Infinite => Some("ClassifierNonFinite"),
            Behaviour::WrongRows | Behaviour::WrongColumns => Some("ClassifierOutput"),
            Behaviour::Fails | Behaviour::FailsAfter(0) => Some("Classifier"),
            _ if levels.iter().any(|&l| l > h * w) => Some("SegmentCount"),
            Behaviour::MeanRed | Behaviour::Constant(_) | Behaviour::Negative => None,
            // A later call fails, if there is one.
            Behaviour::FailsAfter(_) => Some("Classifier or none"),
        };
        let result = run(&img, &levels, samples, batch, 1, behaviour);
        match (&result, expected_error) {
            (Ok(e), None | Some("Classifier or none")) => {
                let stack = &e.stacks()[0];
                prop_assert_eq!(stack.levels().len(), levels.len());
                for level in stack.levels() {
                    prop_assert_eq!(level.heatmap.dim(), (h, w));
                    prop_assert!(level.heatmap.values().iter().all(|v| v.is_finite()));
                    prop_assert!(level.actual >= 1 && level.actual <= h * w);
                }
                let combined = Trapezoid.combine(stack).unwrap();
                prop_assert!((combined.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
            (Err(err), Some(kind)) => {
                let got = match err {
                    Error::InvalidParameter { .. } => "InvalidParameter",
                    Error::SegmentCount { .. } => "SegmentCount",
                    Error::LimitExceeded { .. } => "LimitExceeded",
                    Error::ClassifierNonFinite { .. } => "ClassifierNonFinite",
                    Error::ClassifierOutput { .. } => "ClassifierOutput",
                    Error::Classifier(_) => "Classifier",
                    _ => "another error",
                };
                prop_assert!(
                    kind == got || (kind == "Classifier or none" && got == "Classifier"),
                    "expected {kind}, got {err}"
                );
            }
            (result, expected) => {
                prop_assert!(false, "expected {expected:?}, got {:?}", result.as_ref().map(|_| "Ok"));
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
        let img = noise_image(h, w, seed);
        let one = run(&img, &levels, samples, BatchSize::Auto, 1, Behaviour::MeanRed).unwrap();
        let other = run(&img, &levels, samples, batch.into(), 2, Behaviour::MeanRed).unwrap();
        prop_assert_eq!(one.stacks(), other.stacks());
    }
}

#[test]
fn fixed_cases_give_the_expected_outcome() {
    // The property above accepts any typed error; these pin which one, and
    // that valid settings (equal levels included) give a valid result.
    let img = noise_image(8, 9, 3);
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
        run(&img, &[1000], 12, 4.into(), 1, Behaviour::MeanRed),
        Err(Error::SegmentCount { .. })
    ));
    assert!(matches!(
        run(&img, &[100_000], 12, 4.into(), 1, Behaviour::MeanRed),
        Err(Error::LimitExceeded {
            value: 100_000,
            limit: 4096,
            ..
        })
    ));
}
