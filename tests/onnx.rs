//! The committed CNN through tract: parity with torch, clear errors, and an
//! end-to-end explanation.
#![cfg(feature = "onnx")]

use multiscale_lime::metrics::relevance_mass;
use multiscale_lime::onnx::{InputLayout, OnnxClassifier};
use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{BatchSize, Error};
use multiscale_lime_testkit::{explain_on_threads, heatmap_bits, load_asset, stained_pixels};
use ndarray::{s, Array3, Array4};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn model() -> OnnxClassifier {
    OnnxClassifier::builder(96, 96)
        .load_path(root().join("assets/models/ihc_dab_cnn.onnx"))
        .unwrap()
}

fn ihc() -> Image {
    Image::try_from(
        &image::open(root().join("assets/ihc.png"))
            .unwrap()
            .to_rgb8(),
    )
    .unwrap()
}

#[test]
fn reproduces_torch_probabilities() {
    let text = std::fs::read_to_string(root().join("tests/data/onnx_fixture.txt")).unwrap();
    let full = ihc();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 16);
    let mut batch = Array4::<f32>::zeros((rows.len(), 96, 96, 3));
    for (i, r) in rows.iter().enumerate() {
        let (y, x) = (r[0] as usize, r[1] as usize);
        batch
            .slice_mut(s![i, .., .., ..])
            .assign(&full.view().slice(s![y..y + 96, x..x + 96, ..]));
    }
    let clf = model();
    assert_eq!(clf.num_classes(), 2);
    let out = clf.predict(batch.view()).unwrap();
    let mut correct = 0;
    for (i, r) in rows.iter().enumerate() {
        for c in 0..2 {
            let (got, want) = (f64::from(out[[i, c]]), r[3 + c]);
            assert!(
                (got - want).abs() < 1e-5,
                "patch {i} class {c}: {got} vs torch {want}"
            );
        }
        correct += usize::from((out[[i, 1]] > 0.5) == (r[2] == 1.0));
    }
    assert!(
        correct >= 14,
        "only {correct}/16 fixture patches classified correctly"
    );
    // Batching must not change a row: split runs give the same scores.
    let small = OnnxClassifier::builder(96, 96)
        .batch_size(3)
        .load_path(root().join("assets/models/ihc_dab_cnn.onnx"))
        .unwrap();
    let split = small.predict(batch.view()).unwrap();
    assert!(split
        .iter()
        .zip(out.iter())
        .all(|(a, b)| (a - b).abs() < 1e-6));
}

