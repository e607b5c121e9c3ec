//! SLIC against scikit-image 0.26: the label maps in `tests/data` were
//! computed with `skimage.segmentation.slic(image, n_segments, compactness,
//! sigma=…, start_label=0)` (parameters in `tests/data/index.json`).

use multiscale_lime::{Image, Segmenter, Slic};
use ndarray::Array2;
use ndarray_npy::read_npy;

struct Case {
    file: &'static str,
    image: &'static str,
    n: usize,
    compactness: f64,
    sigma: f64,
    actual: usize,
}

const CASES: &[Case] = &[
    Case {
        file: "slic_ihc_patch96_n10_c5_s0.npy",
        image: "ihc_patch96",
        n: 10,
        compactness: 5.0,
        sigma: 0.0,
        actual: 3,
    },
    Case {
        file: "slic_ihc_patch96_n25_c5_s0.npy",
        image: "ihc_patch96",
        n: 25,
        compactness: 5.0,
        sigma: 0.0,
        actual: 11,
    },
    Case {
        file: "slic_ihc_patch96_n50_c5_s0.npy",
        image: "ihc_patch96",
        n: 50,
        compactness: 5.0,
        sigma: 0.0,
        actual: 29,
    },
    Case {
        file: "slic_ihc_patch96_n100_c5_s0.npy",
        image: "ihc_patch96",
        n: 100,
        compactness: 5.0,
        sigma: 0.0,
        actual: 69,
    },
    Case {
        file: "slic_ihc_patch96_n200_c5_s0.npy",
        image: "ihc_patch96",
        n: 200,
        compactness: 5.0,
        sigma: 0.0,
        actual: 170,
    },
    Case {
        file: "slic_ihc512_n25_c5_s0.npy",
        image: "ihc512",
        n: 25,
        compactness: 5.0,
        sigma: 0.0,
        actual: 5,
    },
    Case {
        file: "slic_ihc512_n100_c5_s0.npy",
        image: "ihc512",
        n: 100,
        compactness: 5.0,
        sigma: 0.0,
        actual: 22,
    },
    Case {
        file: "slic_ihc512_n400_c5_s0.npy",
        image: "ihc512",
        n: 400,
        compactness: 5.0,
        sigma: 0.0,
        actual: 161,
    },
    Case {
        file: "slic_ihc512_n100_c10_s0.npy",
        image: "ihc512",
        n: 100,
        compactness: 10.0,
        sigma: 0.0,
        actual: 63,
    },
    Case {
        file: "slic_ihc512_n100_c5_s1.npy",
        image: "ihc512",
        n: 100,
        compactness: 5.0,
        sigma: 1.0,
        actual: 37,
    },
];

fn load_image(name: &str) -> Image {
    let path = match name {
        "ihc_patch96" => "assets/ihc_patch96.png",
        "ihc512" => "assets/ihc.png",
        other => panic!("unknown image {other}"),
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let rgb = image::open(path).expect("bundled image").to_rgb8();
    Image::try_from(&rgb).expect("valid image")
}

fn agreement(case: &Case, parallel: bool) -> (usize, f64, usize) {
    let image = load_image(case.image);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let reference: Array2<i32> = read_npy(dir.join(case.file)).expect("reference labels");
    let slic = Slic::builder()
        .compactness(case.compactness)
        .sigma(case.sigma)
        .parallel(parallel)
        .build()
        .unwrap();
    let seg = slic.segment(&image, case.n).unwrap();
    assert_eq!(seg.dim(), reference.dim());
    let same = seg
        .labels()
        .iter()
        .zip(reference.iter())
        .filter(|(a, b)| i64::from(**a) == i64::from(**b))
        .count();
    (
        seg.count(),
        same as f64 / reference.len() as f64,
        (reference.iter().copied().max().unwrap_or(-1) + 1) as usize,
    )
}

#[test]
fn slic_matches_scikit_image_on_every_reference_case() {
    let mut report = Vec::new();
    for case in CASES {
        let (count, share, ref_count) = agreement(case, true);
        report.push(format!(
            "{}: count {count} (skimage {ref_count}), agreement {:.4}%",
            case.file,
            share * 100.0
        ));
        assert_eq!(
            ref_count, case.actual,
            "index.json and the .npy disagree for {}",
            case.file
        );
        assert_eq!(count, case.actual, "{}", report.join("\n"));
        assert!(share >= 0.995, "{}", report.join("\n"));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn sequential_and_parallel_labels_are_identical() {
    for case in CASES.iter().filter(|c| c.image == "ihc_patch96") {
        let image = load_image(case.image);
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
