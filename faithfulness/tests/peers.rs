//! The peer explainers against what their papers imply on small synthetic
//! classifiers: KernelSHAP recovers linear models and exact Shapley values,
//! RISE's masks have the stated statistics, occlusion matches a naive
//! computation; each is bit-reproducible on any thread count, keeps its
//! budget and rejects bad parameters with an error.

use std::sync::Arc;

use multiscale_lime::ndarray::{Array2, Array3, ArrayView4, Axis};
use multiscale_lime::{ClassifierError, Error, FnClassifier, HideColor, Image, Segmentation};
use multiscale_lime_faithfulness::cases::{Case, Group};
use multiscale_lime_faithfulness::peers::{
    self, kernel_shap::shapley_kernel, KernelShap, Occlusion, OcclusionMemo, Rise,
};

/// An image from a function of `(y, x, channel)`.
fn image(h: usize, w: usize, f: impl Fn(usize, usize, usize) -> f32) -> Image {
    Image::new(Array3::from_shape_fn((h, w, 3), |(y, x, c)| f(y, x, c))).unwrap()
}

/// A two-class model whose class-1 score is `score(image)`.
fn model(
    score: impl Fn(ArrayView4<'_, f32>, usize) -> f32 + Sync,
) -> FnClassifier<impl Fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> + Sync> {
    FnClassifier::new(2, move |batch: ArrayView4<'_, f32>| {
        let mut out = Array2::zeros((batch.dim().0, 2));
        for i in 0..batch.dim().0 {
            out[[i, 1]] = score(batch, i);
        }
        Ok(out)
    })
}

/// A `side × side` label map of `cells × cells` square blocks.
fn blocks(side: usize, cells: usize) -> Segmentation {
    let cell = side / cells;
    Segmentation::new(Array2::from_shape_fn((side, side), |(y, x)| {
        ((y / cell) * cells + x / cell) as u32
    }))
    .unwrap()
}

/// Mean of channel 0 over segment `k` of image `i` of `batch` (exact for
/// the dyadic values below).
fn segment_red(batch: ArrayView4<'_, f32>, i: usize, seg: &Segmentation, k: u32) -> f32 {
    let mut sum = 0.0f32;
    let mut n = 0.0f32;
    for ((y, x), &l) in seg.labels().indexed_iter() {
        if l == k {
            sum += batch[[i, y, x, 0]];
            n += 1.0;
        }
    }
    sum / n
}

/// A 12 × 12 image of nine 4 × 4 segments, segment `k` red `(k + 1)/16`.
fn nine_segments() -> (Image, Segmentation) {
    let seg = blocks(12, 3);
    let labels = seg.labels().clone();
    let img = image(12, 12, |y, x, c| {
        if c == 0 {
            (labels[[y, x]] + 1) as f32 / 16.0
        } else {
            0.5
        }
    });
    (img, seg)
}

#[test]
fn kernel_shap_recovers_a_linear_models_coefficients() {
    let (img, seg) = nine_segments();
    let white = peers::baseline(&img, HideColor::Constant([1.0; 3]), &seg).unwrap();
    let coef = |k: u32| (k as f32 - 4.0) / 4.0;
    let s = seg.clone();
    let linear = model(move |b, i| {
        0.25 + (0..9u32)
            .map(|k| coef(k) * segment_red(b, i, &s, k))
            .sum::<f32>()
    });
    // All 2⁹ − 2 coalitions (enumerated) and a sampled budget.
    for (budget, enumerated_all) in [(600, true), (120, false)] {
        let shap = KernelShap::new(budget).unwrap();
        let coalitions = shap.coalitions(9, 3).unwrap();
        assert_eq!(
            coalitions.enumerated == coalitions.weights.len(),
            enumerated_all
        );
        let out = shap.explain(&img, &linear, 1, &seg, &white, 3).unwrap();
        if enumerated_all {
            assert_eq!(out.calls, 511);
        } else {
            assert!(
                out.calls <= budget && out.calls + 2 >= budget,
                "{}",
                out.calls
            );
        }
        for k in 0..9u32 {
            let want = f64::from(coef(k)) * ((k + 1) as f64 / 16.0 - 1.0);
            assert!(
                (out.phi[k as usize] - want).abs() < 1e-9,
                "budget {budget}: φ{k} = {}, want {want}",
                out.phi[k as usize]
            );
        }
        let painted = out.heatmap.values()[[11, 11]];
        assert_eq!(painted, out.phi[8] as f32);
    }
}

