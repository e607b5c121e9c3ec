//! End-to-end behaviour of `MultiScaleLime::explain`.

use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::Schedule;
use multiscale_lime::{Explanation, HideColor, InverseTrapezoid, Normalization, SquareGrid};
use multiscale_lime_testkit::{rectangle_classifier, textured_image};

fn explain_with(threads: usize, batch_size: impl Into<BatchSize>, seed: u64) -> Explanation {
    let image = textured_image(48, 48);
    let clf = rectangle_classifier(6, 20, 24, 42);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50])
        .batch_size(batch_size)
        .seed(seed)
        .build()
        .unwrap();
    multiscale_lime_testkit::explain_on_threads(&lime, &image, &clf, Target::TopLabels(2), threads)
}

#[test]
fn planted_rectangle_gets_most_of_the_relevance() {
    let (r0, r1, c0, c1) = (6, 20, 24, 42);
    let image = textured_image(48, 48);
    let clf = rectangle_classifier(r0, r1, c0, c1);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50, 100])
        .seed(3)
        .build()
        .unwrap();
    let explanation = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    for combiner in [&Trapezoid as &dyn Combiner, &InverseTrapezoid] {
        let combined = combiner.combine(&explanation.stacks()[0]).unwrap();
        let map = combined.heatmap.values();
        let total: f64 = map.iter().map(|&v| f64::from(v)).sum();
        let inside: f64 = map
            .slice(ndarray::s![r0..r1, c0..c1])
            .iter()
            .map(|&v| f64::from(v))
            .sum();
        let mass = inside / total;
        let uniform = ((r1 - r0) * (c1 - c0)) as f64 / (48.0 * 48.0);
        println!("relevance mass {mass:.3}, uniform share {uniform:.3}");
        assert!(
            mass > 2.5 * uniform,
            "relevance mass {mass:.3} vs uniform share {uniform:.3}"
        );
    }
    // The finest level is the most precise: its heatmap is highest inside.
    let finest = explanation.stacks()[0].levels().last().unwrap();
    let inside_mean = finest
        .heatmap
        .values()
        .slice(ndarray::s![r0..r1, c0..c1])
        .mean()
        .unwrap();
    let outside_mean = {
        let m = finest.heatmap.values();
        let total: f32 = m.sum();
        let inside: f32 = m.slice(ndarray::s![r0..r1, c0..c1]).sum();
        (total - inside) / (48.0 * 48.0 - ((r1 - r0) * (c1 - c0)) as f32)
    };
    assert!(
        inside_mean > 3.0 * outside_mean,
        "{inside_mean} vs {outside_mean}"
    );
}

#[test]
fn same_seed_is_bit_identical_across_threads_and_batch_sizes() {
    let reference = explain_with(1, 64, 11);
    let auto = BatchSize::Auto;
    for (threads, batch) in [
        (4, 64.into()),
        (1, 1.into()),
        (4, 1.into()),
        (2, 7.into()),
        (2, auto),
    ] {
        let other = explain_with(threads, batch, 11);
        assert_eq!(
            reference.stacks(),
            other.stacks(),
            "threads {threads}, batch {batch:?}"
        );
    }
    let different = explain_with(1, 64, 12);
    assert_ne!(
        reference.stacks()[0].levels()[0].coefficients,
        different.stacks()[0].levels()[0].coefficients
    );
}

#[test]
fn large_images_keep_every_guarantee_level_by_level() {
    // Above one megapixel the explainer holds one level at a time.
    let image = textured_image(1030, 1024);
    let clf = rectangle_classifier(0, 512, 0, 512);
    let run = |threads: usize, batch: usize| {
        let lime = MultiScaleLime::preset(Preset::Paper)
            .segmenter(SquareGrid)
            .levels([4, 16])
            .samples(9)
            .batch_size(batch)
            .seed(5)
            .build()
            .unwrap();
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| lime.explain(&image, &clf, Target::Class(0)).unwrap())
    };
    let reference = run(1, 4);
    assert_eq!(reference.stacks(), run(2, 3).stacks());
    let levels = reference.stacks()[0].levels();
    assert_eq!(
        levels
            .iter()
            .map(|l| (l.desired, l.samples))
            .collect::<Vec<_>>(),
        vec![(4, 9), (16, 9)]
    );
    assert_eq!(reference.segmentations().len(), 2);
    // The top-left quarter is what the classifier reads: at 4 segments it
    // is one segment, and the most relevant one.
    let coarse = &levels[0];
    let top_left = coarse.segmentation.labels()[[0, 0]] as usize;
    let best = (0..coarse.actual)
        .max_by(|&a, &b| coarse.coefficients[a].total_cmp(&coarse.coefficients[b]))
        .unwrap();
    assert_eq!(best, top_left);
}

