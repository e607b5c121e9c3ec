//! The `mslime` binary on the bundled sample: outputs exist and parse, a
//! killed batch resumes without redoing work, shards partition a folder,
//! bad files are reported without stopping the batch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ndarray::Array2;
use ndarray_npy::read_npy;

const BIN: &str = env!("CARGO_BIN_EXE_mslime");

/// The repository, where the bundled model and images are.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model() -> String {
    root()
        .join("assets/models/ihc_dab_cnn.onnx")
        .display()
        .to_string()
}

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with `args`, where ONNX Runtime is not found (so
/// `--backend auto` is tract) unless the arguments name it: every run of a
/// test sees the same environment, whatever the caller's.
fn mslime<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("ORT_DYLIB_PATH");
    command
}

/// [`mslime`] run to its end.
fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    mslime(args).output().expect("the binary runs")
}

/// One coarse level, few samples, no metrics: a fast batch.
const QUICK: [&str; 5] = [
    "--levels",
    "10",
    "--samples-per-segment",
    "2",
    "--no-metrics",
];

/// `mslime batch INPUT --model M --out OUT EXTRA...`.
fn batch_args(input: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    command_args("batch", input, out, extra)
}

/// `mslime COMMAND INPUT --model M --out OUT EXTRA...`.
fn command_args(command: &str, input: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        command.to_string(),
        input.display().to_string(),
        "--model".into(),
        model(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `explanation.json` of an output folder.
fn read_report(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("explanation.json")).unwrap()).unwrap()
}

/// The bundled patch and CNN (through tract) for the library's side of a
/// comparison with the command line.
fn library_inputs() -> (
    multiscale_lime::Image,
    multiscale_lime::onnx::OnnxClassifier,
) {
    let patch = root().join("assets/ihc_patch96.png");
    let image = multiscale_lime::Image::try_from(&image::open(&patch).unwrap().to_rgb8()).unwrap();
    let model = multiscale_lime::onnx::OnnxClassifier::builder(96, 96)
        .load_path(root().join("assets/models/ihc_dab_cnn.onnx"))
        .unwrap();
    (image, model)
}

/// `count` distinct 96×96 patches of the bundled IHC image, as PNG files.
fn patches(dir: &Path, count: usize) -> Vec<PathBuf> {
    let full = image::open(root().join("assets/ihc.png"))
        .unwrap()
        .to_rgb8();
    (0..count)
        .map(|i| {
            let (x, y) = ((i % 5) as u32 * 80, (i / 5) as u32 * 80);
            let path = dir.join(format!("patch_{i:02}.png"));
            image::imageops::crop_imm(&full, x, y, 96, 96)
                .to_image()
                .save(&path)
                .unwrap();
            path
        })
        .collect()
}

/// The `explained N, skipped M` figures of a batch summary.
fn summary(stdout: &str) -> (usize, usize, usize) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("explained "))
        .expect("a summary line");
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .map(|s| s.parse().unwrap())
        .collect();
    (numbers[0], numbers[1], numbers[2])
}

fn done_keys(out: &Path) -> BTreeSet<String> {
    std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("explanation.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporaries(&path));
        } else if path.to_string_lossy().ends_with(".mslime-tmp") {
            found.push(path);
        }
    }
    found
}