/// `v(S)`: the model's class-1 score with the segments outside `keep`
/// showing `base`.
fn coalition_value(
    clf: &impl multiscale_lime::Classifier,
    img: &Image,
    base: &Image,
    seg: &Segmentation,
    keep: &[bool],
) -> f64 {
    let mut px = img.clone().into_array();
    for ((y, x), &l) in seg.labels().indexed_iter() {
        if !keep[l as usize] {
            for c in 0..3 {
                px[[y, x, c]] = base.view()[[y, x, c]];
            }
        }
    }
    f64::from(clf.predict(px.insert_axis(Axis(0)).view()).unwrap()[[0, 1]])
}

#[test]
fn kernel_shap_gives_exact_shapley_values_when_it_enumerates_and_is_efficient() {
    let seg = blocks(12, 2);
    let img = image(12, 12, |y, x, c| ((y * 12 + x + c) % 7) as f32 / 8.0);
    let base = peers::baseline(&img, HideColor::SegmentMean, &blocks(12, 4)).unwrap();
    let s = seg.clone();
    let nonlinear = model(move |b, i| {
        let m: Vec<f32> = (0..4).map(|k| segment_red(b, i, &s, k)).collect();
        m[0] * m[1] + m[2].max(m[3]) + m[0] * m[0] * m[3]
    });
    let out = KernelShap::new(100)
        .unwrap()
        .explain(&img, &nonlinear, 1, &seg, &base, 1)
        .unwrap();
    assert_eq!(out.calls, 15);
    let m = 4;
    let fact = |n: usize| (1..=n).product::<usize>() as f64;
    for (i, &got) in out.phi.iter().enumerate() {
        let mut want = 0.0;
        for set in 0..1usize << m {
            if set & (1 << i) != 0 {
                continue;
            }
            let keep: Vec<bool> = (0..m).map(|j| set & (1 << j) != 0).collect();
            let mut with = keep.clone();
            with[i] = true;
            let size = keep.iter().filter(|&&k| k).count();
            let weight = fact(size) * fact(m - size - 1) / fact(m);
            want += weight
                * (coalition_value(&nonlinear, &img, &base, &seg, &with)
                    - coalition_value(&nonlinear, &img, &base, &seg, &keep));
        }
        assert!((got - want).abs() < 1e-9, "φ{i} = {got}, want {want}");
    }
    // Efficiency holds exactly when sampled, and when the system is
    // underdetermined (fewer coalitions than superpixels).
    let (img9, seg9) = nine_segments();
    let s9 = seg9.clone();
    let curved = model(move |b, i| {
        let m: Vec<f32> = (0..9).map(|k| segment_red(b, i, &s9, k)).collect();
        (m[0] * m[4] - m[8]).exp() + m[2].sqrt()
    });
    let black = peers::baseline(&img9, HideColor::Constant([0.0; 3]), &seg9).unwrap();
    for budget in [60, 5] {
        let out = KernelShap::new(budget)
            .unwrap()
            .explain(&img9, &curved, 1, &seg9, &black, 9)
            .unwrap();
        assert!(out.phi.iter().all(|p| p.is_finite()));
        let total: f64 = out.phi.iter().sum();
        assert!(
            (total - (out.full - out.base)).abs() < 1e-12,
            "budget {budget}: Σφ = {total}, f(x) − f(∅) = {}",
            out.full - out.base
        );
        assert_eq!(out.calls, budget);
        if budget == 5 {
            check_min_norm(&out.phi, &img9, &black, &seg9, &curved);
        }
    }
}

