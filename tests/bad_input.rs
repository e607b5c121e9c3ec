//! Every error variant is reached from the public API, and bad input never
//! panics.

use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{
    BernoulliPerturber, CustomWeights, Gaussian, HideColor, Limits, Precomputed, Ridge,
    Segmentation, SquareGrid, Surrogate, Uniform,
};
use multiscale_lime_testkit::{rectangle_classifier, textured_image};
use ndarray::{array, Array1, Array2, Array3};

fn lime_grid(levels: &[usize]) -> MultiScaleLime<SquareGrid> {
    MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels(levels.to_vec())
        .samples(8)
        .build()
        .unwrap()
}

#[test]
fn invalid_parameters() {
    let cases: Vec<(&str, Result<_, Error>)> = vec![
        (
            "levels",
            MultiScaleLime::preset(Preset::Paper)
                .levels(Vec::<usize>::new())
                .build()
                .map(|_| ()),
        ),
        (
            "levels",
            MultiScaleLime::preset(Preset::Paper)
                .levels([10, 0])
                .build()
                .map(|_| ()),
        ),
        (
            "samples",
            MultiScaleLime::preset(Preset::Paper)
                .samples(1)
                .build()
                .map(|_| ()),
        ),
        (
            "samples",
            MultiScaleLime::preset(Preset::Paper)
                .samples_per_segment(0)
                .build()
                .map(|_| ()),
        ),
        (
            "kernel_width",
            MultiScaleLime::preset(Preset::Paper)
                .kernel_width(0.0)
                .build()
                .map(|_| ()),
        ),
        (
            "kernel_width",
            MultiScaleLime::preset(Preset::Paper)
                .kernel_width(f64::NAN)
                .build()
                .map(|_| ()),
        ),
        (
            "batch_size",
            MultiScaleLime::preset(Preset::Paper)
                .batch_size(0)
                .build()
                .map(|_| ()),
        ),
        (
            "compactness",
            MultiScaleLime::preset(Preset::Paper)
                .compactness(-5.0)
                .build()
                .map(|_| ()),
        ),
        (
            "keep_probability",
            BernoulliPerturber::new(1.5, HideColor::default()).map(|_| ()),
        ),
        ("alpha", Ridge::new(-1.0).map(|_| ())),
        ("std", Gaussian::new(0.0, -1.0).map(|_| ())),
        ("weights", CustomWeights::new(vec![f64::NAN]).map(|_| ())),
    ];
    for (name, result) in cases {
        match result {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: expected InvalidParameter, got {other:?}"),
        }
    }
    let msg = MultiScaleLime::preset(Preset::Paper)
        .kernel_width(-2.0)
        .build()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("kernel_width") && msg.contains("-2"), "{msg}");
}

#[test]
fn bad_images() {
    assert!(matches!(
        Image::new(Array3::zeros((0, 5, 3))),
        Err(Error::EmptyImage { .. })
    ));
    assert!(matches!(
        Image::new(Array3::zeros((5, 5, 1))),
        Err(Error::ImageShape { .. })
    ));
    assert!(matches!(
        Image::new(Array3::from_elem((2, 2, 3), 1.5)),
        Err(Error::PixelValue { .. })
    ));
    assert!(matches!(
        Image::new(Array3::from_elem((2, 2, 3), f32::INFINITY)),
        Err(Error::PixelValue { .. })
    ));
    let empty = image::RgbImage::new(0, 0);
    assert!(matches!(
        Image::try_from(&empty),
        Err(Error::EmptyImage { .. })
    ));
}

#[test]
fn too_many_or_zero_segments() {
    let image = textured_image(4, 4);
    let clf = rectangle_classifier(0, 2, 0, 2);
    let err = lime_grid(&[4, 17])
        .explain(&image, &clf, Target::Predicted)
        .unwrap_err();
    assert!(
        matches!(err, Error::SegmentCount { desired: 17, .. }),
        "{err}"
    );
    for desired in [0, 17] {
        assert!(matches!(
            Slic::default().segment(&image, desired),
            Err(Error::SegmentCount { .. })
        ));
        assert!(matches!(
            SquareGrid.segment(&image, desired),
            Err(Error::SegmentCount { .. })
        ));
    }
}

#[test]
fn invalid_segmentations() {
    assert!(matches!(
        Segmentation::new(array![[0, 2]]),
        Err(Error::InvalidSegmentation { .. })
    ));
    assert!(matches!(
        Segmentation::new(Array2::zeros((0, 3))),
        Err(Error::InvalidSegmentation { .. })
    ));
    let wrong_size = Precomputed::new(Segmentation::new(Array2::zeros((3, 3))).unwrap());
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(wrong_size)
        .levels([1])
        .build()
        .unwrap();
    let err = lime
        .explain(
            &textured_image(4, 4),
            &rectangle_classifier(0, 2, 0, 2),
            Target::Predicted,
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSegmentation { .. }), "{err}");
}

