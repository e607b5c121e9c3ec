//! The committed CNNs through ONNX Runtime: parity with torch and with
//! tract, scores that do not depend on batching or threads, and clear
//! errors. The library comes from `testkit::onnxruntime_library` (the
//! `onnxruntime` wheel on PyPI, fetched on first use).
#![cfg(all(feature = "ort", feature = "onnx"))]

use multiscale_lime::onnx::{
    ExecutionProvider, OnnxClassifier, OrtClassifier, OrtClassifierBuilder,
};
use multiscale_lime::prelude::*;
use multiscale_lime::Preset;
use multiscale_lime::{BatchSize, Error};
use multiscale_lime_testkit::{
    asset, explain_on_threads, heatmap_bits, load_asset, onnxruntime_library, repo_root,
};
use ndarray::{s, Array4};

fn builder() -> OrtClassifierBuilder {
    OrtClassifier::builder(96, 96).library(onnxruntime_library())
}

fn model_bytes() -> Vec<u8> {
    std::fs::read(asset(IHC.model)).unwrap()
}

/// A bundled model and its fixture: 16 held-out patches (the corner of each
/// in `image`, its label) with torch's probabilities for them, written by
/// `tools/train_model.py`.
struct Bundled {
    /// Under `assets/`.
    model: &'static str,
    /// Under the repository's root, like `image`.
    fixture: &'static str,
    image: &'static str,
    /// How many of the 16 patches the model gets right (the fixture's
    /// labels against the argmax of torch's probabilities).
    correct: usize,
}

/// The DAB-stain detector for IHC.
const IHC: Bundled = Bundled {
    model: "models/ihc_dab_cnn.onnx",
    fixture: "tests/data/onnx_fixture.txt",
    image: "assets/ihc.png",
    correct: 14,
};

/// The nuclei-density (hematoxylin) detector for H&E; its patches are cut
/// from a held-out crop of the CMU-1-Small-Region slide.
const HE: Bundled = Bundled {
    model: "models/he_nuclei_cnn.onnx",
    fixture: "tests/data/onnx_he_fixture.txt",
    image: "tests/data/onnx_he_fixture.png",
    correct: 16,
};

/// A fixture's patches, torch's probabilities for them and their labels.
fn fixture(bundled: &Bundled) -> (Array4<f32>, Vec<[f64; 2]>, Vec<usize>) {
    let text = std::fs::read_to_string(repo_root().join(bundled.fixture)).unwrap();
    let full = Image::try_from(
        &image::open(repo_root().join(bundled.image))
            .unwrap()
            .to_rgb8(),
    )
    .unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    let mut batch = Array4::<f32>::zeros((rows.len(), 96, 96, 3));
    for (i, r) in rows.iter().enumerate() {
        let (y, x) = (r[0] as usize, r[1] as usize);
        batch
            .slice_mut(s![i, .., .., ..])
            .assign(&full.view().slice(s![y..y + 96, x..x + 96, ..]));
    }
    (
        batch,
        rows.iter().map(|r| [r[3], r[4]]).collect(),
        rows.iter().map(|r| r[2] as usize).collect(),
    )
}

#[test]
fn reproduces_torch_and_tract() {
    for bundled in [IHC, HE] {
        let (batch, torch, labels) = fixture(&bundled);
        assert_eq!(torch.len(), 16, "{}", bundled.fixture);
        let bytes = std::fs::read(asset(bundled.model)).unwrap();
        let clf = builder().load_bytes(&bytes).unwrap();
        assert_eq!(clf.num_classes(), 2);
        assert_eq!(clf.execution_provider(), ExecutionProvider::Cpu);
        let out = clf.predict(batch.view()).unwrap();
        let tract = OnnxClassifier::builder(96, 96)
            .load_bytes(&bytes)
            .unwrap()
            .predict(batch.view())
            .unwrap();
        for (i, want) in torch.iter().enumerate() {
            for (c, &want) in want.iter().enumerate() {
                let got = f64::from(out[[i, c]]);
                assert!(
                    (got - want).abs() < 1e-5,
                    "{} patch {i} class {c}: {got} vs torch {want}",
                    bundled.model
                );
                let other = f64::from(tract[[i, c]]);
                assert!(
                    (got - other).abs() < 1e-5,
                    "{} patch {i} class {c}: {got} vs tract {other}",
                    bundled.model
                );
            }
        }
        // The labels: as many right as torch got (argmax, both runtimes).
        for scores in [&out, &tract] {
            let correct = labels
                .iter()
                .enumerate()
                .filter(|&(i, &label)| usize::from(scores[[i, 1]] > scores[[i, 0]]) == label)
                .count();
            assert_eq!(correct, bundled.correct, "{}", bundled.model);
        }
    }
}

#[test]
fn scores_do_not_depend_on_batches_threads_or_sessions() {
    let (batch, _, _) = fixture(&IHC);
    let bytes = model_bytes();
    let reference = builder()
        .batch_size(1)
        .sessions(1)
        .load_bytes(&bytes)
        .unwrap()
        .predict(batch.view())
        .unwrap();
    for (size, threads, sessions) in [(3, 1, 1), (16, 1, 2), (5, 2, 1), (64, 2, 3)] {
        let clf = builder()
            .batch_size(size)
            .intra_threads(threads)
            .sessions(sessions)
            .load_bytes(&bytes)
            .unwrap();
        // Row by row and all at once: the same bits.
        assert_eq!(
            clf.predict(batch.view()).unwrap(),
            reference,
            "batch {size}, {threads} threads"
        );
        let row = clf.predict(batch.slice(s![7..8, .., .., ..])).unwrap();
        assert_eq!(row.row(0), reference.row(7));
    }
}