#[test]
fn clear_errors() {
    let missing = OnnxClassifier::builder(96, 96).load_path(root().join("assets/models/nope.onnx"));
    match missing {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("nope.onnx"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    assert!(matches!(
        OnnxClassifier::builder(96, 96).load_bytes(b"definitely not protobuf"),
        Err(Error::Model { .. })
    ));
    // Declaring the wrong layout makes the model's first convolution reject the input.
    let bytes = std::fs::read(root().join("assets/models/ihc_dab_cnn.onnx")).unwrap();
    assert!(matches!(
        OnnxClassifier::builder(96, 96)
            .layout(InputLayout::Nhwc)
            .load_bytes(&bytes),
        Err(Error::Model { .. })
    ));
    // A malformed model on which tract itself panics (found by fuzzing:
    // the first byte is the fuzz target's settings) is an error.
    let crash = std::fs::read(root().join("tests/data/fuzz_tract_panic.bin")).unwrap();
    match OnnxClassifier::builder(4, 4)
        .batch_size(1)
        .load_bytes(&crash[1..])
    {
        Err(e @ Error::Model { .. }) => {
            assert!(e.to_string().contains("tract failed on this model"), "{e}")
        }
        other => panic!("expected a model error, got {other:?}"),
    }
    // A uint8-input model is refused, not fed f32 values.
    match OnnxClassifier::builder(96, 96).load_path(root().join("tests/data/uint8_input.onnx")) {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("f32 expected"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    // The model declares 96×96 inputs: another size is refused at load.
    match OnnxClassifier::builder(64, 64).load_bytes(&bytes) {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("64×64"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    assert!(matches!(
        OnnxClassifier::builder(96, 96)
            .normalization([0.0; 3], [0.0; 3])
            .load_bytes(&bytes),
        Err(Error::InvalidParameter { .. })
    ));
    // An image of another size: a typed classifier error, not a panic.
    let clf = model();
    let wrong = Image::new(Array3::from_elem((64, 64, 3), 0.5)).unwrap();
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([4])
        .samples(4)
        .build()
        .unwrap();
    let err = lime.explain(&wrong, &clf, Target::Predicted).unwrap_err();
    assert!(matches!(err, Error::Classifier(_)));
    let why = std::error::Error::source(&err).unwrap().to_string();
    assert!(why.contains("96×96"), "{why}");
}

#[test]
fn explains_a_patch_end_to_end() {
    // The README's main job: the defaults, white hidden superpixels (the
    // CNN reads black as dense stain), both classes explained.
    let patch = load_asset("ihc_patch96.png");
    let clf = model();
    let lime = MultiScaleLime::builder()
        .hide_color(HideColor::Constant([1.0; 3]))
        .build()
        .unwrap();
    let e = lime.explain(&patch, &clf, Target::TopLabels(2)).unwrap();
    assert_eq!(e.stacks().len(), 2);
    let p = e.prediction();
    assert!(
        (p.sum() - 1.0).abs() < 1e-5,
        "softmax output sums to {}",
        p.sum()
    );
    let rich = e.fused_for(1).expect("DAB-rich is explained");
    assert_eq!(rich.heatmap.dim(), (96, 96));
    assert!(rich
        .heatmap
        .values()
        .iter()
        .all(|v| (0.0..=1.0).contains(v)));
    // The DAB-rich explanation sits on the brown pixels: most of its
    // relevance on them, at least twice their share of the patch.
    let stained = stained_pixels(&patch);
    let share = stained.iter().filter(|&&m| m).count() as f64 / stained.len() as f64;
    let mass = relevance_mass(&rich.heatmap, stained.view()).unwrap();
    assert!(
        mass > 0.5 && mass > 2.0 * share,
        "{:.1}% of the relevance on the {:.1}% stained pixels",
        100.0 * mass,
        100.0 * share
    );
    // And the DAB-poor explanation does not.
    let poor = e.fused_for(0).expect("DAB-poor is explained");
    let poor_mass = relevance_mass(&poor.heatmap, stained.view()).unwrap();
    assert!(poor_mass < mass, "{poor_mass} ≥ {mass}");
}

#[test]
fn explanations_are_bit_identical_whatever_the_batching() {
    // tract's plan has a fixed batch; short batches are padded, so the
    // explainer's grouping of images reaches no score.
    let patch = Image::try_from(
        &image::open(root().join("assets/ihc_patch96.png"))
            .unwrap()
            .to_rgb8(),
    )
    .unwrap();
    for clf in [
        model(),
        OnnxClassifier::builder(96, 96)
            .batch_size(4)
            .load_path(root().join("assets/models/ihc_dab_cnn.onnx"))
            .unwrap(),
    ] {
        let explain = |batch: BatchSize, threads: usize| -> Vec<Vec<u32>> {
            let lime = MultiScaleLime::preset(Preset::Paper)
                .levels([10, 25])
                .samples_per_segment(3)
                .batch_size(batch)
                .seed(3)
                .build()
                .unwrap();
            heatmap_bits(&explain_on_threads(
                &lime,
                &patch,
                &clf,
                Target::Predicted,
                threads,
            ))
        };
        let reference = explain(BatchSize::Auto, 1);
        for (batch, threads) in [
            (BatchSize::Fixed(1), 2),
            (BatchSize::Fixed(7), 1),
            (BatchSize::Auto, 2),
        ] {
            assert_eq!(
                explain(batch, threads),
                reference,
                "{batch:?}, {threads} threads"
            );
        }
    }
    assert_eq!(model().preferred_batch_size(), Some(1));
}
