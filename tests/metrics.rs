//! Metrics against hand-computed values on tiny images, and the causal
//! sanity check: a perfect heatmap deletes better than a random one.

use multiscale_lime::metrics::{
    accuracy_rate, deletion_curve, explanation_accuracy, insertion_curve, jaccard_at_k, pearson,
    pixel_auc, pointing_game, relevance_mass, stability,
};
use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{Error, Heatmap};
use multiscale_lime_testkit::{
    mean_red_classifier as mean_red, rectangle_classifier, textured_image,
};
use ndarray::{array, Array2, Array3};

#[test]
fn deletion_by_hand() {
    // Red values 0.8, 0.4, 0.2, 0.6; saliency order 1st: x=0, then x=3, x=1, x=2.
    let image = Image::new(Array3::from_shape_fn((1, 4, 3), |(_, x, c)| {
        if c == 0 {
            [0.8, 0.4, 0.2, 0.6][x]
        } else {
            0.0
        }
    }))
    .unwrap();
    let heat = Heatmap::new(array![[0.9, 0.3, 0.1, 0.5]]);
    let curve = deletion_curve(
        &image,
        &heat,
        &mean_red(),
        0,
        2,
        HideColor::Constant([0.0; 3]),
    )
    .unwrap();
    // t=0: all (2.0/4); t=1: delete x=0,3 → (0.4+0.2)/4; t=2: none left.
    let expected = [0.5, 0.15, 0.0];
    for (g, e) in curve.scores.iter().zip(expected) {
        assert!((g - e).abs() < 1e-6, "{g} vs {e}");
    }
    assert_eq!(curve.fractions, vec![0.0, 0.5, 1.0]);
    // Trapezoids: (0.5+0.15)/2·0.5 + (0.15+0)/2·0.5 = 0.2
    assert!((curve.auc - 0.2).abs() < 1e-6);
    assert!(matches!(
        deletion_curve(&image, &heat, &mean_red(), 0, 0, HideColor::default()),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn insertion_by_hand_on_a_flat_image() {
    // A flat image is its own blur: every step scores the same.
    let image = Image::new(Array3::from_elem((3, 3, 3), 0.25)).unwrap();
    let heat = Heatmap::new(Array2::from_shape_fn((3, 3), |(y, x)| (y * 3 + x) as f32));
    let curve = insertion_curve(&image, &heat, &mean_red(), 0, 3, 2.0).unwrap();
    assert!(curve.scores.iter().all(|s| (s - 0.25).abs() < 1e-6));
    assert!((curve.auc - 0.25).abs() < 1e-6);
    assert!(insertion_curve(&image, &heat, &mean_red(), 0, 3, 0.0).is_err());
}

#[test]
fn accuracy_by_hand() {
    // Two classes: red mean of the left half vs of the right half.
    let clf = FnClassifier::new(2, |b| {
        Ok(Array2::from_shape_fn((b.dim().0, 2), |(i, c)| {
            b[[i, 0, c, 0]]
        }))
    });
    let image = Image::new(Array3::from_shape_fn((1, 2, 3), |(_, x, _)| [0.7, 0.6][x])).unwrap();
    let pointing_left = Heatmap::new(array![[1.0, 0.0]]);
    let r = explanation_accuracy(
        &image,
        &pointing_left,
        &clf,
        0,
        0.5,
        HideColor::Constant([0.0; 3]),
    )
    .unwrap();
    assert_eq!(
        (
            r.original_score,
            r.masked_score,
            r.masked_prediction,
            r.label_holds
        ),
        (0.7, 0.7, 0, true)
    );
    let pointing_right = Heatmap::new(array![[0.0, 1.0]]);
    let r2 = explanation_accuracy(
        &image,
        &pointing_right,
        &clf,
        0,
        0.5,
        HideColor::Constant([0.0; 3]),
    )
    .unwrap();
    assert_eq!(
        (r2.masked_score, r2.masked_prediction, r2.label_holds),
        (0.0, 1, false)
    );
    assert_eq!(accuracy_rate(&[r, r2]), Some(0.5));
    assert!(
        explanation_accuracy(&image, &pointing_left, &clf, 0, 0.0, HideColor::default()).is_err()
    );
    assert!(matches!(
        explanation_accuracy(&image, &pointing_left, &clf, 2, 0.5, HideColor::default()),
        Err(Error::Target { .. })
    ));
    let wrong = Heatmap::new(array![[1.0, 0.0, 0.0]]);
    assert!(explanation_accuracy(&image, &wrong, &clf, 0, 0.5, HideColor::default()).is_err());
}

#[test]
fn pointing_and_mass_by_hand() {
    let heat = Heatmap::new(array![[0.0, 0.2, 0.0], [0.1, 0.0, 0.7]]);
    let mask = array![[true, true, false], [false, false, false]];
    assert!(!pointing_game(&heat, mask.view(), 1).unwrap()); // max at (1,2), nearest mask (0,1): √2
    assert!(pointing_game(&heat, mask.view(), 2).unwrap());
    assert!((relevance_mass(&heat, mask.view()).unwrap() - 0.2).abs() < 1e-6);
    let empty = Array2::from_elem((2, 3), false);
    assert!(relevance_mass(&heat, empty.view()).is_err());
    let nan = Heatmap::new(array![[f32::NAN, 0.0, 0.0], [0.0, 0.0, 0.0]]);
    assert!(pointing_game(&nan, mask.view(), 0).is_err());
}

#[test]
fn stability_by_hand() {
    let a = Heatmap::new(array![[1.0, 2.0], [3.0, 4.0]]);
    let b = Heatmap::new(array![[1.0, 3.0], [2.0, 4.0]]);
    // mean 2.5; deviations a: -1.5 -.5 .5 1.5; b: -1.5 .5 -.5 1.5 → cov 2.25-.25-.25+2.25 = 4; var 5
    assert!((pearson(&a, &b).unwrap() - 0.8).abs() < 1e-12);
    assert!(pearson(&a, &Heatmap::new(Array2::ones((2, 2)))).is_err());
    assert_eq!(
        jaccard_at_k(&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0], 1).unwrap(),
        0.0
    );
    assert_eq!(
        jaccard_at_k(&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0], 3).unwrap(),
        1.0
    );
    assert!(jaccard_at_k(&[1.0], &[1.0, 2.0], 1).is_err());
    assert!(jaccard_at_k(&[1.0, 2.0], &[1.0, 2.0], 0).is_err());
}

#[test]
fn perfect_heatmap_deletes_faster_than_a_random_one() {
    let (r0, r1, c0, c1) = (8, 24, 8, 24);
    let image = textured_image(32, 32);
    let clf = rectangle_classifier(r0, r1, c0, c1);
    let perfect = Heatmap::new(Array2::from_shape_fn((32, 32), |(y, x)| {
        f32::from(u8::from((r0..r1).contains(&y) && (c0..c1).contains(&x)))
    }));
    let perfect_auc = deletion_curve(&image, &perfect, &clf, 0, 16, HideColor::default())
        .unwrap()
        .auc;
    let mut random_aucs = Vec::new();
    for seed in 0..5u64 {
        let random = Heatmap::new(Array2::from_shape_fn((32, 32), |(y, x)| {
            let v = (seed * 1_000_003 + (y * 32 + x) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (v >> 40) as f32
        }));
        random_aucs.push(
            deletion_curve(&image, &random, &clf, 0, 16, HideColor::default())
                .unwrap()
                .auc,
        );
    }
    let random_mean = random_aucs.iter().sum::<f64>() / random_aucs.len() as f64;
    assert!(
        perfect_auc < 0.5 * random_mean,
        "perfect {perfect_auc} vs random {random_aucs:?}"
    );
    // And the multi-scale explanation lands between the two, nearer the perfect one.
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50])
        .seed(1)
        .build()
        .unwrap();
    let e = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let ours = deletion_curve(
        &image,
        &Trapezoid.combine(&e.stacks()[0]).unwrap().heatmap,
        &clf,
        0,
        16,
        HideColor::default(),
    )
    .unwrap()
    .auc;
    assert!(ours < random_mean, "ours {ours} vs random {random_mean}");
}