#[test]
fn explain_writes_outputs_that_parse() {
    let out = scratch("explain");
    let patch = root().join("assets/ihc_patch96.png");
    let args = [
        "explain",
        patch.to_str().unwrap(),
        "--model",
        &model(),
        "--levels",
        "10,25",
        "--samples-per-segment",
        "4",
        "--sampling",
        "balanced",
        "--fusion",
        "gaussian",
        "--class-names",
        "DAB-poor,DAB-rich",
        "--out",
        out.to_str().unwrap(),
    ];
    let result = run(&args);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(
        text(&result.stdout).contains("DAB-"),
        "{}",
        text(&result.stdout)
    );

    for png in [
        "level1_s10.png",
        "level2_s25.png",
        "combined.png",
        "overlay.png",
    ] {
        let img = image::open(out.join(png)).unwrap();
        assert_eq!((img.width(), img.height()), (96, 96), "{png}");
    }
    let panel = image::open(out.join("panel.png")).unwrap();
    assert!(panel.width() > 3 * 96 && panel.height() > 2 * 96);

    let report = read_report(&out);
    let levels = report["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0]["desired"], 10);
    let weights: Vec<f64> = report["combined"]["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // Centred on the finest level by default: exp(−2) against 1.
    assert!(
        (weights[0] / weights[1] - (-2.0f64).exp()).abs() < 1e-9,
        "{weights:?}"
    );
    assert_eq!(report["combined"]["fusion"], "gaussian:1,0.5");
    assert_eq!(report["parameters"]["settings"]["fusion"], "gaussian:1,0.5");
    assert_eq!(report["parameters"]["settings"]["sampling"], "balanced");
    // Each superpixel's coefficient, its standard error and a 90 % interval
    // around it.
    for level in levels {
        let actual = level["actual"].as_u64().unwrap() as usize;
        let coefficients = level["coefficients"].as_array().unwrap();
        let errors = level["std_errors"].as_array().unwrap();
        let intervals = level["interval90"].as_array().unwrap();
        assert_eq!(
            (coefficients.len(), errors.len(), intervals.len()),
            (actual, actual, actual)
        );
        for ((b, se), iv) in coefficients.iter().zip(errors).zip(intervals) {
            let (b, se) = (b.as_f64().unwrap(), se.as_f64().unwrap());
            let (lo, hi) = (iv[0].as_f64().unwrap(), iv[1].as_f64().unwrap());
            assert!(se >= 0.0 && lo <= b && b <= hi);
            assert!((hi - b - 1.6448536269514722 * se).abs() < 1e-6 * (1.0 + se));
        }
    }
    let probabilities: Vec<f64> = report["prediction"]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    // The explanation's own time is part of the whole, with the model's
    // loading and the metrics beside it.
    let part = |k: &str| report["timings_ms"][k].as_f64().unwrap();
    let whole = report["elapsed_ms"].as_f64().unwrap();
    assert_eq!(part("explanation"), report["explain_ms"].as_f64().unwrap());
    assert!(part("model_load") + part("explanation") + part("metrics") <= whole);
    let deletion = report["metrics"]["deletion_auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&deletion));
    assert!(report["metrics"]["explanation_accuracy"]["label_holds"].is_boolean());

    let combined: Array2<f32> = read_npy(out.join("combined.npy")).unwrap();
    assert_eq!(combined.dim(), (96, 96));
    assert!(combined.iter().all(|v| (0.0..=1.0).contains(v)));
    // The .npy levels fuse into the .npy combined map with the reported weights.
    let l1: Array2<f32> = read_npy(out.join("level1_s10.npy")).unwrap();
    let l2: Array2<f32> = read_npy(out.join("level2_s25.npy")).unwrap();
    let fused = &l1 * weights[0] as f32 + &l2 * weights[1] as f32;
    assert!(fused
        .iter()
        .zip(&combined)
        .all(|(a, b)| (a - b).abs() < 1e-5));
    assert!(temporaries(&out).is_empty());
}

#[test]
fn segment_matches_scikit_image() {
    let out = scratch("segment");
    let labels_path = out.join("labels.npy");
    let patch = root().join("assets/ihc_patch96.png");
    let result = run(&[
        "segment",
        patch.to_str().unwrap(),
        "--n",
        "25",
        "--compactness",
        "5",
        "--out",
        labels_path.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(
        text(&result.stdout).contains("11 superpixels"),
        "{}",
        text(&result.stdout)
    );
    let ours: Array2<i64> = read_npy(&labels_path).unwrap();
    let skimage: Array2<i32> =
        read_npy(root().join("tests/data/slic_ihc_patch96_n25_c5_s0.npy")).unwrap();
    assert_eq!(ours, skimage.mapv(i64::from));
}

#[test]
fn killed_batch_resumes_without_redoing_work() {
    let dir = scratch("resume");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 10);
    let args = batch_args(
        &input,
        &out,
        &["--levels", "10,25,50", "--no-metrics", "--jobs", "1"],
    );
    let mut child = mslime(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while out.read_dir().map_or(true, |_| done_keys(&out).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "no image finished in two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the batch ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let before = done_keys(&out);
    assert!(
        !before.is_empty() && before.len() < 10,
        "killed after {} of 10",
        before.len()
    );
    let stamps: Vec<SystemTime> = before
        .iter()
        .map(|k| {
            out.join(k)
                .join("explanation.json")
                .metadata()
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    let result = run(&args);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let (explained, skipped, failed) = summary(&text(&result.stdout));
    assert_eq!((explained + skipped, failed), (10, 0));
    assert_eq!(skipped, before.len(), "every finished image is skipped");
    assert_eq!(done_keys(&out).len(), 10);
    for (k, stamp) in before.iter().zip(&stamps) {
        let now = out
            .join(k)
            .join("explanation.json")
            .metadata()
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(&now, stamp, "{k} was redone");
    }
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));

    // A third run has nothing left to do.
    let again = run(&args);
    assert_eq!(summary(&text(&again.stdout)), (0, 10, 0));
}

#[test]
fn shards_partition_a_folder() {
    let dir = scratch("shards");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 7);
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for shard in ["0/3", "1/3", "2/3"] {
        let result = run(&batch_args(
            &input,
            &out,
            &[&QUICK[..], &["--shard", shard]].concat(),
        ));
        assert!(result.status.success(), "{}", text(&result.stderr));
        let (explained, skipped, _) = summary(&text(&result.stdout));
        assert_eq!(skipped, 0, "shard {shard} overlaps an earlier one");
        let now = done_keys(&out);
        let new: BTreeSet<String> = now.difference(&seen).cloned().collect();
        assert_eq!(new.len(), explained, "shard {shard}");
        total += explained;
        seen = now;
    }
    assert_eq!(total, 7);
    let expected: BTreeSet<String> = (0..7).map(|i| format!("patch_{i:02}")).collect();
    assert_eq!(seen, expected);

    let bad = run(&batch_args(&input, Path::new("x"), &["--shard", "3/3"]));
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("shard"), "{}", text(&bad.stderr));
}

#[test]
fn bad_files_are_reported_and_the_batch_goes_on() {
    let dir = scratch("bad");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 2);
    std::fs::write(input.join("broken.png"), b"not a png at all").unwrap();
    std::fs::write(input.join("notes.txt"), b"slide 12, stain batch B").unwrap();
    let whole = std::fs::read(input.join("patch_00.png")).unwrap();
    std::fs::write(input.join("truncated.png"), &whole[..whole.len() / 3]).unwrap();
    let result = run(&batch_args(&input, &out, &QUICK));
    assert!(!result.status.success(), "failures give a non-zero exit");
    let (stdout, stderr) = (text(&result.stdout), text(&result.stderr));
    assert_eq!(summary(&stdout), (2, 0, 2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("broken.png") && stderr.contains("not a readable image"),
        "{stderr}"
    );
    assert!(stderr.contains("truncated.png"), "{stderr}");
    assert!(stderr.contains("ignoring 1 file"), "{stderr}");
    assert_eq!(done_keys(&out).len(), 2);

    // A manifest naming a missing file: reported, the rest explained.
    let manifest = dir.join("list.txt");
    std::fs::write(&manifest, "in/patch_00.png\n# a comment\nin/missing.png\n").unwrap();
    let out2 = dir.join("out2");
    let result = run(&batch_args(&manifest, &out2, &QUICK));
    assert!(!result.status.success());
    assert_eq!(summary(&text(&result.stdout)), (1, 0, 1));
    assert!(text(&result.stderr).contains("missing.png"));
    assert!(out2.join("in/patch_00/explanation.json").is_file());

    let missing_model = run(&[
        "explain",
        "nothing.png",
        "--model",
        "no/such/model.onnx",
        "--out",
        "x",
    ]);
    assert!(!missing_model.status.success());
    assert!(text(&missing_model.stderr).contains("cannot read the model"));
}

#[test]
fn oversized_images_and_thread_counts_are_refused_up_front() {
    let dir = scratch("oversized");
    // A small file (under 1 MiB) that declares 4097×4096 pixels, one more row than the
    // default --max-pixels (4096²) allows.
    let big = dir.join("big.png");
    image::GrayImage::new(4097, 4096).save(&big).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() < 1 << 20);
    let start = Instant::now();
    let output = run(&command_args("explain", &big, &dir.join("out"), &QUICK));
    let elapsed = start.elapsed();
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("4097×4096") && stderr.contains("--max-pixels"),
        "{stderr}"
    );
    // Refused from the header, not after decoding and segmenting.
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // The bound is inclusive and can be raised: a 200×100 image against
    // 19,999 and 20,000 pixels.
    let small = dir.join("small.png");
    image::RgbImage::from_pixel(200, 100, image::Rgb([200, 150, 120]))
        .save(&small)
        .unwrap();
    let with_limit = |limit: &str| {
        let out = dir.join(format!("small-{limit}"));
        let extra = [&QUICK[..], &["--max-pixels", limit]].concat();
        run(&command_args("explain", &small, &out, &extra))
    };
    let refused = with_limit("19999");
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("200×100 = 20000 pixels"),
        "{}",
        text(&refused.stderr)
    );
    // Within the limit, the image reaches the model, which declares 96×96
    // inputs: a clear error instead of a 96×96 CNN run on 200×100 images.
    let admitted = with_limit("20000");
    assert!(!admitted.status.success());
    let stderr = text(&admitted.stderr);
    assert!(
        stderr.contains("cannot take 100×200 images") && !stderr.contains("--max-pixels"),
        "{stderr}"
    );

    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 1);
    let output = run(&batch_args(
        &input,
        &dir.join("batch"),
        &["--jobs", "100000"],
    ));
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--jobs 100000"), "{stderr}");
}

