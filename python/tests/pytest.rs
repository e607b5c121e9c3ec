//! Runs the Python package's test suite (`python/tests/test_*.py`) from
//! `cargo test`, so the README's test command covers it.
//!
//! Makes (once) a virtual environment under the target folder with
//! `requirements-test.txt`, installs the package from this checkout with
//! pip (maturin builds the engine), writes the Rust API's results for the
//! cases of `test_parity.py`, and runs pytest with OpenSlide's library
//! (`OPENSLIDE_DYLIB_PATH`) and CMU-1-Small-Region.svs
//! (`MULTISCALE_LIME_TEST_SLIDE`) for `test_slide.py`, both from the
//! testkit. Needs `python3` (≥ 3.9) with venv and pip, and PyPI the first
//! time.

use std::path::{Path, PathBuf};
use std::process::Command;

use multiscale_lime::ndarray::{Array2, ArrayView4, Axis};
use multiscale_lime::{
    ClassifierError, FnClassifier, Fusion, HideColor, MultiScaleLime, Preset, Sampling, SquareGrid,
    Target,
};
use multiscale_lime_testkit::{load_asset, openslide_library, repo_root, test_slide};
use ndarray_npy::write_npy;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(status.success(), "{what} failed ({status})");
}

/// The test environment, made or updated when the requirements changed.
fn venv() -> PathBuf {
    multiscale_lime_testkit::python_venv(
        "python-venv",
        &repo_root().join("python/requirements-test.txt"),
    )
}

/// The exact classifier both sides use: class 1 is the share of pixels
/// whose green value is below 0.5 (a count, so numpy's mean and this
/// division give the same float), class 0 its complement.
fn dark_share(batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
    let (n, h, w, _) = batch.dim();
    let mut out = Array2::zeros((n, 2));
    for (i, image) in batch.axis_iter(Axis(0)).enumerate() {
        let dark = image
            .index_axis(Axis(2), 1)
            .iter()
            .filter(|&&g| g < 0.5)
            .count();
        let p = dark as f64 / (h * w) as f64;
        out[[i, 0]] = (1.0 - p) as f32;
        out[[i, 1]] = p as f32;
    }
    Ok(out)
}

/// The Rust API's results for the cases `test_parity.py` repeats.
fn write_reference(dir: &Path) {
    let image = load_asset("ihc_patch96.png");
    write_npy(dir.join("image.npy"), &image.view().to_owned()).unwrap();
    let classifier = FnClassifier::new(2, dark_share);
    let save = |name: &str, e: &multiscale_lime::Explanation| {
        for (c, stack) in e.stacks().iter().enumerate() {
            let fused = e.fused_for(stack.class()).unwrap();
            write_npy(
                dir.join(format!("{name}_c{c}_fused.npy")),
                fused.heatmap.values(),
            )
            .unwrap();
            for (l, level) in stack.levels().iter().enumerate() {
                let base = format!("{name}_c{c}_l{l}");
                write_npy(
                    dir.join(format!("{base}_heatmap.npy")),
                    level.heatmap.values(),
                )
                .unwrap();
                write_npy(dir.join(format!("{base}_coef.npy")), &level.coefficients).unwrap();
                let errors = level
                    .std_errors
                    .as_ref()
                    .expect("ridge gives standard errors");
                write_npy(dir.join(format!("{base}_se.npy")), errors).unwrap();
                write_npy(
                    dir.join(format!("{base}_labels.npy")),
                    level.segmentation.labels(),
                )
                .unwrap();
            }
        }
    };
    // "default": nothing set, on either side.
    let lime = MultiScaleLime::builder().build().unwrap();
    save(
        "default",
        &lime
            .explain(&image, &classifier, Target::Predicted)
            .unwrap(),
    );
    // "paper": the paper's preset with a seed and white hidden superpixels.
    let lime = MultiScaleLime::preset(Preset::Paper)
        .seed(7)
        .hide_color(HideColor::Constant([1.0; 3]))
        .build()
        .unwrap();
    save(
        "paper",
        &lime
            .explain(&image, &classifier, Target::Predicted)
            .unwrap(),
    );
    // "grid": square grid, both classes, segment means, fixed n, batches of
    // 5, balanced masks.
    let lime = MultiScaleLime::preset(Preset::Paper)
        .sampling(Sampling::Balanced)
        .hide_color(HideColor::SegmentMean)
        .segmenter(SquareGrid)
        .levels([4, 16, 64])
        .samples(150)
        .batch_size(5)
        .seed(3)
        .build()
        .unwrap();
    save(
        "grid",
        &lime
            .explain(&image, &classifier, Target::TopLabels(2))
            .unwrap(),
    );
    // "density": compactness 20, blurred fill, the density fusion,
    // folded orthogonal arrays.
    let lime = MultiScaleLime::preset(Preset::Paper)
        .sampling(Sampling::Orthogonal)
        .compactness(20.0)
        .levels([10, 50, 200])
        .hide_color(HideColor::Blurred { sigma: 3.0 })
        .kernel_width(0.4)
        .fusion(Fusion::Density)
        .seed(11)
        .build()
        .unwrap();
    save(
        "density",
        &lime.explain(&image, &classifier, Target::Class(1)).unwrap(),
    );
}

#[test]
fn python_package_passes_its_pytest_suite() {
    let venv = venv();
    let root = repo_root();
    let bin = venv.join("bin");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    // Rebuilds the engine when its sources changed (cargo is incremental).
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--no-build-isolation",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(root.join("python"))
            .env("PATH", &path),
        "pip install ./python",
    );
    let reference = target_dir().join("python-reference");
    std::fs::create_dir_all(&reference).unwrap();
    write_reference(&reference);
    run(
        Command::new(bin.join("python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root.join("python/tests"))
            .env("MULTISCALE_LIME_REFERENCE", &reference)
            .env("OPENSLIDE_DYLIB_PATH", openslide_library())
            .env("MULTISCALE_LIME_TEST_SLIDE", test_slide())
            .env("PATH", &path)
            .current_dir(&root),
        "pytest python/tests",
    );
}