#[test]
fn stability_across_seeds_is_high_for_a_simple_model() {
    let image = textured_image(32, 32);
    let clf = rectangle_classifier(0, 16, 0, 16);
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 30])
        .build()
        .unwrap();
    let report = stability(
        &lime,
        &image,
        &clf,
        Target::Class(0),
        &[1, 2, 3],
        &Trapezoid,
        3,
    )
    .unwrap();
    assert_eq!(report.level_jaccard.len(), 2);
    assert!(report.combined_pearson > 0.9, "{report:?}");
    // Three seeds: three pairs, one combined map per seed; the mean is the
    // mean of the pairs, and the range brackets it.
    assert_eq!(report.pairwise_pearson.len(), 3);
    assert_eq!(report.combined.len(), 3);
    let mean = report.pairwise_pearson.iter().sum::<f64>() / 3.0;
    assert!((report.combined_pearson - mean).abs() < 1e-12);
    let (lo, hi) = report.pearson_range();
    assert!(lo <= report.combined_pearson && report.combined_pearson <= hi);
    let again = pearson(&report.combined[0], &report.combined[1]).unwrap();
    assert_eq!(again, report.pairwise_pearson[0]);
    assert!(report.pairwise_level_jaccard.iter().all(|p| p.len() == 3));
    // k = 3 fits both levels; k = 1000 is capped at each level's count.
    assert_eq!(report.level_top_k, vec![3, 3]);
    assert!(report.capped(3).is_empty());
    let capped = stability(
        &lime,
        &image,
        &clf,
        Target::Class(0),
        &[1, 2],
        &Trapezoid,
        1000,
    )
    .unwrap();
    let explanation = lime.explain(&image, &clf, Target::Class(0)).unwrap();
    let counts = explanation.stacks()[0].counts();
    assert_eq!(capped.level_top_k, counts);
    assert_eq!(capped.capped(1000), vec![0, 1]);
    assert!(capped.level_jaccard.iter().all(|&j| j == 1.0));
    assert!(report
        .level_jaccard
        .iter()
        .all(|&j| (0.0..=1.0).contains(&j)));
    assert!(stability(&lime, &image, &clf, Target::Class(0), &[1], &Trapezoid, 3).is_err());
}

