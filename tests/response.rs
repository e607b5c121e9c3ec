//! The log-odds response: the same fit as regressing a hand-made logit,
//! bit-identical across threads and batch sizes under every schedule and
//! design, a more stable map than the probability's for a logistic model
//! of additive evidence, `Auto`'s choice, and the early refusal of logits.

use multiscale_lime::metrics::pearson;
use multiscale_lime::Preset;
use multiscale_lime::{
    Adaptive, BatchSize, Combiner, Error, FnClassifier, Heatmap, Image, MultiScaleLime, Response,
    Sampling, Schedule, SquareGrid, Target, Trapezoid,
};
use ndarray::{Array2, Array3, ArrayView3};

/// Evidence for class 1: a weighted sum of the red channel, positive on
/// the left half and negative on a bottom-right block.
fn evidence(image: ArrayView3<'_, f32>) -> f32 {
    let (h, w, _) = image.dim();
    let mut e = 0.0;
    for y in 0..h {
        for x in 0..w {
            let weight = if x < w / 2 {
                1.0 + (y % 3) as f32
            } else if y >= h / 2 && x >= 3 * w / 4 {
                -2.0
            } else {
                0.0
            };
            e += weight * image[[y, x, 0]];
        }
    }
    // Steep: about even odds with half the evidence visible, about e⁶ : 1
    // with all of it.
    24.0 * e / (h * w) as f32 - 6.0
}

fn probability(image: ArrayView3<'_, f32>) -> f32 {
    1.0 / (1.0 + (-evidence(image)).exp())
}

type Model = FnClassifier<
    Box<
        dyn Fn(
                ndarray::ArrayView4<'_, f32>,
            ) -> Result<Array2<f32>, multiscale_lime::ClassifierError>
            + Send
            + Sync,
    >,
>;

fn model(score: fn(ArrayView3<'_, f32>) -> f32) -> Model {
    FnClassifier::new(
        1,
        Box::new(move |batch| {
            Ok(Array2::from_shape_fn((batch.dim().0, 1), |(i, _)| {
                score(batch.index_axis(ndarray::Axis(0), i))
            }))
        }),
    )
}

fn image() -> Image {
    Image::new(Array3::from_shape_fn((24, 24, 3), |(y, x, c)| {
        0.4 + ((y * 5 + x * 3 + c) % 7) as f32 / 10.0
    }))
    .unwrap()
}

fn lime(response: Response, per_segment: usize, seed: u64) -> MultiScaleLime<SquareGrid> {
    MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([9, 36, 144])
        .samples_per_segment(per_segment)
        .response(response)
        .seed(seed)
        .build()
        .unwrap()
}

#[test]
fn log_odds_is_the_fit_of_the_logit() {
    let logit = |image: ArrayView3<'_, f32>| {
        let p = f64::from(probability(image));
        (p / (1.0 - p)).ln() as f32
    };
    let by_response = lime(Response::LogOdds, 4, 3)
        .explain(&image(), &model(probability), Target::Class(0))
        .unwrap();
    let by_hand = lime(Response::Score, 4, 3)
        .explain(&image(), &model(logit), Target::Class(0))
        .unwrap();
    for (a, b) in by_response.stacks()[0]
        .levels()
        .iter()
        .zip(by_hand.stacks()[0].levels())
    {
        for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
            // The hand logit rounds to f32 once more.
            assert!((x - y).abs() < 1e-5, "{x} {y}");
        }
        assert!((a.local_prediction - b.local_prediction).abs() < 1e-5);
    }
}

/// `work` on a pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(work)
}

