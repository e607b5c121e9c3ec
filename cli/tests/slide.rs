//! `mslime slide` end to end on a generated pyramid (levels as pages, JPEG
//! in YCbCr) and on CMU-1-Small-Region.svs: the outputs exist and parse,
//! the QuPath GeoJSON has QuPath's import structure with every polygon
//! inside the slide, a tile's probabilities equal the model run on the
//! same pixels read by tifffile, the report lists the explained tiles,
//! and bad requests are clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use multiscale_lime::onnx::OnnxClassifier;
use multiscale_lime::Classifier;
use ndarray::{Array3, Array4, Axis};
use ndarray_npy::read_npy;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mslime");

/// The repository, where the bundled model and images are.
fn root() -> PathBuf {
    multiscale_lime_testkit::repo_root()
}

fn model() -> PathBuf {
    root().join("assets/models/ihc_dab_cnn.onnx")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("slide-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mslime(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("ORT_DYLIB_PATH")
        .output()
        .unwrap()
}

/// `mslime slide SLIDE --model <the bundled CNN> --out OUT EXTRA…`.
fn slide_command(slide: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("slide")
        .arg(slide)
        .arg("--model")
        .arg(model())
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("ORT_DYLIB_PATH");
    command
}

/// Runs `command`, asserts it succeeded and returns its standard output.
fn succeeded(command: &mut Command) -> String {
    let result = command.output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout).into_owned()
}

/// The generated pyramid of pages (JPEG in YCbCr, 1000×760).
fn pyramid() -> PathBuf {
    root().join("tests/data/slides/pyramid_jpeg.tif")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks QuPath's import structure and returns the features.
fn check_geojson(path: &Path, width: f64, height: f64) -> Vec<Value> {
    let doc = json(path);
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap().clone();
    for f in &features {
        assert_eq!(f["type"], "Feature");
        let kind = f["properties"]["objectType"].as_str().unwrap();
        assert!(kind == "tile" || kind == "detection", "{kind}");
        let geometry = &f["geometry"];
        let polygons: Vec<&Value> = match geometry["type"].as_str().unwrap() {
            "Polygon" => vec![&geometry["coordinates"]],
            "MultiPolygon" => geometry["coordinates"].as_array().unwrap().iter().collect(),
            other => panic!("{other}"),
        };
        for ring in polygons.iter().flat_map(|p| p.as_array().unwrap()) {
            let points = ring.as_array().unwrap();
            assert!(points.len() >= 4 && points.first() == points.last());
            for p in points {
                let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                assert!(
                    (0.0..=width).contains(&x) && (0.0..=height).contains(&y),
                    "({x}, {y})"
                );
            }
        }
        let m = f["properties"]["measurements"].as_object().unwrap();
        assert!(!m.is_empty() && m.values().all(Value::is_number));
    }
    features
}

#[test]
fn a_generated_pyramid_end_to_end() {
    let out = scratch("pyramid");
    succeeded(&mut slide_command(
        &pyramid(),
        &out,
        &[
            "--downsample",
            "2",
            "--explain",
            "top:2",
            "--class-names",
            "DAB-poor,DAB-rich",
            "--no-metrics",
        ],
    ));
    let summary = json(&out.join("slide.json"));
    assert_eq!(summary["format"], "generic-tiff");
    assert_eq!(summary["tiles_explained"], 2);
    let scored = summary["tiles_scored"].as_u64().unwrap() as usize;
    let features = check_geojson(&out.join("qupath.geojson"), 1000.0, 760.0);
    let tiles: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["objectType"] == "tile")
        .collect();
    assert_eq!(tiles.len(), scored);
    assert!(features
        .iter()
        .any(|f| f["properties"]["objectType"] == "detection"));
    // The tile at the top-left corner (level 1's 96×96 pixels at 0, 0)
    // scored as the model scores tifffile's pixels of it.
    let corner = tiles
        .iter()
        .find(|f| f["geometry"]["coordinates"][0][0] == serde_json::json!([0, 0]))
        .expect("the corner tile holds tissue");
    let pixels: Array3<u8> =
        read_npy(root().join("tests/data/slides/pyramid_jpeg_L1_0_0_96x96.npy")).unwrap();
    let batch: Array4<f32> = pixels.mapv(|v| f32::from(v) / 255.0).insert_axis(Axis(0));
    let classifier = OnnxClassifier::builder(96, 96).load_path(model()).unwrap();
    let want = classifier.predict(batch.view()).unwrap();
    for (c, name) in ["P(DAB-poor)", "P(DAB-rich)"].iter().enumerate() {
        let got = corner["properties"]["measurements"][name].as_f64().unwrap();
        // Within the JPEG decoders' rounding, as the model sees it.
        assert!(
            (got - f64::from(want[[0, c]])).abs() < 0.02,
            "{name}: {got} vs {}",
            want[[0, c]]
        );
    }
    // The maps, the overview, the explained tiles and the report.
    let relevance: ndarray::Array2<f32> = read_npy(out.join("relevance.npy")).unwrap();
    assert!(relevance.iter().any(|v| v.is_finite()));
    assert!(out.join("overview.png").is_file());
    let folders = std::fs::read_dir(out.join("tiles")).unwrap().count();
    assert_eq!(folders, 2);
    // The page's data: a grid entry per explained tile, each also framed
    // on the slide view.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let data = page
        .split_once("const DATA = ")
        .and_then(|(_, rest)| rest.split_once(";\n"))
        .map(|(data, _)| data)
        .unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    let keys = |list: &Value| -> Vec<String> {
        let mut k: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    let entries = keys(&data["entries"]);
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|k| k.starts_with("tiles/x")));
    assert_eq!(keys(&data["slide"]["markers"]), entries);
}