#[test]
fn top_labels_share_forward_passes_and_order_by_score() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = AtomicUsize::new(0);
    let images = AtomicUsize::new(0);
    let inner = rectangle_classifier(0, 10, 0, 10);
    let counting = FnClassifier::new(2, |batch| {
        calls.fetch_add(1, Ordering::Relaxed);
        images.fetch_add(batch.dim().0, Ordering::Relaxed);
        inner.predict(batch)
    });
    let image = textured_image(24, 24);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 9])
        .samples(20)
        .batch_size(8)
        .build()
        .unwrap();
    let e = lime
        .explain(&image, &counting, Target::TopLabels(2))
        .unwrap();
    assert_eq!(e.stacks().len(), 2);
    // One pass for the original, then 20 samples per level in batches of 8.
    assert_eq!(images.load(Ordering::Relaxed), 1 + 2 * 20);
    assert_eq!(calls.load(Ordering::Relaxed), 1 + 2 * 3);
    let p = e.prediction();
    assert!(p[e.stacks()[0].class()] >= p[e.stacks()[1].class()]);
    assert_eq!(e.stacks()[0].class(), e.predicted_class());
    // Coefficients of the two complementary classes are opposite.
    for (a, b) in e.stacks()[0].levels().iter().zip(e.stacks()[1].levels()) {
        for (x, y) in a.coefficients.iter().zip(&b.coefficients) {
            assert!((x + y).abs() < 1e-5, "{x} vs {y}");
        }
        assert_eq!(a.actual, a.segmentation.count());
        assert_eq!(a.samples, 20);
    }
}

#[test]
fn levels_report_desired_and_actual_counts_and_valid_ranges() {
    let image = textured_image(40, 40);
    let clf = rectangle_classifier(0, 20, 0, 20);
    for normalization in [
        Normalization::MinMax,
        Normalization::PositiveOnly,
        Normalization::MaxAbs,
    ] {
        let lime = MultiScaleLime::preset(Preset::Paper)
            .levels([5, 20, 60])
            .normalization(normalization)
            .hide_color(HideColor::SegmentMean)
            .build()
            .unwrap();
        let e = lime.explain(&image, &clf, Target::Predicted).unwrap();
        let stack = &e.stacks()[0];
        assert_eq!(
            stack.levels().iter().map(|l| l.desired).collect::<Vec<_>>(),
            vec![5, 20, 60]
        );
        let lo = if normalization == Normalization::MaxAbs {
            -1.0
        } else {
            0.0
        };
        for level in stack.levels() {
            assert_eq!(level.samples, 10 * level.actual);
            assert!(level
                .heatmap
                .values()
                .iter()
                .all(|&v| (lo..=1.0).contains(&v)));
            assert!(level.r2 <= 1.0);
        }
        let combined = Trapezoid.combine(stack).unwrap();
        assert!((combined.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(combined
            .heatmap
            .values()
            .iter()
            .all(|&v| (lo..=1.0).contains(&v)));
    }
}

#[test]
fn shared_passes_fit_every_level_on_all_calls_reproducibly() {
    let image = textured_image(48, 48);
    let clf = rectangle_classifier(6, 20, 24, 42);
    let build = |share: bool, batch: usize| {
        MultiScaleLime::preset(Preset::Paper)
            .levels([10, 25, 50])
            .samples_per_segment(5)
            .schedule(if share {
                Schedule::SharedPasses
            } else {
                Schedule::PerLevel
            })
            .batch_size(batch)
            .seed(4)
            .build()
            .unwrap()
    };
    let shared = multiscale_lime_testkit::explain_on_threads(
        &build(true, 7),
        &image,
        &clf,
        Target::TopLabels(2),
        1,
    );
    let again = multiscale_lime_testkit::explain_on_threads(
        &build(true, 3),
        &image,
        &clf,
        Target::TopLabels(2),
        2,
    );
    assert_eq!(
        shared.stacks(),
        again.stacks(),
        "threads and batches change no bit"
    );
    let own = build(false, 7)
        .explain(&image, &clf, Target::TopLabels(2))
        .unwrap();
    let levels = shared.stacks()[0].levels();
    let calls: usize = levels.iter().map(|l| l.calls).sum();
    let own_calls: usize = own.stacks()[0].levels().iter().map(|l| l.samples).sum();
    // The same model calls, each fitted by every level.
    assert_eq!(calls, own_calls);
    for (l, level) in levels.iter().enumerate() {
        assert_eq!(level.calls, own.stacks()[0].levels()[l].samples);
        assert_eq!(level.samples, calls);
        assert!(level.std_errors.is_some());
    }
    // Both find the rectangle: their fused maps agree.
    let a = Trapezoid.combine(&shared.stacks()[0]).unwrap().heatmap;
    let b = Trapezoid.combine(&own.stacks()[0]).unwrap().heatmap;
    let r = multiscale_lime::metrics::pearson(&a, &b).unwrap();
    assert!(r > 0.8, "Pearson {r}");
}

#[test]
fn one_shared_level_is_the_unshared_level() {
    let image = textured_image(32, 32);
    let clf = rectangle_classifier(0, 16, 0, 16);
    let run = |share: bool| {
        MultiScaleLime::preset(Preset::Paper)
            .levels([25])
            .schedule(if share {
                Schedule::SharedPasses
            } else {
                Schedule::PerLevel
            })
            .seed(2)
            .build()
            .unwrap()
            .explain(&image, &clf, Target::Class(0))
            .unwrap()
    };
    assert_eq!(run(true).stacks(), run(false).stacks());
}