#[test]
fn log_odds_maps_are_bit_identical_across_threads_and_batches() {
    let run = |threads: usize, batch: usize| {
        on_threads(threads, || {
            MultiScaleLime::preset(Preset::Paper)
                .segmenter(SquareGrid)
                .levels([9, 36])
                .samples_per_segment(3)
                .response(Response::LogOdds)
                .batch_size(BatchSize::Fixed(batch))
                .build()
                .unwrap()
                .explain(&image(), &model(probability), Target::Class(0))
                .unwrap()
        })
    };
    let reference = run(1, 1);
    for (threads, batch) in [(2, 7), (4, 64)] {
        let other = run(threads, batch);
        for (a, b) in reference.stacks()[0]
            .levels()
            .iter()
            .zip(other.stacks()[0].levels())
        {
            assert_eq!(a.coefficients, b.coefficients);
            assert_eq!(a.heatmap, b.heatmap);
        }
    }
}

/// Mean Pearson of the fused maps over pairs of seeds.
fn stability(response: Response, per_segment: usize) -> f64 {
    let maps: Vec<Heatmap> = (0..6)
        .map(|seed| {
            let e = lime(response, per_segment, seed)
                .explain(&image(), &model(probability), Target::Class(0))
                .unwrap();
            Trapezoid.combine(&e.stacks()[0]).unwrap().heatmap
        })
        .collect();
    let mut sum = 0.0;
    let mut pairs = 0;
    for a in 0..maps.len() {
        for b in a + 1..maps.len() {
            sum += pearson(&maps[a], &maps[b]).unwrap();
            pairs += 1;
        }
    }
    sum / f64::from(pairs)
}

#[test]
fn log_odds_of_a_logistic_model_are_more_stable_with_fewer_samples() {
    let log_odds = stability(Response::LogOdds, 3);
    let paper = stability(Response::Score, 10);
    let same = stability(Response::Score, 3);
    assert!(
        log_odds > paper,
        "log-odds at 3: {log_odds}, score at 10: {paper}"
    );
    assert!(paper > same, "score at 10: {paper}, at 3: {same}");
}

#[test]
fn a_score_outside_zero_one_is_named() {
    let logits = FnClassifier::new(2, |b| {
        Ok(Array2::from_shape_fn((b.dim().0, 2), |(_, c)| {
            if c == 0 {
                -0.25
            } else {
                0.5
            }
        }))
    });
    let err = lime(Response::LogOdds, 2, 0)
        .explain(&image(), &logits, Target::Class(0))
        .unwrap_err();
    match err {
        Error::ClassifierNotProbability { class, value, .. } => {
            assert_eq!((class, value), (0, -0.25));
        }
        other => panic!("{other}"),
    }
    // Class 1's scores are probabilities.
    assert!(lime(Response::LogOdds, 2, 0)
        .explain(&image(), &logits, Target::Class(1))
        .is_ok());
}

fn schedules() -> Vec<Schedule> {
    vec![
        Schedule::PerLevel,
        Schedule::SharedPasses,
        Schedule::Adaptive(Adaptive::stability(0.99).unwrap()),
        // Odd rounds: a design drawn in pairs must still fill them.
        Schedule::Adaptive(
            Adaptive::top_k(2)
                .unwrap()
                .with_start(3)
                .unwrap()
                .with_step(3)
                .unwrap(),
        ),
    ]
}

#[test]
fn every_schedule_and_design_takes_log_odds_bit_reproducibly() {
    for schedule in schedules() {
        for sampling in [
            Sampling::Independent,
            Sampling::Antithetic,
            Sampling::Orthogonal,
        ] {
            let run = |threads: usize, batch: usize| {
                on_threads(threads, || {
                    MultiScaleLime::builder()
                        .segmenter(SquareGrid)
                        .levels([9, 36])
                        .sampling(sampling)
                        .samples_per_segment(7)
                        .schedule(schedule)
                        .response(Response::LogOdds)
                        .batch_size(BatchSize::Fixed(batch))
                        .build()
                        .unwrap()
                        .explain(&image(), &model(probability), Target::Class(0))
                        .unwrap()
                })
            };
            let reference = run(1, 1);
            assert_eq!(reference.response(), Response::LogOdds);
            for level in reference.stacks()[0].levels() {
                // Within the budget of 7 per superpixel.
                assert!(level.calls <= 7 * level.actual, "{schedule} {sampling}");
                assert!(level.coefficients.iter().all(|b| b.is_finite()));
            }
            let other = run(3, 5);
            for (a, b) in reference.stacks()[0]
                .levels()
                .iter()
                .zip(other.stacks()[0].levels())
            {
                assert_eq!(a.coefficients, b.coefficients, "{schedule} {sampling}");
            }
            assert_eq!(reference.fused(), other.fused(), "{schedule} {sampling}");
        }
    }
}