#[test]
fn an_ome_tiff_with_subifd_levels_end_to_end() {
    let out = scratch("ome");
    let slide = root().join("tests/data/slides/ome_subifd.ome.tif");
    // 0.25 µm/px in the OME-XML: tiles at 0.5 µm/px read level 1 (a SubIFD).
    succeeded(&mut slide_command(
        &slide,
        &out,
        &["--mpp", "0.5", "--min-tissue", "0", "--explain", "none"],
    ));
    let summary = json(&out.join("slide.json"));
    assert_eq!(summary["format"], "ome-tiff");
    assert_eq!(summary["levels"], 3);
    assert_eq!(summary["mpp"], serde_json::json!([0.25, 0.25]));
    // 320×256 at level 0 is 160×128 at 0.5 µm/px: one 96×96 tile fits.
    assert_eq!(summary["tiles_scored"], 1);
    assert_eq!(summary["tiles_explained"], 0);
    check_geojson(&out.join("qupath.geojson"), 320.0, 256.0);
}

#[test]
fn the_svs_end_to_end_and_bad_requests() {
    let svs = multiscale_lime_testkit::test_slide();
    let out = scratch("svs");
    let run = |extra: &[&str]| slide_command(&svs, &out, extra).output().unwrap();
    let ok = run(&["--mpp", "1", "--explain", "top:1", "--no-metrics"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let summary = json(&out.join("slide.json"));
    assert_eq!(summary["format"], "aperio");
    assert_eq!(summary["mpp"], serde_json::json!([0.499, 0.499]));
    check_geojson(&out.join("qupath.geojson"), 2220.0, 2967.0);
    // Bad requests: each a clear error before any work.
    for (extra, says) in [
        (&["--explain", "most"][..], "expected top:K"),
        (&["--mpp", "0.1"][..], "no finer than the slide"),
        (&["--min-tissue", "2"][..], "min_tissue"),
    ] {
        let bad = run(extra);
        assert!(!bad.status.success());
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
    }
    let missing = slide_command(Path::new("no/such.svs"), &out, &[])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && err.contains("no/such.svs") && err.contains("cannot open"),
        "{err}"
    );
}

/// `mslime slide` on the generated pyramid into `out`, with `extra` flags;
/// returns its standard output.
fn slide_run(out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["--downsample", "2", "--no-metrics"];
    if !extra.contains(&"--explain") {
        args.extend_from_slice(&["--explain", "top:3"]);
    }
    args.extend_from_slice(extra);
    succeeded(&mut slide_command(&pyramid(), out, &args))
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn shards_merge_and_reruns_resume_into_the_same_outputs() {
    let whole = scratch("whole");
    let first = slide_run(&whole, &[]);
    let scored = json(&whole.join("slide.json"))["tiles_scored"]
        .as_u64()
        .unwrap();
    assert!(
        first.contains(&format!(
            "{scored} tiles scored (0 reused), 3 explained (0 reused)"
        )),
        "{first}"
    );
    // Two shards, then a run without --shard over their folder: it scores
    // and explains nothing and writes what one run writes.
    let sharded = scratch("sharded");
    for shard in ["0/2", "1/2"] {
        let said = slide_run(&sharded, &["--shard", shard]);
        assert!(said.contains("to merge the shards"), "{said}");
    }
    assert!(
        !sharded.join("slide.json").exists(),
        "a shard writes no slide outputs"
    );
    let merged = slide_run(&sharded, &[]);
    assert!(
        merged.contains(&format!(
            "{scored} tiles scored ({scored} reused), 3 explained (3 reused)"
        )),
        "{merged}"
    );
    // The shards' own top tiles beyond the slide's are gone: the report
    // shows the tiles the maps are made of.
    assert_eq!(std::fs::read_dir(sharded.join("tiles")).unwrap().count(), 3);
    for file in [
        "relevance.npy",
        "uncertainty.npy",
        "prediction.npy",
        "qupath.geojson",
    ] {
        assert_eq!(
            bytes(&whole.join(file)),
            bytes(&sharded.join(file)),
            "{file}"
        );
    }
    // A rerun does nothing again.
    let again = slide_run(&whole, &[]);
    assert!(
        again.contains(&format!("({scored} reused), 3 explained (3 reused)")),
        "{again}"
    );
    // A run killed while scoring (two tiles recorded, the third cut
    // mid-line) and while explaining (one tile's folder lost).
    let scores = whole.join("scores/0-of-1.jsonl");
    let text = std::fs::read_to_string(&scores).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!(
        "{}\n{}\n{}\n{}",
        lines[0],
        lines[1],
        lines[2],
        &lines[3][..10]
    );
    std::fs::write(&scores, cut).unwrap();
    let tile = std::fs::read_dir(whole.join("tiles"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_dir_all(&tile).unwrap();
    let resumed = slide_run(&whole, &[]);
    assert!(
        resumed.contains(&format!(
            "{scored} tiles scored (2 reused), 3 explained (2 reused)"
        )),
        "{resumed}"
    );
    assert_eq!(
        bytes(&whole.join("relevance.npy")),
        bytes(&sharded.join("relevance.npy"))
    );
    // Other explainer settings: the scores still hold, the tiles are redone.
    let reseeded = slide_run(&whole, &["--seed", "7"]);
    assert!(
        reseeded.contains(&format!("({scored} reused), 3 explained (0 reused)")),
        "{reseeded}"
    );
}

#[test]
fn a_tiles_report_command_reproduces_it_and_the_maps_open_in_tifffile() {
    let out = scratch("reproduce");
    slide_run(&out, &["--explain", "top:1"]);
    let tile = std::fs::read_dir(out.join("tiles"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let doc = json(&tile.join("explanation.json"));
    let image = PathBuf::from(doc["image"].as_str().unwrap());
    assert_eq!(image, tile.join("image.png"));
    assert!(doc["slide"]["name"]
        .as_str()
        .unwrap()
        .contains("pyramid_jpeg.tif@x"));
    assert_eq!(doc["slide"]["downsample"], 2.0);
    // `mslime explain` on the tile's image.png, with the defaults the
    // slide run used: the same heatmap, bit for bit.
    let again = scratch("reproduce-explain");
    let result = mslime(&[
        "explain",
        image.to_str().unwrap(),
        "--model",
        model().to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--no-metrics",
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(
        bytes(&tile.join("combined.npy")),
        bytes(&again.join("combined.npy"))
    );
    // The stitched maps as OME-TIFF: what relevance.npy and
    // uncertainty.npy hold, at the map's physical pixel size.
    let summary = json(&out.join("slide.json"));
    let check = r#"
import sys, numpy as np, tifffile, xml.etree.ElementTree as ET
out = sys.argv[1]
for name in ["relevance", "uncertainty"]:
    with tifffile.TiffFile(f"{out}/{name}.ome.tif") as tif:
        level0 = tif.series[0].levels[0].asarray()
        pixels = ET.fromstring(tif.ome_metadata).find(".//{*}Pixels")
        print(name, len(tif.series[0].levels), pixels.get("PhysicalSizeX"),
              int(np.array_equal(level0, np.load(f"{out}/{name}.npy"), equal_nan=True)))
"#;
    let said = Command::new(multiscale_lime_testkit::tifffile_python())
        .args(["-c", check])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        said.status.success(),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );
    let said = String::from_utf8_lossy(&said.stdout);
    let mpp = summary["map_pixel_size_um"][0].as_f64();
    for line in said.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[3], "1", "{line}: level 0 is not the .npy map");
        match mpp {
            Some(m) => assert_eq!(words[2].parse::<f64>().unwrap(), m, "{line}"),
            None => assert_eq!(words[2], "None", "{line}"),
        }
    }
    assert_eq!(said.lines().count(), 2);
}

#[test]
fn both_readers_score_the_svs_alike() {
    let svs = multiscale_lime_testkit::test_slide();
    let library = multiscale_lime_testkit::openslide_library();
    let run = |reader: &str| -> PathBuf {
        let out = scratch(&format!("reader-{reader}"));
        let extra = ["--mpp", "1", "--explain", "none", "--reader", reader];
        succeeded(slide_command(&svs, &out, &extra).env("OPENSLIDE_DYLIB_PATH", &library));
        out
    };
    let (tiff, openslide) = (run("tiff"), run("openslide"));
    assert_eq!(json(&tiff.join("slide.json"))["format"], "aperio");
    assert_eq!(json(&openslide.join("slide.json"))["format"], "aperio");
    let a: ndarray::Array2<f32> = read_npy(tiff.join("prediction.npy")).unwrap();
    let b: ndarray::Array2<f32> = read_npy(openslide.join("prediction.npy")).unwrap();
    assert_eq!(a.dim(), b.dim());
    let scored = a.iter().filter(|v| v.is_finite()).count();
    assert!(scored > 20, "{scored} tiles");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.is_nan(), y.is_nan());
        if x.is_finite() {
            // The JPEG decoders differ by at most one grey level.
            assert!((x - y).abs() < 0.01, "{x} vs {y}");
        }
    }
    let bad = slide_command(&svs, &tiff, &["--reader", "vips"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("openslide"));
}
