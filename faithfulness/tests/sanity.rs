//! The sanity checks' machinery: the cascade of randomised models, the
//! similarity metrics against SciPy and scikit-image, the constant model.
//! No benchmark figure is asserted.

use std::sync::Arc;

use multiscale_lime::ndarray::{array, Array2, Array4, Axis};
use multiscale_lime::onnx::OrtClassifier;
use multiscale_lime::{Classifier, Heatmap, Image, MultiScaleLime, Preset, SquareGrid, Target};
use multiscale_lime_faithfulness::cases::{cnn_cases, read_png, Case, Model, PATCH};
use multiscale_lime_faithfulness::methods::Output;
use multiscale_lime_faithfulness::sanity::{
    self, cascade, cascading_models, cascading_onnx, constant, layers, lime_constant, spearman,
    spearman_abs, ssim, summary, ConstantModel, ConstantRow, SanityError,
};
use multiscale_lime_testkit::{onnxruntime_library, repo_root};
use prost::Message;
use tract_onnx::pb::ModelProto;

fn onnx_bytes() -> Vec<u8> {
    std::fs::read(repo_root().join("assets/models/ihc_dab_cnn.onnx")).unwrap()
}

fn load(bytes: &[u8]) -> multiscale_lime::Result<Model> {
    let model = OrtClassifier::builder(PATCH, PATCH)
        .library(onnxruntime_library())
        .load_bytes(bytes)?;
    Ok(Arc::new(model))
}

/// The bundled patch and three held-out crops of `ihc.png`, as one batch.
fn patches() -> Array4<f32> {
    let patch = read_png(&repo_root().join("assets/ihc_patch96.png")).unwrap();
    let ihc = read_png(&repo_root().join("assets/ihc.png")).unwrap();
    let mut views = vec![patch.view().to_owned()];
    for case in cnn_cases(&ihc, load(&onnx_bytes()).unwrap()).iter().take(3) {
        views.push(case.image.view().to_owned());
    }
    let views: Vec<_> = views.iter().map(|v| v.view()).collect();
    multiscale_lime::ndarray::stack(Axis(0), &views).unwrap()
}

fn largest_gap(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn the_cascade_randomises_the_cnn_from_the_top() {
    let bytes = onnx_bytes();
    let names: Vec<String> = layers(&bytes)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["conv1", "conv2", "conv3", "conv4", "head"]);
    let models = cascading_models(&bytes, 0, load).unwrap();
    let names: Vec<&str> = models.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "trained",
            "head",
            "head+conv4",
            "head+conv4+conv3",
            "head+conv4+conv3+conv2",
            "head+conv4+conv3+conv2+conv1"
        ]
    );
    let batch = patches();
    let original = load(&bytes).unwrap().predict(batch.view()).unwrap();
    let outputs: Vec<Array2<f32>> = models
        .iter()
        .map(|(_, m)| m.predict(batch.view()).unwrap())
        .collect();
    // The re-encoded trained model is the original model.
    assert!(largest_gap(&outputs[0], &original) <= 1e-6);
    for ((name, _), out) in models.iter().zip(&outputs).skip(1) {
        let gap = largest_gap(out, &original);
        eprintln!("{name}: largest change of a probability {gap:.4}");
        assert!(gap > 1e-3, "{name} changed the outputs by {gap} only");
    }
    // Each depth changes the outputs again.
    for pair in outputs.windows(2).skip(1) {
        assert!(largest_gap(&pair[0], &pair[1]) > 1e-4);
    }
}

/// Initializer values by name.
fn initializers(bytes: &[u8]) -> Vec<(String, Vec<f32>)> {
    let model = ModelProto::decode(bytes).unwrap();
    model
        .graph
        .unwrap()
        .initializer
        .into_iter()
        .map(|t| {
            let values = if t.raw_data.is_empty() {
                t.float_data
            } else {
                t.raw_data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            };
            (t.name, values)
        })
        .collect()
}