#[test]
fn shared_passes_take_log_odds_as_the_logit() {
    let logit = |image: ArrayView3<'_, f32>| {
        let p = f64::from(probability(image));
        (p / (1.0 - p)).ln() as f32
    };
    let explain = |response, model: &Model| {
        MultiScaleLime::preset(Preset::Paper)
            .segmenter(SquareGrid)
            .levels([9, 36])
            .samples_per_segment(4)
            .schedule(Schedule::SharedPasses)
            .response(response)
            .seed(5)
            .build()
            .unwrap()
            .explain(&image(), model, Target::Class(0))
            .unwrap()
    };
    let a = explain(Response::LogOdds, &model(probability));
    let b = explain(Response::Score, &model(logit));
    for (x, y) in a.stacks()[0].levels().iter().zip(b.stacks()[0].levels()) {
        for (p, q) in x.coefficients.iter().zip(&y.coefficients) {
            assert!((p - q).abs() < 1e-5, "{p} {q}");
        }
    }
}

#[test]
fn auto_takes_log_odds_of_probabilities_and_the_score_of_logits() {
    let explain = |response, model: &Model| {
        MultiScaleLime::builder()
            .segmenter(SquareGrid)
            .levels([9, 36])
            .response(response)
            .build()
            .unwrap()
            .explain(&image(), model, Target::Class(0))
            .unwrap()
    };
    let auto = explain(Response::Auto, &model(probability));
    let log_odds = explain(Response::LogOdds, &model(probability));
    assert_eq!(auto.response(), Response::LogOdds);
    assert_eq!(auto.fused(), log_odds.fused());
    // A model returning logits (the evidence itself, far outside [0, 1]).
    let auto = explain(Response::Auto, &model(evidence));
    let score = explain(Response::Score, &model(evidence));
    assert_eq!(auto.response(), Response::Score);
    assert_eq!(auto.fused(), score.fused());
}

#[test]
fn log_odds_of_a_logits_model_fail_before_any_mask_is_scored() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let logits = FnClassifier::new(1, |b: ndarray::ArrayView4<'_, f32>| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Array2::from_elem((b.dim().0, 1), 2.5))
    });
    let err = lime(Response::LogOdds, 10, 0)
        .explain(&image(), &logits, Target::Class(0))
        .unwrap_err();
    assert!(
        matches!(err, Error::ClassifierNotProbability { sample: 0, value, .. } if value == 2.5),
        "{err}"
    );
    // The unperturbed image only.
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn auto_turns_to_the_score_when_a_perturbed_image_leaves_zero_one() {
    // In [0, 1] on the image itself, below 0 once most of it is hidden.
    let shifted = |image: ArrayView3<'_, f32>| {
        1.5 * image.index_axis(ndarray::Axis(2), 0).mean().unwrap_or(0.0) - 0.4
    };
    let explain = |response| {
        MultiScaleLime::builder()
            .segmenter(SquareGrid)
            .levels([9, 36])
            .response(response)
            .build()
            .unwrap()
            .explain(&image(), &model(shifted), Target::Class(0))
            .unwrap()
    };
    let original = shifted(image().view());
    assert!((0.0..=1.0).contains(&original), "{original}");
    let auto = explain(Response::Auto);
    assert_eq!(auto.response(), Response::Score);
    assert_eq!(auto.fused(), explain(Response::Score).fused());
}
