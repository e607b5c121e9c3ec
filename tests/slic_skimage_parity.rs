//! SLIC against scikit-image 0.26: the label maps in `tests/data` were
//! computed with `skimage.segmentation.slic(image, n_segments, compactness,
//! sigma=…, start_label=0)` (parameters in `tests/data/index.json`).

use multiscale_lime::{Image, Segmenter, Slic};
use multiscale_lime_testkit::load_asset;
use ndarray::Array2;
use ndarray_npy::read_npy;

/// One reference case of `tests/data/index.json`.
struct Case {
    file: String,
    image: String,
    n: usize,
    compactness: f64,
    sigma: f64,
    actual: usize,
}

/// The cases as `tests/data/index.json` lists them (written by
/// `tools/make_slic_reference.py` together with the `.npy` files).
fn cases() -> Vec<Case> {
    let path = data_dir().join("index.json");
    let text = std::fs::read_to_string(&path).expect("tests/data/index.json");
    let index: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        index["skimage"], "0.26.0",
        "references from scikit-image 0.26"
    );
    assert_eq!(index["start_label"], 0);
    assert_eq!(index["max_num_iter"], 10);
    assert_eq!(index["enforce_connectivity"], true);
    let field = |case: &serde_json::Value, name: &str| case[name].clone();
    let cases: Vec<Case> = index["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .map(|case| Case {
            file: field(case, "file").as_str().expect("file").to_owned(),
            image: field(case, "image").as_str().expect("image").to_owned(),
            n: field(case, "n_segments").as_u64().expect("n_segments") as usize,
            compactness: field(case, "compactness").as_f64().expect("compactness"),
            sigma: field(case, "sigma").as_f64().expect("sigma"),
            actual: field(case, "actual_segments").as_u64().expect("count") as usize,
        })
        .collect();
    assert_eq!(cases.len(), 10, "every reference case is listed");
    cases
}

fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn load_image(name: &str) -> Image {
    match name {
        "ihc_patch96" => load_asset("ihc_patch96.png"),
        "ihc512" => load_asset("ihc.png"),
        other => panic!("unknown image {other} in index.json"),
    }
}

#[test]
fn slic_matches_scikit_image_on_every_reference_case() {
    for case in cases() {
        let image = load_image(&case.image);
        let reference: Array2<i64> = read_npy::<_, Array2<i32>>(data_dir().join(&case.file))
            .expect("reference labels")
            .mapv(i64::from);
        let reference_count = (reference.iter().copied().max().unwrap_or(-1) + 1) as usize;
        assert_eq!(
            reference_count, case.actual,
            "index.json and {} disagree",
            case.file
        );
        let slic = Slic::builder()
            .compactness(case.compactness)
            .sigma(case.sigma)
            .build()
            .unwrap();
        let seg = slic.segment(&image, case.n).unwrap();
        let ours = seg.labels().mapv(i64::from);
        let differing = ours.iter().zip(&reference).filter(|(a, b)| a != b).count();
        assert_eq!(
            differing,
            0,
            "{}: {differing} of {} pixels differ from scikit-image",
            case.file,
            reference.len()
        );
        assert_eq!(seg.count(), case.actual, "{}", case.file);
    }
}

#[test]
fn sequential_and_parallel_labels_are_identical() {
    for case in cases().iter().filter(|c| c.image == "ihc_patch96") {
        let image = load_image(&case.image);
        let seq = Slic::builder()
            .parallel(false)
            .build()
            .unwrap()
            .segment(&image, case.n)
            .unwrap();
        let par = Slic::builder()
            .parallel(true)
            .build()
            .unwrap()
            .segment(&image, case.n)
            .unwrap();
        assert_eq!(seq, par, "{}", case.file);
    }
}
