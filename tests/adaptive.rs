//! Adaptive sampling: rounds of masks until a level is settled. Checked
//! against plain explanations with as many samples, across thread counts
//! and batch sizes, and the expected stability against seeds' real
//! agreement.

use multiscale_lime::metrics::pearson;
use multiscale_lime::Preset;
use multiscale_lime::{
    Adaptive, Error, FnClassifier, Image, LevelExplanation, MultiScaleLime, Ridge, Sampling,
    SquareGrid, Target,
};
use ndarray::{Array2, Array3, ArrayView3};

/// A smooth, non-linear score: a sigmoid of brightness-weighted evidence
/// with an interaction, so a linear surrogate has residuals and the
/// standard errors are not zero.
fn score(image: ArrayView3<'_, f32>) -> f32 {
    let (h, w, _) = image.dim();
    let mut evidence = 0.0;
    for y in 0..h {
        for x in 0..w {
            let weight = ((x + 2 * y) % 7) as f32 / 7.0 - 0.2;
            evidence += weight * image[[y, x, 0]];
        }
    }
    let corner = image[[0, 0, 1]] * image[[h - 1, w - 1, 1]];
    1.0 / (1.0 + (-(evidence / (h * w) as f32 * 8.0 + corner)).exp())
}

fn classifier() -> FnClassifier<
    impl Fn(ndarray::ArrayView4<'_, f32>) -> Result<Array2<f32>, multiscale_lime::ClassifierError>
        + Send
        + Sync,
> {
    FnClassifier::new(2, |batch| {
        let n = batch.dim().0;
        let mut out = Array2::zeros((n, 2));
        for i in 0..n {
            let s = score(batch.index_axis(ndarray::Axis(0), i));
            out[[i, 0]] = s;
            out[[i, 1]] = 1.0 - s * s;
        }
        Ok(out)
    })
}

fn image() -> Image {
    Image::new(Array3::from_shape_fn((24, 24, 3), |(y, x, c)| {
        ((y * 7 + x * 3 + c * 5) % 11) as f32 / 10.0
    }))
    .unwrap()
}

fn levels(e: &multiscale_lime::Explanation, stack: usize) -> &[LevelExplanation] {
    e.stacks()[stack].levels()
}

fn assert_same_level(a: &LevelExplanation, b: &LevelExplanation) {
    assert_eq!(a.samples, b.samples);
    assert_eq!(a.calls, b.calls);
    assert_eq!(a.coefficients, b.coefficients);
    assert_eq!(a.std_errors, b.std_errors);
    assert_eq!(a.intercept.to_bits(), b.intercept.to_bits());
    assert_eq!(a.heatmap, b.heatmap);
}

#[test]
fn a_rule_never_met_spends_the_budget_and_equals_the_plain_explanation() {
    let (img, clf) = (image(), classifier());
    let plain = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 9, 36])
        .samples_per_segment(10)
        .seed(5)
        .build()
        .unwrap();
    let expected = plain.explain(&img, &clf, Target::TopLabels(2)).unwrap();
    // Rounds of 3, 5, 7, 9 and 10 samples per segment.
    let rule = Adaptive::stability(1.0 - 1e-12)
        .unwrap()
        .with_start(3)
        .unwrap()
        .with_step(2)
        .unwrap();
    let adaptive = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 9, 36])
        .samples_per_segment(10)
        .seed(5)
        .schedule(rule)
        .build()
        .unwrap();
    let got = adaptive.explain(&img, &clf, Target::TopLabels(2)).unwrap();
    for stack in 0..2 {
        for (a, b) in levels(&got, stack).iter().zip(levels(&expected, stack)) {
            assert_eq!(a.calls, 10 * a.actual);
            assert_same_level(a, b);
        }
    }
}

#[test]
fn a_level_stopped_early_equals_a_plain_explanation_with_its_samples() {
    let (img, clf) = (image(), classifier());
    let builder = || {
        MultiScaleLime::preset(Preset::Paper)
            .segmenter(SquareGrid)
            .levels([4, 16, 36])
            .samples_per_segment(20)
            .seed(11)
    };
    let adaptive = builder()
        .schedule(Adaptive::stability(0.9).unwrap())
        .build()
        .unwrap();
    let got = adaptive.explain(&img, &clf, Target::Class(0)).unwrap();
    let got = levels(&got, 0);
    assert!(
        got.iter().any(|l| l.calls < 20 * l.actual),
        "no level stopped early: {:?}",
        got.iter().map(|l| l.calls).collect::<Vec<_>>()
    );
    for (l, level) in got.iter().enumerate() {
        // Its rows are rounds of s' after a first round of 2·s'.
        assert_eq!(level.calls % level.actual, 0);
        assert!(level.calls >= 2 * level.actual && level.calls <= 20 * level.actual);
        if level.calls < 20 * level.actual {
            assert!(level.expected_stability().unwrap() >= 0.9);
            // One round fewer would not have been settled.
            let before = builder()
                .samples(level.calls - level.actual)
                .build()
                .unwrap()
                .explain(&img, &clf, Target::Class(0))
                .unwrap();
            if level.calls > 2 * level.actual {
                assert!(levels(&before, 0)[l].expected_stability().unwrap() < 0.9);
            }
        }
        let plain = builder()
            .samples(level.calls)
            .build()
            .unwrap()
            .explain(&img, &clf, Target::Class(0))
            .unwrap();
        assert_same_level(level, &levels(&plain, 0)[l]);
    }
}

