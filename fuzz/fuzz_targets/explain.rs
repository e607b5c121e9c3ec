//! Builder (both presets, every response and schedule), `explain`,
//! combiners and metrics on arbitrary images, settings and classifier
//! behaviour: every run ends in a valid result or a typed
//! error, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use multiscale_lime::metrics::{deletion_curve, explanation_accuracy};
use multiscale_lime::prelude::*;
use multiscale_lime::{
    Adaptive, BernoulliPerturber, CustomWeights, Gaussian, InverseTrapezoid, Normalization,
    Response, Sampling, Schedule, Uniform,
};
use ndarray::{Array2, Array3};

#[derive(Debug, Arbitrary)]
enum Output {
    Softmax,
    Constant(f32),
    NaN,
    Infinite,
    Negative,
    WrongRows,
    WrongColumns,
    Fails,
    FailsAfter(u8),
}

#[derive(Debug, Arbitrary)]
struct Case {
    height: u8,
    width: u8,
    pixels: Vec<u8>,
    levels: Vec<u16>,
    samples: Option<u8>,
    per_segment: u8,
    compactness: f64,
    kernel_width: f64,
    batch_size: u8,
    seed: u64,
    hide: u8,
    hide_value: f32,
    classes: u8,
    output: Output,
    target: u8,
    target_class: u8,
    normalization: u8,
    combiner: u8,
    gaussian: (f64, f64),
    custom: Vec<f64>,
    fraction: f64,
    steps: u8,
    // Appended, so the corpus from before keeps its meaning.
    keep: u8,
    sampling: u8,
    share: bool,
    preset: u8,
    response: u8,
    schedule: u8,
    rounds: (u8, u8, u8),
}