#[test]
fn explanations_are_bit_identical_whatever_the_batching() {
    let patch = load_asset("ihc_patch96.png");
    let clf = builder().load_bytes(&model_bytes()).unwrap();
    assert_eq!(clf.preferred_batch_size(), Some(8));
    let explain = |batch: BatchSize, threads: usize| {
        let lime = MultiScaleLime::preset(Preset::Paper)
            .levels([10, 25])
            .samples_per_segment(4)
            .hide_color(HideColor::Constant([1.0; 3]))
            .batch_size(batch)
            .seed(11)
            .build()
            .unwrap();
        heatmap_bits(&explain_on_threads(
            &lime,
            &patch,
            &clf,
            Target::TopLabels(2),
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

#[test]
fn clear_errors() {
    let bytes = model_bytes();
    // The CPU wheel has no CUDA: an error naming the provider, no fallback.
    // Without the `ort-cuda` feature the build itself lacks it, and says
    // which feature to enable.
    let cuda = builder()
        .execution_provider(ExecutionProvider::Cuda { device_id: 0 })
        .load_bytes(&bytes);
    match cuda {
        Err(e @ Error::OnnxRuntime { .. }) if cfg!(feature = "ort-cuda") => {
            assert!(e.to_string().contains("CUDAExecutionProvider"), "{e}")
        }
        Err(e @ Error::InvalidParameter { .. }) if !cfg!(feature = "ort-cuda") => {
            let message = e.to_string();
            assert!(message.contains("CUDAExecutionProvider"), "{message}");
            assert!(message.contains("`ort-cuda`"), "{message}");
        }
        other => panic!("expected an error naming CUDA, got {other:?}"),
    }
    // Another library than the one this process opened.
    let other = OrtClassifier::builder(96, 96)
        .library("/nonexistent/libonnxruntime.so")
        .load_bytes(&bytes);
    // (Loading `builder()` first makes the outcome the same in any test order.)
    let _ = builder().load_bytes(&bytes).unwrap();
    let other = other.and(
        OrtClassifier::builder(96, 96)
            .library("/nonexistent/libonnxruntime.so")
            .load_bytes(&bytes),
    );
    match other {
        Err(e @ Error::OnnxRuntime { .. }) => {
            assert!(
                e.to_string().contains("/nonexistent/libonnxruntime.so"),
                "{e}"
            )
        }
        other => panic!("expected an ONNX Runtime error, got {other:?}"),
    }
    // The model's declared input is checked before any run.
    match builder()
        .layout(multiscale_lime::onnx::InputLayout::Nhwc)
        .load_bytes(&bytes)
    {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("N×H×W×3"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    match OrtClassifier::builder(64, 64)
        .library(onnxruntime_library())
        .load_bytes(&bytes)
    {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("64×64"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    assert!(matches!(
        builder().load_bytes(b"definitely not protobuf"),
        Err(Error::Model { .. })
    ));
    match builder().load_path(asset("models/nope.onnx")) {
        Err(e @ Error::Model { .. }) => assert!(e.to_string().contains("nope.onnx"), "{e}"),
        other => panic!("expected a model error, got {other:?}"),
    }
    for (bad, name) in [
        (builder().sessions(0), "sessions"),
        (builder().intra_threads(0), "intra_threads"),
        (builder().intra_threads(100_000), "intra_threads"),
        (builder().sessions(100_000), "sessions"),
        (builder().batch_size(0), "batch_size"),
        (builder().batch_size(1 << 20), "batch_size"),
        (builder().scale(f32::NAN), "scale"),
    ] {
        match bad.load_bytes(&bytes) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected {name} to be rejected, got {other:?}"),
        }
    }
    // An image of another size: a typed classifier error, not a panic.
    let clf = builder().load_bytes(&bytes).unwrap();
    let wrong = Image::new(ndarray::Array3::from_elem((64, 64, 3), 0.5)).unwrap();
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([4])
        .samples(4)
        .build()
        .unwrap();
    let err = lime.explain(&wrong, &clf, Target::Predicted).unwrap_err();
    assert!(matches!(err, Error::Classifier(_)));
}

#[test]
fn both_runtimes_give_the_same_heatmaps_to_1e_5() {
    // Not to the bit: the runtimes' scores differ by ~1e-7.
    let patch = load_asset("ihc_patch96.png");
    let lime = MultiScaleLime::preset(Preset::Paper)
        .levels([10, 25, 50])
        .samples_per_segment(10)
        .hide_color(HideColor::Constant([1.0; 3]))
        .seed(2)
        .build()
        .unwrap();
    let ort = builder().load_bytes(&model_bytes()).unwrap();
    let tract = OnnxClassifier::builder(96, 96)
        .load_bytes(&model_bytes())
        .unwrap();
    let a = lime.explain(&patch, &ort, Target::TopLabels(2)).unwrap();
    let b = lime.explain(&patch, &tract, Target::TopLabels(2)).unwrap();
    for (sa, sb) in a.stacks().iter().zip(b.stacks()) {
        assert_eq!(sa.class(), sb.class());
        for (la, lb) in sa.levels().iter().zip(sb.levels()) {
            let most = la
                .heatmap
                .values()
                .iter()
                .zip(lb.heatmap.values())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(
                most < 1e-5,
                "class {} level {}: {most}",
                sa.class(),
                la.desired
            );
        }
    }
}