#[test]
fn backends_agree_and_are_reported() {
    let dir = scratch("backends");
    let patch = root().join("assets/ihc_patch96.png");
    let library = multiscale_lime_testkit::onnxruntime_library();
    let library = library.to_str().unwrap();
    let explain = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let result = run(&command_args(
            "explain",
            &patch,
            &out,
            &[&QUICK[..], extra].concat(),
        ));
        (out, result)
    };
    let (ort_out, ort) = explain("ort", &["--backend", "ort", "--ort-library", library]);
    assert!(ort.status.success(), "{}", text(&ort.stderr));
    let (tract_out, tract) = explain("tract", &["--backend", "tract"]);
    assert!(tract.status.success(), "{}", text(&tract.stderr));
    assert!(text(&tract.stderr).is_empty(), "{}", text(&tract.stderr));
    assert_eq!(read_report(&ort_out)["backend"]["runtime"], "onnxruntime");
    assert_eq!(
        read_report(&ort_out)["backend"]["execution_provider"],
        "CPUExecutionProvider"
    );
    assert_eq!(read_report(&tract_out)["backend"]["runtime"], "tract");
    // The runtimes' scores differ in the last bits only.
    let a: Array2<f32> = read_npy(ort_out.join("combined.npy")).unwrap();
    let b: Array2<f32> = read_npy(tract_out.join("combined.npy")).unwrap();
    let most = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(most < 1e-3, "largest difference {most}");

    // auto: ONNX Runtime when it opens, else tract with a one-line hint.
    let (auto_out, auto) = explain("auto", &[]);
    assert!(auto.status.success(), "{}", text(&auto.stderr));
    assert_eq!(read_report(&auto_out)["backend"]["runtime"], "tract");
    let hint = text(&auto.stderr);
    assert!(
        hint.contains("using tract") && hint.contains("ORT_DYLIB_PATH"),
        "{hint}"
    );
    assert_eq!(hint.lines().count(), 1, "{hint}");
    let (auto_out, auto) = explain("auto-ort", &["--ort-library", library]);
    assert!(auto.status.success(), "{}", text(&auto.stderr));
    assert_eq!(read_report(&auto_out)["backend"]["runtime"], "onnxruntime");

    // Clear errors: a missing or too old library when ort is asked for, a
    // GPU the wheel lacks, a provider without ONNX Runtime, a bad provider.
    let old = std::process::Command::new("python3")
        .arg(root().join("tools/fetch_onnxruntime.py"))
        .args(["--version", "1.20.1", "--dest"])
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnxruntime-1.20.1"))
        .output()
        .unwrap();
    assert!(old.status.success(), "{}", text(&old.stderr));
    let old = text(&old.stdout);
    for (extra, expected) in [
        (
            &["--backend", "ort", "--ort-library", old.trim()][..],
            "1.20.1",
        ),
        (
            &[
                "--backend",
                "ort",
                "--ort-library",
                "/nonexistent/libonnxruntime.so",
            ][..],
            "/nonexistent/libonnxruntime.so",
        ),
        (
            &[
                "--backend",
                "ort",
                "--ort-library",
                library,
                "--execution-provider",
                "cuda:0",
            ][..],
            "CUDAExecutionProvider",
        ),
        (
            &["--backend", "tract", "--execution-provider", "cuda"][..],
            "needs ONNX Runtime",
        ),
        (&["--execution-provider", "gpu"][..], "`gpu` is not cpu"),
        (
            &["--backend", "tract", "--model-batch", "0"][..],
            "batch_size",
        ),
    ] {
        let (out, result) = explain("error", extra);
        assert!(!result.status.success(), "{extra:?}");
        let stderr = text(&result.stderr);
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!out.join("explanation.json").exists());
    }
}