fuzz_target!(|case: Case| {
    // Small images keep an iteration fast; 0×N stays reachable.
    let (h, w) = (usize::from(case.height % 41), usize::from(case.width % 41));
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let p = &case.pixels;
        if p.is_empty() {
            0.5
        } else {
            f32::from(p[(y * w * 3 + x * 3 + c) % p.len()]) / 255.0
        }
    });
    let Ok(image) = Image::new(data) else { return };

    let classes = usize::from(case.classes % 5);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let output = &case.output;
    let classifier = FnClassifier::new(classes, |batch: ndarray::ArrayView4<'_, f32>| {
        let n = batch.dim().0;
        let call = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fill = |v: f32| Ok(Array2::from_elem((n, classes), v));
        match *output {
            Output::Softmax => Ok(Array2::from_shape_fn((n, classes), |(i, c)| {
                let red = batch[[i, 0, 0, 0]];
                if c == 0 {
                    red
                } else {
                    (1.0 - red) / (classes.max(2) - 1) as f32
                }
            })),
            Output::Constant(v) => fill(v),
            Output::NaN => fill(f32::NAN),
            Output::Infinite => fill(f32::INFINITY),
            Output::Negative => fill(-1.0),
            Output::WrongRows => Ok(Array2::zeros((n + 1, classes))),
            Output::WrongColumns => Ok(Array2::zeros((n, classes + 1))),
            Output::Fails => Err(ClassifierError::msg("the model is down")),
            Output::FailsAfter(k) if call >= usize::from(k % 4) => {
                Err(ClassifierError::msg("later failure"))
            }
            Output::FailsAfter(_) => fill(0.5),
        }
    });

    let hide = match case.hide % 4 {
        0 => HideColor::Constant([case.hide_value; 3]),
        1 => HideColor::SegmentMean,
        2 => HideColor::Blurred {
            sigma: case.hide_value,
        },
        _ => HideColor::default(),
    };
    let keep = [0.5, 0.3, 0.7][usize::from(case.keep % 3)];
    let Ok(perturber) = BernoulliPerturber::new(keep, hide) else {
        return;
    };
    // A design that needs keep ½ refuses the others: a typed error.
    let Ok(perturber) = perturber.with_sampling(Sampling::ALL[usize::from(case.sampling % 4)])
    else {
        assert!(keep != 0.5);
        return;
    };
    // Every schedule: the paper's, shared passes, and adaptive rounds of any
    // start and step (a bad one is a typed error from `Adaptive`).
    let (start, step, rule) = case.rounds;
    let schedule = match case.schedule % 4 {
        0 if case.share => Schedule::SharedPasses,
        0 => Schedule::PerLevel,
        1 => Schedule::SharedPasses,
        2 => match Adaptive::stability(f64::from(rule) / 256.0)
            .and_then(|a| a.with_start(usize::from(start % 5)))
            .and_then(|a| a.with_step(usize::from(step % 5)))
        {
            Ok(a) => Schedule::Adaptive(a),
            Err(_) => return,
        },
        _ => match Adaptive::top_k(usize::from(rule % 6))
            .and_then(|a| a.with_start(usize::from(start % 5)))
            .and_then(|a| a.with_step(usize::from(step % 5)))
        {
            Ok(a) => Schedule::Adaptive(a),
            Err(_) => return,
        },
    };
    let mut builder = MultiScaleLime::preset(Preset::ALL[usize::from(case.preset % 2)])
        .levels(case.levels.iter().take(4).map(|&l| usize::from(l)))
        .compactness(case.compactness)
        .kernel_width(case.kernel_width)
        .batch_size(match case.batch_size % 70 {
            69 => BatchSize::Auto,
            n => BatchSize::Fixed(usize::from(n)),
        })
        .seed(case.seed)
        .normalization(match case.normalization % 3 {
            0 => Normalization::MinMax,
            1 => Normalization::PositiveOnly,
            _ => Normalization::MaxAbs,
        })
        .perturber(perturber)
        .response(Response::ALL[usize::from(case.response % 3)])
        .schedule(schedule);
    builder = match case.samples {
        Some(n) => builder.samples(usize::from(n)),
        None => builder.samples_per_segment(usize::from(case.per_segment % 6)),
    };
    let Ok(lime) = builder.build() else { return };
    let target = match case.target % 3 {
        0 => Target::Predicted,
        1 => Target::Class(usize::from(case.target_class % 6)),
        _ => Target::TopLabels(usize::from(case.target_class % 6)),
    };
    let Ok(explanation) = lime.explain(&image, &classifier, target) else {
        return;
    };
    // The explainer's own fusion: one finite map per explained class, and
    // the response it settled on.
    assert_ne!(explanation.response(), Response::Auto);
    for stack in explanation.stacks() {
        let fused = explanation.fused_for(stack.class()).expect("every class fused");
        assert!(fused.heatmap.values().iter().all(|v| v.is_finite()));
    }

    for stack in explanation.stacks() {
        for level in stack.levels() {
            assert!(level.heatmap.values().iter().all(|v| v.is_finite()));
            assert_eq!(level.heatmap.dim(), (h, w));
            if let Some(errors) = &level.std_errors {
                assert!(errors.iter().all(|s| s.is_finite() && *s >= 0.0));
            }
            if let Ok(Some(intervals)) = level.intervals(0.9) {
                for (&b, (lo, hi)) in level.coefficients.iter().zip(intervals) {
                    assert!(lo <= b && b <= hi);
                }
            }
        }
    }
    let stack = &explanation.stacks()[0];
    let combined = match case.combiner % 5 {
        0 => Trapezoid.combine(stack),
        1 => InverseTrapezoid.combine(stack),
        2 => match Gaussian::new(case.gaussian.0, case.gaussian.1) {
            Ok(g) => g.combine(stack),
            Err(_) => return,
        },
        3 => Uniform.combine(stack),
        _ => match CustomWeights::new(case.custom.clone()) {
            Ok(c) => c.combine(stack),
            Err(_) => return,
        },
    };
    let Ok(combined) = combined else { return };
    assert!((combined.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(combined.heatmap.values().iter().all(|v| v.is_finite()));
    let class = explanation.predicted_class();
    let _ = explanation_accuracy(
        &image,
        &combined.heatmap,
        &classifier,
        class,
        case.fraction,
        hide,
    );
    let _ = deletion_curve(
        &image,
        &combined.heatmap,
        &classifier,
        class,
        usize::from(case.steps % 20),
        hide,
    );
});