/// With fewer coalitions than superpixels the fit is `lstsq`'s: the
/// normal equations hold and `φ₁..φ_{M−1}` lie in the span of the design's
/// rows `z_{<M} − z_M` (the minimum-norm solution).
fn check_min_norm(
    phi: &[f64],
    img: &Image,
    base: &Image,
    seg: &Segmentation,
    clf: &impl multiscale_lime::Classifier,
) {
    let c = KernelShap::new(5).unwrap().coalitions(9, 9).unwrap();
    let f0 = coalition_value(clf, img, base, seg, &[false; 9]);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut normal = [0.0f64; 8];
    for (z, &w) in c.masks.rows().into_iter().zip(&c.weights) {
        let keep: Vec<bool> = z.iter().map(|&v| v == 1).collect();
        let fitted: f64 = (0..9).map(|k| f64::from(z[k]) * phi[k]).sum();
        let residual = coalition_value(clf, img, base, seg, &keep) - f0 - fitted;
        let x: Vec<f64> = (0..8).map(|j| f64::from(z[j]) - f64::from(z[8])).collect();
        for j in 0..8 {
            normal[j] += w * x[j] * residual;
        }
        rows.push(x);
    }
    assert!(normal.iter().all(|v| v.abs() < 1e-9), "{normal:?}");
    // Gram–Schmidt on the rows, then β less its projection must vanish.
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for mut r in rows {
        for b in &basis {
            let d: f64 = r.iter().zip(b).map(|(x, y)| x * y).sum();
            r.iter_mut().zip(b).for_each(|(x, y)| *x -= d * y);
        }
        let n = r.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-9 {
            basis.push(r.iter().map(|x| x / n).collect());
        }
    }
    let mut beta = phi[..8].to_vec();
    for b in &basis {
        let d: f64 = beta.iter().zip(b).map(|(x, y)| x * y).sum();
        beta.iter_mut().zip(b).for_each(|(x, y)| *x -= d * y);
    }
    assert!(beta.iter().all(|v| v.abs() < 1e-9), "{beta:?}");
}