#[test]
fn resume_redoes_work_done_with_other_settings_and_leaves_no_stale_files() {
    let dir = scratch("stale");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 2);
    let first = batch_args(&input, &out, &["--levels", "10,25", "--no-metrics"]);
    assert_eq!(summary(&text(&run(&first).stdout)), (2, 0, 0));
    assert!(out.join("patch_00/level2_s25.npy").is_file());
    // Another seed, other levels: both images are redone, and the level
    // files of the first run are gone.
    let second = batch_args(
        &input,
        &out,
        &["--levels", "10", "--seed", "9", "--no-metrics"],
    );
    let result = run(&second);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(text(&result.stderr).contains("2 explained before with another model or settings"));
    assert_eq!(summary(&text(&result.stdout)), (2, 0, 0));
    assert!(out.join("patch_00/level1_s10.npy").is_file());
    assert!(!out.join("patch_00/level2_s25.npy").exists());
    assert!(!out.join("patch_00/level2_s25.png").exists());
    // Same settings again: nothing to do. Another model (the same network
    // with one byte of its metadata changed): redone.
    assert_eq!(summary(&text(&run(&second).stdout)), (0, 2, 0));
    let mut bytes = std::fs::read(model()).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"pytorch")
        .expect("producer name");
    bytes[at] = b'P';
    let other = dir.join("other.onnx");
    std::fs::write(&other, bytes).unwrap();
    let mut third = second.clone();
    let m = third.iter().position(|a| a == "--model").unwrap();
    third[m + 1] = other.display().to_string();
    let result = run(&third);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_eq!(summary(&text(&result.stdout)), (2, 0, 0));
}