#[test]
fn misbehaving_classifiers() {
    let image = textured_image(8, 8);
    let lime = lime_grid(&[4]);

    let failing = FnClassifier::new(2, |_| Err(ClassifierError::msg("GPU fell off the bus")));
    let err = lime
        .explain(&image, &failing, Target::Predicted)
        .unwrap_err();
    assert!(matches!(err, Error::Classifier(_)));
    let source = std::error::Error::source(&err).map(|s| s.to_string());
    assert_eq!(source.as_deref(), Some("GPU fell off the bus"));

    let wrong_cols = FnClassifier::new(2, |b| Ok(Array2::zeros((b.dim().0, 3))));
    assert!(matches!(
        lime.explain(&image, &wrong_cols, Target::Predicted),
        Err(Error::ClassifierOutput {
            expected: (1, 2),
            got: (1, 3)
        })
    ));
    let wrong_rows = FnClassifier::new(2, |b| Ok(Array2::zeros((b.dim().0 + 1, 2))));
    assert!(matches!(
        lime.explain(&image, &wrong_rows, Target::Predicted),
        Err(Error::ClassifierOutput { .. })
    ));

    let nan = FnClassifier::new(2, |b| Ok(Array2::from_elem((b.dim().0, 2), f32::NAN)));
    assert!(matches!(
        lime.explain(&image, &nan, Target::Predicted),
        Err(Error::ClassifierNonFinite { .. })
    ));
    // NaN only in perturbed batches, not on the original image.
    let late_nan = FnClassifier::new(2, |b| {
        let v = if b.dim().0 > 1 { f32::INFINITY } else { 0.5 };
        Ok(Array2::from_elem((b.dim().0, 2), v))
    });
    assert!(matches!(
        lime.explain(&image, &late_nan, Target::Predicted),
        Err(Error::ClassifierNonFinite { .. })
    ));

    let no_classes = FnClassifier::new(0, |b| Ok(Array2::zeros((b.dim().0, 0))));
    assert!(matches!(
        lime.explain(&image, &no_classes, Target::Predicted),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn targets_outside_the_classes() {
    let image = textured_image(8, 8);
    let clf = rectangle_classifier(0, 4, 0, 4);
    let lime = lime_grid(&[4]);
    for target in [Target::Class(2), Target::TopLabels(0), Target::TopLabels(3)] {
        assert!(
            matches!(
                lime.explain(&image, &clf, target),
                Err(Error::Target { .. })
            ),
            "{target:?}"
        );
    }
}

#[test]
fn inconsistent_surrogate_and_combiner_input() {
    let r = Ridge::default();
    let z = Array2::<f32>::ones((4, 2));
    let err = r
        .fit(z.view(), Array1::zeros(3).view(), Array1::ones(4).view())
        .unwrap_err();
    assert!(matches!(err, Error::InconsistentInput { .. }));
    let custom = CustomWeights::new(vec![1.0, 2.0]).unwrap();
    assert!(matches!(
        custom.weights(&[3]),
        Err(Error::InconsistentInput { .. })
    ));
    assert!(matches!(
        Uniform.weights(&[]),
        Err(Error::InconsistentInput { .. })
    ));
}

/// A surrogate whose coefficients come back in a strided array, or with a
/// NaN: the first must paint like contiguous ones, the second is an error.
#[derive(Debug, Clone, Copy)]
struct Strided {
    nan: bool,
}

impl SurrogateFitter for Strided {
    fn fit(
        &self,
        z: ndarray::ArrayView2<'_, f32>,
        _y: ndarray::ArrayView1<'_, f64>,
        _weights: ndarray::ArrayView1<'_, f64>,
    ) -> Result<Surrogate, Error> {
        let k = z.ncols();
        // Every other entry of a 2k array: an owned, non-contiguous Array1.
        let mut doubled = Array1::from_shape_fn(2 * k, |j| (j / 2) as f64);
        if self.nan {
            doubled[0] = f64::NAN;
        }
        let coefficients = doubled.slice_move(ndarray::s![..;2]);
        assert!(coefficients.as_slice().is_none());
        Ok(Surrogate::new(coefficients, 0.0, 1.0))
    }
}

#[test]
fn strided_or_non_finite_surrogate_coefficients() {
    let image = textured_image(12, 12);
    let clf = rectangle_classifier(0, 6, 0, 6);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4])
        .samples(8)
        .surrogate(Strided { nan: false })
        .build()
        .unwrap();
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let level = &e.stacks()[0].levels()[0];
    assert_eq!(level.coefficients.to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    // MinMax of 0, 1, 2, 3 painted on the 2×2 grid.
    let map = level.heatmap.values();
    assert_eq!(
        [map[[0, 0]], map[[0, 11]], map[[11, 0]], map[[11, 11]]],
        [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]
    );
    let nan = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4])
        .samples(8)
        .surrogate(Strided { nan: true })
        .build()
        .unwrap();
    let err = nan.explain(&image, &clf, Target::Class(0)).unwrap_err();
    assert!(matches!(err, Error::InconsistentInput { .. }), "{err}");
    assert!(err.to_string().contains("NaN"), "{err}");
}