#[test]
fn kernel_shap_weights_follow_the_shapley_kernel() {
    // Enumerated coalitions carry weights proportional to π(z).
    let c = KernelShap::new(1000).unwrap().coalitions(6, 0).unwrap();
    assert_eq!(c.weights.len(), 62);
    for (row, &w) in c.masks.rows().into_iter().zip(&c.weights) {
        let size = row.iter().filter(|&&v| v == 1).count();
        let ratio = w / shapley_kernel(6, size);
        let first = c.weights[0] / shapley_kernel(6, 1);
        assert!((ratio / first - 1.0).abs() < 1e-12);
    }
    assert!((c.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // Sampled coalitions come in complementary pairs.
    let c = KernelShap::new(200).unwrap().coalitions(40, 5).unwrap();
    assert_eq!(c.weights.len(), 199);
    assert!(c.enumerated < c.weights.len());
    let rows: Vec<Vec<u8>> = c.masks.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut i = c.enumerated;
    while i + 1 < rows.len() {
        let size = rows[i].iter().filter(|&&v| v == 1).count();
        assert!(size <= 20);
        if size < 20 {
            assert!(rows[i].iter().zip(&rows[i + 1]).all(|(a, b)| a + b == 1));
            i += 2;
        } else {
            i += 1;
        }
    }
}

#[test]
fn rise_masks_have_the_stated_statistics() {
    for p in [0.5, 0.25] {
        let rise = Rise::new(4000, 4, p).unwrap();
        let masks = rise.generate_masks(32, 32, 7).unwrap();
        assert_eq!(masks.dim(), (4000, 32, 32));
        assert!(masks.iter().all(|&m| (0.0..=1.0).contains(&m)));
        // Not binary: bilinear upsampling leaves values in between.
        assert!(masks.iter().any(|&m| m > 0.05 && m < 0.95));
        // E[m] = p at every pixel; the standard error is at most
        // 0.5/√4000 ≈ 0.008, so 0.04 is five of them.
        let mean = masks.mean_axis(Axis(0)).unwrap();
        let worst = mean
            .iter()
            .map(|&m| (f64::from(m) - p).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.04, "p = {p}: a pixel's mean is {worst} from p");
        // Smooth: adjacent pixels differ by at most one cell's slope,
        // s / ((s + 1)·⌈32/s⌉) = 4/40.
        let mut steepest = 0.0f32;
        for m in masks.outer_iter() {
            for y in 0..32 {
                for x in 0..31 {
                    steepest = steepest.max((m[[y, x + 1]] - m[[y, x]]).abs());
                    steepest = steepest.max((m[[x + 1, y]] - m[[x, y]]).abs());
                }
            }
        }
        assert!(steepest <= 0.1 + 1e-6 && steepest > 0.05, "{steepest}");
    }
    let rise = Rise::new(50, 8, 0.5).unwrap();
    let a = rise.generate_masks(48, 40, 1).unwrap();
    let b = rise.generate_masks(48, 40, 1).unwrap();
    let c = rise.generate_masks(48, 40, 2).unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a != c);
}

#[test]
fn rise_ranks_the_region_the_model_reads_highest() {
    let black = image(32, 32, |_, _, _| 0.0);
    let white = image(32, 32, |_, _, _| 1.0);
    let inside = |y: usize, x: usize| (4..12).contains(&y) && (20..28).contains(&x);
    let reader = model(move |b, i| {
        let mut total = 0.0;
        for y in 4..12 {
            for x in 20..28 {
                total += 1.0 - b[[i, y, x, 0]];
            }
        }
        total / 64.0
    });
    let map = Rise::new(1000, 8, 0.5)
        .unwrap()
        .explain(&black, &reader, 1, &white, 11)
        .unwrap();
    let values = map.values();
    let (mut best, mut at) = (f32::MIN, (0, 0));
    let (mut sum_in, mut n_in, mut sum_out, mut n_out) = (0.0, 0.0, 0.0, 0.0);
    for ((y, x), &v) in values.indexed_iter() {
        if v > best {
            (best, at) = (v, (y, x));
        }
        if inside(y, x) {
            (sum_in, n_in) = (sum_in + v, n_in + 1.0);
        } else {
            (sum_out, n_out) = (sum_out + v, n_out + 1.0);
        }
    }
    assert!(inside(at.0, at.1), "maximum at {at:?}");
    // Outside, E[S] = E[f] = p; inside, p + Cov(f, m)/p.
    assert!(sum_in / n_in > sum_out / n_out + 0.05);
    // Most of the 64 highest pixels (as many as the region has) are in it.
    let mut order: Vec<((usize, usize), f32)> =
        values.indexed_iter().map(|(i, &v)| (i, v)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top = order[..64]
        .iter()
        .filter(|((y, x), _)| inside(*y, *x))
        .count();
    assert!(top >= 48, "{top} of the top 64 in the region");
}

#[test]
fn occlusion_matches_a_naive_computation() {
    let window = |budget| Occlusion::new(3, budget).unwrap();
    // ⌊√16⌋ = 4 per side on 8 pixels: round(i·5/3) = 0, 2, 3, 5.
    assert_eq!(window(16).positions(8).unwrap(), [0, 2, 3, 5]);
    assert_eq!(window(17).positions(8).unwrap(), [0, 2, 3, 5]);
    // 3 per side: round(2.5) = 3 (halves up).
    assert_eq!(window(15).positions(8).unwrap(), [0, 3, 5]);
    // At most one position per pixel of travel.
    assert_eq!(window(1000).positions(8).unwrap(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(window(4).positions(3).unwrap(), [0]);

    let darkness = |y: usize, x: usize| ((y * 8 + x) % 5) as f32 / 8.0;
    let img = image(8, 8, |y, x, _| 1.0 - darkness(y, x));
    let white = image(8, 8, |_, _, _| 1.0);
    let region = |y: usize, x: usize| (2..5).contains(&y) && (3..6).contains(&x);
    let clf = model(move |b, i| {
        let mut total = 0.0;
        for y in 2..5 {
            for x in 3..6 {
                total += 1.0 - b[[i, y, x, 0]];
            }
        }
        total
    });
    let occ = window(16);
    let windows = occ.windows(8, 8).unwrap();
    assert_eq!(windows.len(), 16);
    let map = occ.explain(&img, &clf, 1, &white).unwrap();
    for y in 0..8 {
        for x in 0..8 {
            let mut drops = Vec::new();
            for &(y0, x0) in &windows {
                if (y0..y0 + 3).contains(&y) && (x0..x0 + 3).contains(&x) {
                    let mut drop = 0.0f64;
                    for wy in y0..y0 + 3 {
                        for wx in x0..x0 + 3 {
                            if region(wy, wx) {
                                drop += f64::from(darkness(wy, wx));
                            }
                        }
                    }
                    drops.push(drop);
                }
            }
            assert!(!drops.is_empty(), "({y}, {x}) is not covered");
            let want = drops.iter().sum::<f64>() / drops.len() as f64;
            let got = f64::from(map.values()[[y, x]]);
            assert!((got - want).abs() < 1e-6, "({y}, {x}): {got}, want {want}");
        }
    }
    // By hand: (3, 4) lies under windows y0 ∈ {2, 3}, x0 ∈ {2, 3}.
    assert!(map.values()[[3, 4]] > 0.0);
    assert_eq!(map.values()[[7, 0]], 0.0);
}

/// A 48 × 48 case with a nonlinear model reading a disc of darkness.
fn case(hide: HideColor) -> Case {
    let img = image(48, 48, |y, x, c| {
        let d = ((y as f32 - 20.0).powi(2) + (x as f32 - 28.0).powi(2)).sqrt();
        let base = if d < 9.0 { 0.3 } else { 0.85 };
        base + 0.1 * (((y * 7 + x * 3 + c) % 5) as f32 / 5.0)
    });
    let truth = Array2::from_shape_fn((48, 48), |(y, x)| {
        (y as f32 - 20.0).powi(2) + (x as f32 - 28.0).powi(2) < 81.0
    });
    let t = truth.clone();
    let clf = model(move |b, i| {
        let mut dark = 0.0f32;
        for ((y, x), &inside) in t.indexed_iter() {
            if inside {
                dark += 1.0 - b[[i, y, x, 1]];
            }
        }
        1.0 / (1.0 + (-(dark / 40.0 - 2.0)).exp())
    });
    Case {
        name: "synthetic".into(),
        group: Group::Planted,
        image: img,
        model: Arc::new(clf),
        class: 1,
        truth,
        hide,
    }
}

fn bits(map: &multiscale_lime::Heatmap) -> Vec<u32> {
    map.values().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn peers_are_bit_identical_on_any_thread_count_and_keep_their_budgets() {
    for hide in [
        HideColor::Constant([1.0; 3]),
        HideColor::SegmentMean,
        HideColor::Blurred { sigma: 3.0 },
    ] {
        let case = case(hide);
        let budget = 300;
        let first = peers::run(&case, 4, budget, "b300", &OcclusionMemo::default()).unwrap();
        let again = peers::run(&case, 4, budget, "b300", &OcclusionMemo::default()).unwrap();
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| peers::run(&case, 4, budget, "b300", &OcclusionMemo::default()))
            .unwrap();
        let other_seed = peers::run(&case, 5, budget, "b300", &OcclusionMemo::default()).unwrap();
        let names: Vec<&str> = first.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(names, ["rise b300", "kernelshap b300", "occlusion b300"]);
        for (((a, b), c), d) in first.iter().zip(&again).zip(&single).zip(&other_seed) {
            assert_eq!(bits(&a.heatmap), bits(&b.heatmap), "{} {hide}", a.method);
            assert_eq!(bits(&a.heatmap), bits(&c.heatmap), "{} {hide}", a.method);
            assert_eq!(a.calls, c.calls);
            assert!(a.calls <= budget, "{}: {}", a.method, a.calls);
            // Occlusion's ⌊√300⌋² = 289; the others spend the budget.
            assert!(a.calls + 11 >= budget, "{}: {}", a.method, a.calls);
            assert!(a.heatmap.values().iter().all(|v| v.is_finite()));
            assert_eq!(a.heatmap.dim(), (48, 48));
            let seeded = !a.method.starts_with("occlusion");
            assert_eq!(bits(&a.heatmap) != bits(&d.heatmap), seeded, "{}", a.method);
        }
    }
}

#[test]
fn baselines_show_what_the_hide_colour_fills() {
    let img = image(12, 12, |y, x, c| ((y + 2 * x + c) % 9) as f32 / 9.0);
    let seg = blocks(12, 2);
    let grey = peers::baseline(&img, HideColor::Constant([0.5, 0.25, 1.0]), &seg).unwrap();
    assert!(grey.as_slice().chunks(3).all(|p| p == [0.5, 0.25, 1.0]));
    let means = peers::baseline(&img, HideColor::SegmentMean, &seg).unwrap();
    let mut sum = 0.0f64;
    for y in 0..6 {
        for x in 0..6 {
            sum += f64::from(img.pixel(y, x)[1]);
        }
    }
    assert!((f64::from(means.pixel(2, 3)[1]) - sum / 36.0).abs() < 1e-6);
    assert_eq!(means.pixel(0, 0), means.pixel(5, 5));
    let blurred = peers::baseline(&img, HideColor::Blurred { sigma: 2.0 }, &seg).unwrap();
    assert_ne!(blurred, img);
    assert!(peers::baseline(&img, HideColor::Constant([2.0; 3]), &seg).is_err());
    assert!(peers::baseline(&img, HideColor::SegmentMean, &blocks(8, 2)).is_err());
}

fn is_invalid(result: Result<impl std::fmt::Debug, Error>, name: &str) {
    match result {
        Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
        other => panic!("expected an invalid `{name}`, got {other:?}"),
    }
}

#[test]
fn bad_parameters_are_errors_not_panics() {
    is_invalid(Rise::new(10, 8, 0.0), "p");
    is_invalid(Rise::new(10, 8, 1.0), "p");
    is_invalid(Rise::new(10, 8, f64::NAN), "p");
    is_invalid(Rise::new(10, 0, 0.5), "grid");
    is_invalid(Rise::new(0, 8, 0.5), "masks");
    is_invalid(KernelShap::new(1), "budget");
    is_invalid(KernelShap::new(0), "budget");
    is_invalid(Occlusion::new(0, 16), "window");
    is_invalid(Occlusion::new(3, 0), "budget");
    is_invalid(Occlusion::new(13, 100).unwrap().windows(12, 20), "window");
    is_invalid(Occlusion::new(3, 3).unwrap().windows(12, 12), "budget");

    let img = image(12, 12, |_, _, _| 0.5);
    let white = image(12, 12, |_, _, _| 1.0);
    let small = image(6, 12, |_, _, _| 1.0);
    let seg = blocks(12, 3);
    let clf = model(|b, i| b[[i, 0, 0, 0]]);
    let rise = Rise::new(10, 8, 0.5).unwrap();
    is_invalid(
        Rise::new(10, 13, 0.5)
            .unwrap()
            .explain(&img, &clf, 1, &white, 0),
        "grid",
    );
    is_invalid(
        Rise::new(10, 13, 0.5).unwrap().generate_masks(12, 12, 0),
        "grid",
    );
    assert!(matches!(
        rise.explain(&img, &clf, 2, &white, 0),
        Err(Error::Target { value: 2, .. })
    ));
    assert!(matches!(
        rise.explain(&img, &clf, 1, &small, 0),
        Err(Error::InconsistentInput { .. })
    ));
    let shap = KernelShap::new(20).unwrap();
    assert!(matches!(
        shap.explain(&img, &clf, 1, &blocks(6, 3), &white, 0),
        Err(Error::InvalidSegmentation { .. })
    ));
    let nan = model(|_, _| f32::NAN);
    assert!(matches!(
        shap.explain(&img, &nan, 1, &seg, &white, 0),
        Err(Error::ClassifierNonFinite { .. })
    ));
    let short = FnClassifier::new(2, |_b: ArrayView4<'_, f32>| Ok(Array2::zeros((1, 2))));
    assert!(matches!(
        Occlusion::new(3, 16)
            .unwrap()
            .explain(&img, &short, 1, &white),
        Err(Error::ClassifierOutput { .. })
    ));
    assert!(matches!(
        rise.explain(&img, &short, 1, &white, 0),
        Err(Error::ClassifierOutput { .. })
    ));
    let failing = FnClassifier::new(2, |_b: ArrayView4<'_, f32>| {
        Err(ClassifierError::msg("broken"))
    });
    assert!(matches!(
        Occlusion::new(3, 16)
            .unwrap()
            .explain(&img, &failing, 1, &white),
        Err(Error::Classifier(_))
    ));
    // A budget too small for one peer fails the run, without a panic.
    let memo = OcclusionMemo::default();
    assert!(peers::run(&case(HideColor::Constant([1.0; 3])), 0, 1, "x", &memo).is_err());
}