#[test]
fn outputs_are_checked_before_any_work() {
    let dir = scratch("outputs");
    let patch = root().join("assets/ihc_patch96.png");
    // `--out` naming a file: refused at once, naming the path.
    let file = dir.join("taken");
    std::fs::write(&file, b"keep me").unwrap();
    let result = run(&command_args("explain", &patch, &file, &QUICK));
    assert!(!result.status.success());
    let stderr = text(&result.stderr);
    assert!(
        stderr.contains("taken") && stderr.contains("not a folder"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    // A symbolic link where an output goes is refused, not replaced.
    #[cfg(unix)]
    {
        let out = dir.join("linked");
        std::fs::create_dir_all(&out).unwrap();
        let target = dir.join("elsewhere.png");
        std::fs::write(&target, b"not yours").unwrap();
        std::os::unix::fs::symlink(&target, out.join("combined.png")).unwrap();
        let result = run(&command_args("explain", &patch, &out, &QUICK));
        assert!(!result.status.success());
        let stderr = text(&result.stderr);
        assert!(
            stderr.contains("combined.png") && stderr.contains("not a regular file"),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
        let segment = run(&[
            "segment",
            patch.to_str().unwrap(),
            "--n",
            "10",
            "--out",
            out.join("combined.png").to_str().unwrap(),
        ]);
        assert!(!segment.status.success());
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
    }
    // A file that is not ONNX fails once, before any image.
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 3);
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"definitely not protobuf").unwrap();
    let mut args = batch_args(&input, &dir.join("batch"), &QUICK);
    let m = args.iter().position(|a| a == "--model").unwrap();
    args[m + 1] = junk.display().to_string();
    let result = run(&args);
    assert!(!result.status.success());
    let stderr = text(&result.stderr);
    assert!(
        stderr.contains("junk.onnx is not an ONNX model"),
        "{stderr}"
    );
    assert!(!stderr.contains("patch_0"), "{stderr}");
}

#[test]
fn a_live_run_keeps_its_temporary_files() {
    // Another process's temporary file survives a sweep while that process
    // lives; a dead process's is removed.
    let dir = scratch("temps");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut live = Command::new("sleep").arg("30").spawn().unwrap();
    let theirs = out.join(format!(".combined.png.{}.mslime-tmp", live.id()));
    let dead = out.join(".overlay.png.4294967294.mslime-tmp");
    std::fs::write(&theirs, b"in progress").unwrap();
    std::fs::write(&dead, b"left by a kill").unwrap();
    let patch = root().join("assets/ihc_patch96.png");
    let result = run(&command_args("explain", &patch, &out, &QUICK));
    assert!(result.status.success(), "{}", text(&result.stderr));
    if Path::new("/proc/self").exists() {
        assert!(theirs.exists(), "a live run's temporary file was swept");
        assert!(!dead.exists(), "a dead run's temporary file was left");
    }
    live.kill().unwrap();
    live.wait().unwrap();
}

#[test]
fn transparent_pixels_are_noted_or_composited() {
    let dir = scratch("alpha");
    let patch = image::open(root().join("assets/ihc_patch96.png"))
        .unwrap()
        .to_rgba8();
    let mut clear = patch.clone();
    for (x, _, p) in clear.enumerate_pixels_mut() {
        if x < 48 {
            p[3] = 0;
        }
    }
    let opaque_path = dir.join("opaque.png");
    let clear_path = dir.join("clear.png");
    patch.save(&opaque_path).unwrap();
    clear.save(&clear_path).unwrap();
    let explain = |input: &Path, name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let result = run(&command_args(
            "explain",
            input,
            &out,
            &[&QUICK[..], extra].concat(),
        ));
        assert!(result.status.success(), "{}", text(&result.stderr));
        let p = read_report(&out);
        (
            text(&result.stderr),
            p["prediction"]["probabilities"].clone(),
        )
    };
    let (rgb_note, rgb) = explain(&root().join("assets/ihc_patch96.png"), "rgb", &[]);
    let (opaque_note, opaque) = explain(&opaque_path, "opaque", &[]);
    // An opaque RGBA file reads as its RGB self, without a note.
    assert_eq!(opaque, rgb);
    assert!(!opaque_note.contains("alpha") && !rgb_note.contains("alpha"));
    let (note, ignored) = explain(&clear_path, "ignored", &[]);
    assert!(
        note.contains("transparent pixels") && note.contains("--transparency"),
        "{note}"
    );
    assert_eq!(ignored, rgb, "ignoring alpha keeps the stored colours");
    let (_, white) = explain(&clear_path, "white", &["--transparency", "white"]);
    let (_, black) = explain(&clear_path, "black", &["--transparency", "black"]);
    assert_ne!(white, rgb);
    assert_ne!(white, black);
}