fn sd(values: &[f32]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    (values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

#[test]
fn the_cascade_is_deterministic_and_edits_only_the_randomised_layers() {
    let bytes = onnx_bytes();
    let a = cascading_onnx(&bytes, 7).unwrap();
    assert_eq!(a, cascading_onnx(&bytes, 7).unwrap());
    let b = cascading_onnx(&bytes, 8).unwrap();
    assert_eq!(a[0], b[0]);
    for (x, y) in a.iter().zip(&b).skip(1) {
        assert_ne!(x.1, y.1, "{}: seeds 7 and 8 gave the same bytes", x.0);
    }
    let layers = layers(&bytes).unwrap();
    let trained = initializers(&a[0].1);
    for (depth, (name, model)) in a.iter().enumerate().skip(1) {
        let randomised: Vec<&String> = layers
            .iter()
            .rev()
            .take(depth)
            .flat_map(|l| &l.tensors)
            .collect();
        for ((tensor, before), (_, after)) in trained.iter().zip(initializers(model)) {
            if !randomised.contains(&tensor) {
                assert_eq!(before, &after, "{name} changed {tensor}");
                continue;
            }
            assert_eq!(before.len(), after.len());
            assert!(
                before.iter().zip(&after).all(|(p, q)| p != q),
                "{name}: {tensor}"
            );
            if before.len() >= 64 {
                let ratio = sd(&after) / sd(before);
                assert!(
                    (0.8..1.25).contains(&ratio),
                    "{name}: {tensor} sd ratio {ratio}"
                );
            }
        }
    }
    assert!(matches!(
        cascading_onnx(b"not protobuf", 0),
        Err(SanityError::Onnx(_))
    ));
    let empty = ModelProto::default().encode_to_vec();
    assert!(matches!(
        cascading_onnx(&empty, 0),
        Err(SanityError::Onnx(_))
    ));
}

fn map(values: Array2<f32>) -> Heatmap {
    Heatmap::new(values)
}

#[test]
fn similarity_matches_scipy_and_scikit_image() {
    let text =
        std::fs::read_to_string(repo_root().join("faithfulness/tests/data/sanity_similarity.json"))
            .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    let read = |v: &serde_json::Value| {
        let rows: Vec<Vec<f32>> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect();
        let (h, w) = (rows.len(), rows[0].len());
        map(Array2::from_shape_vec((h, w), rows.concat()).unwrap())
    };
    for case in cases {
        let (a, b) = (read(&case["a"]), read(&case["b"]));
        let name = case["name"].as_str().unwrap();
        for (metric, got) in [
            ("spearman", spearman(&a, &b).unwrap()),
            ("spearman_abs", spearman_abs(&a, &b).unwrap()),
            ("ssim", ssim(&a, &b).unwrap()),
        ] {
            let want = case[metric].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "{name} {metric}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn similarity_of_hand_computed_maps() {
    let a = map(Array2::from_shape_fn((8, 9), |(y, x)| {
        (y * 9 + x) as f32 * 0.5 - 3.0
    }));
    let reversed = map(a.values().mapv(|v| -v));
    assert!((spearman(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    assert!((spearman(&a, &reversed).unwrap() + 1.0).abs() < 1e-12);
    assert!((ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    // Scaling and shifting changes nothing after min-max scaling.
    let scaled = map(a.values().mapv(|v| 4.0 * v + 10.0));
    assert!((ssim(&a, &scaled).unwrap() - 1.0).abs() < 1e-9);
    // Ties share their mean rank: [1, 1, 2] ranks as [1.5, 1.5, 3].
    let ties = map(array![[1.0, 1.0, 2.0]]);
    let line = map(array![[1.0, 2.0, 3.0]]);
    // Pearson of [1.5, 1.5, 3] and [1, 2, 3]: 1.5 / sqrt(1.5 · 2).
    let want = 1.5 / (1.5f64 * 2.0).sqrt();
    assert!((spearman(&ties, &line).unwrap() - want).abs() < 1e-12);
    // |[-2, 1, 3]| = [2, 1, 3] against [1, 2, 3]: ranks [2, 1, 3] → 0.5.
    let signed = map(array![[-2.0, 1.0, 3.0]]);
    assert!((spearman(&signed, &line).unwrap() - 1.0).abs() < 1e-12);
    assert!((spearman_abs(&signed, &line).unwrap() - 0.5).abs() < 1e-12);
    // A constant map ranks nothing; bad input is an error, not a panic.
    assert!(spearman(&map(Array2::zeros((2, 2))), &map(Array2::eye(2)))
        .unwrap()
        .is_nan());
    assert!(matches!(spearman(&a, &line), Err(SanityError::Input(_))));
    assert!(matches!(ssim(&line, &line), Err(SanityError::Input(_))));
    let nan = map(Array2::from_elem((8, 9), f32::NAN));
    assert!(matches!(ssim(&a, &nan), Err(SanityError::Input(_))));
}

/// Two cheap methods: the paper's setting on a 4- and 16-square grid,
/// fused, and its 16-square level alone.
fn cheap(case: &Case, seed: u64) -> multiscale_lime::Result<Vec<Output>> {
    let lime = MultiScaleLime::preset(Preset::Paper)
        .segmenter(SquareGrid)
        .levels([4, 16])
        .hide_color(case.hide)
        .seed(seed)
        .build()?;
    let e = lime.explain(&case.image, &*case.model, Target::Class(case.class))?;
    let levels = e.stacks()[0].levels();
    let calls = levels.iter().map(|l| l.calls).sum();
    Ok(vec![
        Output {
            method: "grid".into(),
            calls,
            heatmap: e.fused().heatmap.clone(),
        },
        Output {
            method: "grid s=16".into(),
            calls: levels[1].calls,
            heatmap: levels[1].heatmap.clone(),
        },
    ])
}

/// [`cheap`] and the library's default explainer (as the benchmark's
/// `default` method: its fused map).
fn cheap_and_default(case: &Case, seed: u64) -> multiscale_lime::Result<Vec<Output>> {
    let lime = MultiScaleLime::builder()
        .hide_color(case.hide)
        .seed(seed)
        .build()?;
    let e = lime.explain(&case.image, &*case.model, Target::Class(case.class))?;
    let mut out = cheap(case, seed)?;
    out.push(Output {
        method: "default".into(),
        calls: e.stacks()[0].levels().iter().map(|l| l.calls).sum(),
        heatmap: e.fused().heatmap.clone(),
    });
    Ok(out)
}

fn cnn_case() -> Case {
    let ihc = read_png(&repo_root().join("assets/ihc.png")).unwrap();
    cnn_cases(&ihc, load(&onnx_bytes()).unwrap()).swap_remove(0)
}

#[test]
fn the_cascade_compares_each_depth_with_the_trained_map() {
    let case = cnn_case();
    let models = cascading_models(&onnx_bytes(), 0, load).unwrap();
    let rows = cascade(&case, &models, 0, &cheap_and_default).unwrap();
    assert_eq!(rows.len(), 3 * (models.len() - 1));
    for r in &rows {
        assert_eq!(r.randomised, models[r.depth].0);
        for v in [r.spearman, r.spearman_abs, r.ssim] {
            assert!((-1.0..=1.0).contains(&v), "{r:?}");
        }
    }
    // The trained model in every place: the maps are the trained maps.
    let same: Vec<(String, Model)> = models
        .iter()
        .map(|(n, _)| (n.clone(), Arc::clone(&models[0].1)))
        .take(3)
        .collect();
    for r in cascade(&case, &same, 0, &cheap).unwrap() {
        assert!(r.spearman == 1.0 && r.spearman_abs == 1.0, "{r:?}");
        assert!((r.ssim - 1.0).abs() < 1e-12, "{r:?}");
    }
    assert!(matches!(
        cascade(&case, &[], 0, &cheap),
        Err(SanityError::Input(_))
    ));
    let summaries = summary::summarise_cascade(&rows);
    assert_eq!(summaries.len(), 3);
    assert_eq!(summaries[0].depths.len(), models.len() - 1);
    let table = summary::cascade_table(&summaries);
    eprint!("{}: seed 0\n{table}", case.name);
    assert_eq!(table.lines().count(), 2 + rows.len());
    let json = summary::cascade_json(&rows, &summaries);
    assert_eq!(json["rows"].as_array().unwrap().len(), rows.len());
}

#[test]
fn the_cascade_pass_rule() {
    let depth = |d: usize, spearman: f64| summary::DepthSummary {
        depth: d,
        randomised: format!("d{d}"),
        cases: 1,
        spearman,
        spearman_abs: spearman,
        ssim: spearman,
    };
    assert!(summary::cascade_passes(&[depth(1, 0.9), depth(2, 0.2)]));
    assert!(!summary::cascade_passes(&[depth(1, 0.9), depth(2, 0.6)]));
    assert!(!summary::cascade_passes(&[depth(1, 0.1), depth(2, 0.2)]));
    assert!(summary::cascade_passes(&[depth(1, 0.3)]));
    assert!(!summary::cascade_passes(&[]));
}

#[test]
fn the_constant_model_returns_its_scores_for_every_image() {
    let model = ConstantModel::new(vec![0.25, 0.75]).unwrap();
    let out = model
        .predict(Array4::from_elem((3, 5, 5, 3), 0.5).view())
        .unwrap();
    assert_eq!(out, array![[0.25, 0.75], [0.25, 0.75], [0.25, 0.75]]);
    assert_eq!(model.scale(), 0.75);
    assert!(ConstantModel::new(vec![]).is_err());
    assert!(ConstantModel::new(vec![f32::INFINITY]).is_err());
    let image = Image::new(multiscale_lime::ndarray::Array3::from_elem((4, 4, 3), 0.5)).unwrap();
    let matched = ConstantModel::matching(&model, &image).unwrap();
    assert_eq!(matched, model);
}

#[test]
fn the_constant_model_check_on_a_cnn_case() {
    let case = cnn_case();
    let rows = constant(&case, 0, &cheap_and_default).unwrap();
    assert_eq!(rows.len(), 3);
    let probabilities = case
        .model
        .predict(case.image.view().insert_axis(Axis(0)))
        .unwrap();
    for r in &rows {
        eprintln!("{r:?} passed {}", r.passed());
        assert_eq!(
            r.scale,
            f64::from(probabilities.iter().fold(0.0f32, |m, &p| m.max(p)))
        );
        assert_eq!(
            r.passed(),
            r.max_abs <= sanity::CONSTANT_TOLERANCE * r.scale
        );
        // The library's ridge returns exact zeros for a flat target.
        assert!(r.passed(), "{r:?}");
    }
    let summaries = summary::summarise_constant(&rows);
    assert_eq!(summary::constant_table(&summaries).lines().count(), 5);
    assert!(summaries.iter().all(|s| s.passed()));
    let check = lime_constant(&case, 0).unwrap();
    eprintln!("{check:#?}");
    eprint!(
        "{}",
        summary::lime_constant_table(std::slice::from_ref(&check))
    );
    assert_eq!(check.levels.len(), 5);
    assert!(check.passed(), "{check:?}");
    let json = summary::constant_json(&rows, &summaries, std::slice::from_ref(&check));
    assert_eq!(json["multiscale_lime"][0]["passed"], true);
    // The rules fail a map of the constant model that is not zero: a
    // min-max map of rounding noise, an interval that misses zero.
    let noisy = ConstantRow {
        max_abs: 1.0,
        ..rows[0].clone()
    };
    assert!(!noisy.passed());
    let mut blown_up = check.clone();
    blown_up.fused_max_abs = 1.0;
    assert!(!blown_up.passed());
    let mut missed = check;
    missed.levels[0].intervals_contain_zero = Some(false);
    assert!(!missed.passed());
}