#[test]
fn limits_refuse_before_allocating() {
    let image = textured_image(40, 30);
    let clf = rectangle_classifier(0, 6, 0, 6);
    let explain = |builder: multiscale_lime::MultiScaleLimeBuilder<SquareGrid>| {
        builder.build()?.explain(&image, &clf, Target::Class(0))
    };
    let grid = || {
        MultiScaleLime::preset(Preset::Paper)
            .segmenter(SquareGrid)
            .levels([4, 16])
    };
    assert!(explain(grid()).is_ok());
    // 1200 pixels against a bound of 1000.
    let err = explain(grid().limits(Limits::default().max_pixels(1000))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                value: 1200,
                limit: 1000,
                setting: "max_pixels",
                ..
            }
        ),
        "{err}"
    );
    // 10¹¹ samples per segment would be 9·10¹² mask bytes at 9 segments: refused
    // at once, whatever the limit, instead of aborting on the allocation.
    let err = explain(grid().samples_per_segment(100_000_000_000)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                setting: "max_mask_entries",
                ..
            }
        ),
        "{err}"
    );
    // Segments: refused at build for a desired count, at explain for an actual one.
    assert!(matches!(
        grid().limits(Limits::default().max_segments(9)).build(),
        Err(Error::LimitExceeded {
            value: 16,
            limit: 9,
            ..
        })
    ));
    let seg = Segmentation::new(ndarray::Array2::from_shape_fn((40, 30), |(y, x)| {
        (y / 4 * 10 + x / 3) as u32
    }))
    .unwrap();
    let precomputed = MultiScaleLime::preset(Preset::Paper)
        .segmenter(Precomputed::new(seg))
        .levels([1])
        .limits(Limits::default().max_segments(50))
        .build()
        .unwrap();
    assert!(matches!(
        precomputed.explain(&image, &clf, Target::Class(0)),
        Err(Error::LimitExceeded {
            value: 100,
            limit: 50,
            ..
        })
    ));
    // A batch buffer of 64 images of 40×30 pixels is 921,600 bytes.
    let big_batches = grid().batch_size(64).samples(200);
    let err = explain(big_batches.limits(Limits::default().max_batch_bytes(900_000))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                value: 921_600,
                setting: "max_batch_bytes",
                ..
            }
        ),
        "{err}"
    );
    assert!(explain(grid().batch_size(64).samples(200)).is_ok());
    assert!(grid()
        .limits(Limits::default().max_pixels(0))
        .build()
        .is_err());
}

#[test]
fn singular_surrogate() {
    let r = Ridge::new(0.0).unwrap();
    let z = array![[1.0f32, 1.0], [1.0, 1.0], [0.0, 0.0]]; // identical columns
    let err = r
        .fit(
            z.view(),
            array![1.0, 1.0, 0.0].view(),
            Array1::ones(3).view(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Singular { features: 2, .. }), "{err}");
}

#[test]
fn degenerate_levels_still_explain() {
    // All levels equal: the combined map falls back to the uniform mean.
    let image = textured_image(12, 12);
    let clf = rectangle_classifier(0, 6, 0, 6);
    let e = lime_grid(&[9, 9, 9])
        .explain(&image, &clf, Target::Predicted)
        .unwrap();
    let c = Trapezoid.combine(&e.stacks()[0]).unwrap();
    assert!(c.uniform_fallback);
    // One-pixel image, one segment.
    let tiny = Image::new(Array3::from_elem((1, 1, 3), 0.5)).unwrap();
    let e = MultiScaleLime::preset(Preset::Paper)
        .levels([1])
        .samples(4)
        .build()
        .unwrap()
        .explain(&tiny, &clf_1x1(), Target::Predicted)
        .unwrap();
    assert_eq!(e.stacks()[0].levels()[0].actual, 1);
}

fn clf_1x1() -> impl Classifier {
    FnClassifier::new(1, |b| {
        Ok(Array2::from_shape_fn((b.dim().0, 1), |(i, _)| {
            b[[i, 0, 0, 0]]
        }))
    })
}