#[test]
fn a_multi_page_tiff_is_noted() {
    use tiff::encoder::{colortype::RGB8, TiffEncoder};
    let dir = scratch("tiff");
    let patch = image::open(root().join("assets/ihc_patch96.png"))
        .unwrap()
        .to_rgb8();
    let write = |name: &str, pages: usize| {
        let path = dir.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let mut encoder = TiffEncoder::new(&mut file).unwrap();
        for _ in 0..pages {
            encoder.write_image::<RGB8>(96, 96, patch.as_raw()).unwrap();
        }
        path
    };
    let one = write("one.tif", 1);
    let two = write("two.tif", 2);
    let single = run(&command_args("explain", &one, &dir.join("one"), &QUICK));
    assert!(single.status.success(), "{}", text(&single.stderr));
    assert!(!text(&single.stderr).contains("page"));
    let double = run(&command_args("explain", &two, &dir.join("two"), &QUICK));
    assert!(double.status.success(), "{}", text(&double.stderr));
    assert!(text(&double.stderr).contains("more than one page; the first is explained"));
}

/// The `W left to another run` figure of a batch summary (0 without one).
fn left_to_others(stdout: &str) -> usize {
    stdout
        .lines()
        .find(|l| l.starts_with("explained "))
        .and_then(|l| l.split(", ").find(|p| p.contains(" left to another run")))
        .and_then(|p| p.split(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn concurrent_batches_share_the_work() {
    let dir = scratch("claims");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    patches(&input, 6);

    // Two runs at once over one folder: each image is explained once.
    let out = dir.join("together");
    let args = batch_args(
        &input,
        &out,
        &["--levels", "10,25", "--no-metrics", "--jobs", "1"],
    );
    let children: Vec<_> = (0..2)
        .map(|_| {
            mslime(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut explained = 0;
    for child in children {
        let result = child.wait_with_output().unwrap();
        let (stdout, stderr) = (text(&result.stdout), text(&result.stderr));
        assert!(result.status.success(), "{stderr}");
        let (mine, skipped, failed) = summary(&stdout);
        assert_eq!(failed, 0, "{stderr}");
        assert_eq!(mine + skipped + left_to_others(&stdout), 6, "{stdout}");
        explained += mine;
    }
    assert_eq!(explained, 6, "an image was explained twice or not at all");
    assert_eq!(done_keys(&out).len(), 6);
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    assert!(
        !out.join("patch_00/.mslime-claim").exists(),
        "a claim outlived its run"
    );

    // A claim held by a live process on this host leaves that image to it;
    // once the process has gone, the claim is taken over.
    let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") else {
        return;
    };
    let out = dir.join("held");
    let held = out.join("patch_03");
    std::fs::create_dir_all(&held).unwrap();
    let mut live = Command::new("sleep").arg("60").spawn().unwrap();
    let claim = held.join(".mslime-claim");
    std::fs::write(&claim, format!("{} {}", live.id(), host.trim())).unwrap();
    let first = run(&batch_args(&input, &out, &QUICK));
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "{stderr}");
    assert_eq!(summary(&stdout), (5, 0, 0), "{stdout}");
    assert_eq!(left_to_others(&stdout), 1, "{stdout}");
    assert!(stderr.contains("patch_03"), "{stderr}");
    assert!(!held.join("explanation.json").exists());
    assert!(claim.exists(), "another run's claim was removed");
    live.kill().unwrap();
    live.wait().unwrap();
    let second = run(&batch_args(&input, &out, &QUICK));
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(summary(&text(&second.stdout)), (1, 5, 0));
    assert!(held.join("explanation.json").is_file());
    assert!(!claim.exists());
}

#[test]
fn adaptive_sampling_is_reported_and_checked() {
    let dir = scratch("adaptive");
    let patch = root().join("assets/ihc_patch96.png");
    let explain = |name: &str, extra: &[&str]| {
        let base = [
            "--levels",
            "10,25",
            "--samples-per-segment",
            "10",
            "--no-metrics",
        ];
        run(&command_args(
            "explain",
            &patch,
            &dir.join(name),
            &[&base[..], extra].concat(),
        ))
    };
    let output = explain("stability", &["--schedule", "until-stability:0.5"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = read_report(&dir.join("stability"));
    assert_eq!(
        report["parameters"]["settings"]["schedule"],
        "until-stability:0.5,start=2,step=1"
    );
    // Rounds of whole samples per superpixel, within the budget of 10.
    for level in report["levels"].as_array().unwrap() {
        let (calls, actual) = (
            level["calls"].as_u64().unwrap(),
            level["actual"].as_u64().unwrap(),
        );
        assert!(calls % actual == 0 && (2..=10).contains(&(calls / actual)));
    }

    let plain = explain("plain", &[]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let plain = read_report(&dir.join("plain"));
    assert_eq!(plain["parameters"]["settings"]["schedule"], "per-level");

    for (extra, needle) in [
        (&["--schedule", "until-stability:1.5"][..], "1.5"),
        (&["--schedule", "until-top-k:0"][..], "adaptive top k"),
        (&["--schedule", "adaptive"][..], "--schedule"),
    ] {
        let output = explain("bad", extra);
        assert!(!output.status.success(), "{extra:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
}

#[test]
fn log_odds_response_is_reported() {
    let dir = scratch("response");
    let patch = root().join("assets/ihc_patch96.png");
    let explain = |name: &str, extra: &[&str]| {
        let base = [
            "--levels",
            "10",
            "--samples-per-segment",
            "3",
            "--no-metrics",
        ];
        let output = run(&command_args(
            "explain",
            &patch,
            &dir.join(name),
            &[&base[..], extra].concat(),
        ));
        assert!(output.status.success(), "{}", text(&output.stderr));
        read_report(&dir.join(name))
    };
    let score = explain("score", &["--response", "score"]);
    let log_odds = explain("log-odds", &["--response", "log-odds"]);
    assert_eq!(score["parameters"]["response"], "score");
    assert_eq!(log_odds["parameters"]["response"], "log-odds");
    // By default, `auto`: the bundled CNN scores probabilities, so log-odds.
    let auto = explain("auto", &[]);
    assert_eq!(auto["parameters"]["settings"]["response"], "auto");
    assert_eq!(auto["parameters"]["response"], "log-odds");
    assert_eq!(
        auto["levels"][0]["coefficients"],
        log_odds["levels"][0]["coefficients"]
    );
    // Each flag reaches the library: the coefficients are, bit for bit,
    // those of the library's explainer with that response.
    use multiscale_lime::{MultiScaleLime, Response, Target};
    let (image, model) = library_inputs();
    let coefficients = |r: &serde_json::Value| -> Vec<f64> {
        let values = r["levels"][0]["coefficients"].as_array().unwrap();
        values.iter().map(|v| v.as_f64().unwrap()).collect()
    };
    for (report, response) in [(&score, Response::Score), (&log_odds, Response::LogOdds)] {
        let library = MultiScaleLime::builder()
            .levels([10])
            .samples_per_segment(3)
            .response(response)
            .build()
            .unwrap()
            .explain(&image, &model, Target::Predicted)
            .unwrap();
        let level = &library.stacks()[0].levels()[0];
        assert_eq!(
            coefficients(report),
            level.coefficients.to_vec(),
            "{response}"
        );
    }
    // Same masks (same seed), another regression target: the log-odds
    // stretch scores near 0 or 1, so the two fits differ.
    assert_ne!(coefficients(&score), coefficients(&log_odds));

    let output = run(&command_args(
        "explain",
        &patch,
        &dir.join("bad"),
        &["--response", "logit"],
    ));
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("logit"),
        "{}",
        text(&output.stderr)
    );
}

/// `[default: X]` of flag `--name` in a help text, if it shows one.
fn shown_default(help: &str, name: &str) -> Option<String> {
    shown(help, name, "default")
}

/// `[KEY: X]` of flag `--name` in a help text, if it shows one.
fn shown(help: &str, name: &str, key: &str) -> Option<String> {
    let flag = format!("--{name} ");
    let at = help.find(&flag)?;
    // The flag's own paragraph: up to the next line that starts a flag.
    let rest = &help[at + flag.len()..];
    let paragraph = rest
        .lines()
        .enumerate()
        .take_while(|(i, line)| *i == 0 || !line.trim_start().starts_with('-'))
        .map(|(_, line)| line)
        .collect::<Vec<_>>()
        .join(" ");
    let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let label = format!("[{key}: ");
    let start = paragraph.find(&label)? + label.len();
    let len = paragraph[start..].find(']')?;
    Some(paragraph[start..start + len].to_string())
}

#[test]
fn help_shows_the_library_defaults_and_choices() {
    use multiscale_lime::{Config, Preset};
    for command in ["explain", "batch"] {
        let output = run(&[command, "--help"]);
        assert!(output.status.success());
        let help = text(&output.stdout);
        let defaults = Config::default();
        for setting in Config::SETTINGS {
            assert!(
                help.contains(&format!("--{} ", setting.name)),
                "{}",
                setting.name
            );
            assert_eq!(
                shown_default(&help, setting.name),
                defaults.get(setting.name),
                "--{} in `mslime {command} --help`",
                setting.name
            );
            assert_eq!(
                shown(&help, setting.name, "choices").as_deref(),
                (!setting.choices.is_empty())
                    .then(|| setting.choices.join(", "))
                    .as_deref(),
                "--{} choices",
                setting.name
            );
        }
        assert_eq!(
            shown_default(&help, "preset").as_deref(),
            Some(Preset::default().name())
        );
        for preset in Preset::ALL {
            assert!(help.contains(preset.name()));
        }
    }
}

#[test]
fn with_nothing_set_the_command_line_explains_as_the_library() {
    // And with a preset or a fusion rule named: the same bits.
    use multiscale_lime::{Fusion, MultiScaleLime, Preset, Target};
    let dir = scratch("defaults");
    let patch = root().join("assets/ihc_patch96.png");
    let (image, model) = library_inputs();
    for (name, extra, builder) in [
        ("recommended", &[][..], MultiScaleLime::builder()),
        (
            "paper",
            &["--preset", "paper"][..],
            MultiScaleLime::preset(Preset::Paper),
        ),
        (
            "feathered",
            &["--fusion", "feathered:0.5"][..],
            MultiScaleLime::builder().fusion(Fusion::Feathered { width: 0.5 }),
        ),
    ] {
        let out = dir.join(name);
        let base = ["--backend", "tract", "--no-metrics"];
        let result = run(&command_args(
            "explain",
            &patch,
            &out,
            &[&base[..], extra].concat(),
        ));
        assert!(result.status.success(), "{}", text(&result.stderr));
        let cli: Array2<f32> = read_npy(out.join("combined.npy")).unwrap();
        let library = builder
            .build()
            .unwrap()
            .explain(&image, &model, Target::Predicted)
            .unwrap();
        let lib = library.fused().heatmap.values();
        assert!(
            cli.iter().zip(lib).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: the command line's map differs from the library's"
        );
    }
}