#[test]
fn threads_and_batch_sizes_change_no_bit() {
    let (img, clf) = (image(), classifier());
    for sampling in [
        Sampling::Independent,
        Sampling::Orthogonal,
        Sampling::Balanced,
    ] {
        let explain = |threads: usize, batch: usize| {
            let lime = MultiScaleLime::preset(Preset::Paper)
                .segmenter(SquareGrid)
                .levels([4, 16, 36])
                .sampling(sampling)
                .batch_size(batch)
                .schedule(Adaptive::top_k(3).unwrap())
                .build()
                .unwrap();
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| lime.explain(&img, &clf, Target::TopLabels(2)).unwrap())
        };
        let reference = explain(1, 1);
        for (threads, batch) in [(2, 7), (3, 64), (1, 1000)] {
            let other = explain(threads, batch);
            for stack in 0..2 {
                for (a, b) in levels(&other, stack).iter().zip(levels(&reference, stack)) {
                    assert_same_level(a, b);
                }
            }
        }
    }
}

#[test]
fn top_k_stops_once_the_top_segments_are_separated() {
    // The score is the top-left quadrant's brightness, nearly all of it.
    let img = image();
    let clf = FnClassifier::new(1, |batch| {
        let n = batch.dim().0;
        Ok(Array2::from_shape_fn((n, 1), |(i, _)| {
            let quadrant = batch
                .index_axis(ndarray::Axis(0), i)
                .slice(ndarray::s![..12, ..12, ..])
                .mean()
                .unwrap_or(0.0);
            let elsewhere = batch[[i, 20, 20, 0]];
            quadrant + 0.01 * elsewhere * quadrant
        }))
    });
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4])
        .schedule(Adaptive::top_k(1).unwrap())
        .build()
        .unwrap();
    let e = lime.explain(&img, &clf, Target::Class(0)).unwrap();
    let level = &levels(&e, 0)[0];
    // Settled within the first rounds of 2·4 and 4 more, not the budget of 40.
    assert!(level.calls <= 12, "{} calls", level.calls);
    let top = level
        .coefficients
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(top, 0);
}

#[test]
fn expected_stability_predicts_the_agreement_of_seeds() {
    // Over 8 seeds, the mean Pearson of a level's heatmaps between pairs
    // of seeds against the mean of their expected stability.
    let (img, clf) = (image(), classifier());
    for (level, samples) in [(16, 4), (36, 3), (36, 8)] {
        let maps: Vec<(multiscale_lime::Heatmap, f64)> = (0..8)
            .map(|seed| {
                let lime = MultiScaleLime::preset(Preset::Paper)
                    .segmenter(SquareGrid)
                    .levels([level])
                    .samples_per_segment(samples)
                    .seed(seed)
                    .build()
                    .unwrap();
                let e = lime.explain(&img, &clf, Target::Class(0)).unwrap();
                let l = &levels(&e, 0)[0];
                (l.heatmap.clone(), l.expected_stability().unwrap())
            })
            .collect();
        let mut observed = Vec::new();
        for a in 0..maps.len() {
            for b in a + 1..maps.len() {
                observed.push(pearson(&maps[a].0, &maps[b].0).unwrap());
            }
        }
        let observed = observed.iter().sum::<f64>() / observed.len() as f64;
        let predicted = maps.iter().map(|m| m.1).sum::<f64>() / maps.len() as f64;
        assert!(
            (observed - predicted).abs() < 0.08,
            "level {level}, m = {samples}: observed {observed:.3}, predicted {predicted:.3}"
        );
    }
}

#[test]
fn adaptive_needs_standard_errors_before_any_call() {
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4])
        .surrogate(Ridge::default().std_errors(false))
        .schedule(Adaptive::stability(0.9).unwrap())
        .build();
    match lime {
        Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "schedule"),
        other => panic!("{other:?}"),
    }
}