/// Pixel AUC by its definition: over every (inside, outside) pair, 1 when
/// the inside pixel is higher, ½ on a tie.
fn naive_pixel_auc(values: &[f32], mask: &[bool]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (a, _) in values.iter().zip(mask).filter(|p| *p.1) {
        for (b, _) in values.iter().zip(mask).filter(|p| !*p.1) {
            pairs += 1.0;
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

proptest::proptest! {
    #[test]
    fn pixel_auc_counts_pairs(
        cells in proptest::collection::vec((0u8..6, proptest::bool::ANY), 2..60),
        scale in 0.1f32..10.0,
    ) {
        let values: Vec<f32> = cells.iter().map(|c| f32::from(c.0) * scale).collect();
        let mask: Vec<bool> = cells.iter().map(|c| c.1).collect();
        let n = values.len();
        let heat = Heatmap::new(Array2::from_shape_vec((1, n), values.clone()).unwrap());
        let truth = Array2::from_shape_vec((1, n), mask.clone()).unwrap();
        let inside = mask.iter().filter(|&&m| m).count();
        match pixel_auc(&heat, truth.view()) {
            Ok(auc) => {
                proptest::prop_assert!(inside > 0 && inside < n);
                proptest::prop_assert!((auc - naive_pixel_auc(&values, &mask)).abs() < 1e-12);
                // Flipping the map flips the ranking.
                let flipped = Heatmap::new(heat.values().mapv(|v| -v));
                let back = pixel_auc(&flipped, truth.view()).unwrap();
                proptest::prop_assert!((auc + back - 1.0).abs() < 1e-12);
            }
            Err(_) => proptest::prop_assert!(inside == 0 || inside == n),
        }
    }
}

#[test]
fn pixel_auc_by_hand_and_edge_cases() {
    let heat = Heatmap::new(array![[0.0, 1.0, 2.0, 3.0]]);
    assert_eq!(
        pixel_auc(&heat, array![[false, false, true, true]].view()).unwrap(),
        1.0
    );
    assert_eq!(
        pixel_auc(&heat, array![[true, true, false, false]].view()).unwrap(),
        0.0
    );
    // Inside {1, 3} against outside {0, 2}: 1>0, 3>0, 3>2 win, 1<2 loses.
    assert_eq!(
        pixel_auc(&heat, array![[false, true, false, true]].view()).unwrap(),
        0.75
    );
    let flat = Heatmap::new(Array2::from_elem((2, 2), 0.3));
    assert_eq!(
        pixel_auc(&flat, array![[true, false], [false, false]].view()).unwrap(),
        0.5
    );
    assert!(pixel_auc(&flat, Array2::from_elem((2, 2), true).view()).is_err());
    assert!(pixel_auc(&flat, Array2::from_elem((2, 2), false).view()).is_err());
    assert!(pixel_auc(&flat, Array2::from_elem((1, 4), true).view()).is_err());
}
