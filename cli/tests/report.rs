//! The HTML report, opened in headless Chromium (Debian's, installed by
//! `tools/install_chromium.sh` on first use; driven by `tools/browser.py`
//! over the DevTools protocol): no script errors or failed loads, a card
//! per explained image and a line per failure, a click or a URL fragment
//! opens an image's panel, the superpixel under the pointer is the
//! explainer's, filters and sorting agree with the explanations, and
//! screenshots are not blank.

use std::path::{Path, PathBuf};
use std::process::Command;

use multiscale_lime::{Image, Segmenter, Slic};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mslime");

/// The repository, where the bundled model and images are.
fn root() -> PathBuf {
    multiscale_lime_testkit::repo_root()
}

fn model() -> String {
    root()
        .join("assets/models/ihc_dab_cnn.onnx")
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `mslime ARGS` (tract, whatever the caller's environment) and
/// returns its stdout; panics with its stderr on failure unless `may_fail`.
fn mslime(args: &[&str], may_fail: bool) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("ORT_DYLIB_PATH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || may_fail,
        "mslime {args:?}: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `count` distinct 96×96 patches of the bundled IHC image, plus a file
/// that is not an image.
fn inputs(dir: &Path, count: usize) {
    let full = image::open(root().join("assets/ihc.png"))
        .unwrap()
        .to_rgb8();
    for i in 0..count {
        let (x, y) = ((i % 4) as u32 * 100, (i / 4) as u32 * 100);
        image::imageops::crop_imm(&full, x, y, 96, 96)
            .to_image()
            .save(dir.join(format!("patch_{i:02}.png")))
            .unwrap();
    }
    std::fs::write(dir.join("broken.png"), b"not a png").unwrap();
}

/// What the browser saw: `tools/browser.py PAGE --eval JS...`.
struct Visit {
    errors: Vec<String>,
    evals: Vec<Value>,
}

fn visit(page: &str, evals: &[&str], screenshot: Option<&Path>) -> Visit {
    let mut command = Command::new("python3");
    command.arg(root().join("tools/browser.py")).arg(page);
    for e in evals {
        command.arg("--eval").arg(e);
    }
    if let Some(path) = screenshot {
        command.arg("--screenshot").arg(path);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "browser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    Visit {
        errors: list("errors")
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_string())
            .collect(),
        evals: list("evals"),
    }
}

/// A screenshot shows something: many colours, not one background.
fn assert_not_blank(path: &Path) {
    let shot = image::open(path).unwrap().to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = shot.pixels().map(|p| p.0).collect();
    assert!(shot.width() >= 800 && shot.height() >= 600);
    assert!(colours.len() > 200, "{} colours only", colours.len());
}

/// JavaScript that waits until `condition` holds (polling), then returns
/// `value`; `null` after 10 s.
fn after(condition: &str, value: &str) -> String {
    format!(
        "(async () => {{ for (let i = 0; i < 200; i++) {{ if ({condition}) return {value}; \
         await new Promise(r => setTimeout(r, 50)); }} return null; }})()"
    )
}

fn explanation(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("explanation.json")).unwrap()).unwrap()
}

#[test]
fn batch_report_shows_every_image_and_failure() {
    let dir = scratch("batch");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    inputs(&input, 6);
    let stdout = mslime(
        &[
            "batch",
            input.to_str().unwrap(),
            "--model",
            &model(),
            "--out",
            out.to_str().unwrap(),
            "--class-names",
            "DAB-poor,DAB-rich",
        ],
        true,
    );
    assert!(stdout.contains("failed 1"), "{stdout}");
    let page = out.join("report.html");
    let probability = |key: &str| {
        let doc = explanation(&out.join(key));
        let class = doc["prediction"]["class"].as_u64().unwrap() as usize;
        doc["prediction"]["probabilities"][class].as_f64().unwrap()
    };
    let keys: Vec<String> = (0..6).map(|i| format!("patch_{i:02}")).collect();
    let probabilities: Vec<f64> = keys.iter().map(|k| probability(k)).collect();
    let threshold = {
        let mut sorted = probabilities.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[3]
    };
    let shot = dir.join("grid.png");
    let visit = visit(
        page.to_str().unwrap(),
        &[
            "document.querySelectorAll('#grid .card').length",
            "[...document.querySelectorAll('#failure-list li')].map(li => li.textContent)",
            // Sorted by probability, high first.
            "(() => { const s = document.getElementById('sort'); s.value = '-probability'; \
             s.dispatchEvent(new Event('input')); \
             return [...document.querySelectorAll('#grid .card')].map(c => c.getAttribute('title')); })()",
            // Filtered: probability at least the fourth lowest.
            &format!(
                "(() => {{ const i = document.getElementById('min-probability'); i.value = '{threshold}'; \
                 i.dispatchEvent(new Event('input')); \
                 return document.querySelectorAll('#grid .card').length; }})()"
            ),
            // Thumbnails load (lazily, but these are in view).
            &after(
                "[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)",
                "document.querySelectorAll('#grid img').length",
            ),
        ],
        Some(&shot),
    );
    assert_eq!(visit.errors, Vec::<String>::new());
    assert_eq!(visit.evals[0], 6);
    let failures = visit.evals[1].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].as_str().unwrap().contains("broken.png"),
        "{failures:?}"
    );
    let order: Vec<String> = visit.evals[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let mut want = keys.clone();
    want.sort_by(|a, b| probability(b).total_cmp(&probability(a)).then(a.cmp(b)));
    let shown: Vec<f64> = order.iter().map(|k| probability(k)).collect();
    assert!(
        shown.windows(2).all(|w| w[0] >= w[1]),
        "{order:?} {shown:?}"
    );
    assert_eq!(order.len(), 6);
    let kept = probabilities.iter().filter(|&&p| p >= threshold).count();
    assert_eq!(visit.evals[3], kept);
    assert_eq!(visit.evals[4], kept);
    assert_not_blank(&shot);
}

#[test]
fn panel_opens_by_click_and_by_fragment_and_reads_the_superpixels() {
    let dir = scratch("panel");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    inputs(&input, 3);
    std::fs::remove_file(input.join("broken.png")).unwrap();
    mslime(
        &[
            "batch",
            input.to_str().unwrap(),
            "--model",
            &model(),
            "--out",
            out.to_str().unwrap(),
            "--no-metrics",
        ],
        false,
    );
    let page = out.join("report.html");
    // A click on the second card opens its panel.
    let clicked = visit(
        page.to_str().unwrap(),
        &[
            "document.querySelectorAll('#grid .card')[1].click()",
            &after(
                "document.getElementById('stage')",
                "[document.getElementById('panel').hidden, document.getElementById('panel-title').textContent, location.hash]",
            ),
        ],
        None,
    );
    assert_eq!(clicked.errors, Vec::<String>::new());
    assert_eq!(
        clicked.evals[1],
        serde_json::json!([false, "patch_01.png", "#panel=patch_01"])
    );

    // The fragment opens a panel: the pointer's superpixel at each level is
    // the explainer's, with its coefficient and interval; layers switch,
    // opacity follows the slider.
    let key = "patch_02";
    let doc = explanation(&out.join(key));
    let levels = doc["levels"].as_array().unwrap().clone();
    let (px, py) = (61usize, 23usize);
    let hover = format!(
        "(() => {{ const s = document.getElementById('stage'); const r = s.getBoundingClientRect(); \
         s.dispatchEvent(new MouseEvent('mousemove', {{ clientX: r.left + ({px} + 0.5) * r.width / 96, \
         clientY: r.top + ({py} + 0.5) * r.height / 96, bubbles: true }})); \
         return [...document.querySelectorAll('#hover-table tbody tr')].map(tr => [...tr.cells].map(c => c.textContent)); }})()"
    );
    let shot = dir.join("panel.png");
    let opened = visit(
        &format!("{}#panel={key}", page.display()),
        &[
            &after(
                "document.getElementById('stage') && [...document.querySelectorAll('#stage img')].every(i => i.complete && i.naturalWidth > 0)",
                "[document.getElementById('panel').hidden, document.querySelectorAll('#layers input').length]",
            ),
            &hover,
            "(() => { const r = document.querySelectorAll('#layers input')[1]; r.click(); \
             const o = document.getElementById('opacity'); o.value = 25; o.dispatchEvent(new Event('input')); \
             const layer = document.querySelectorAll('#stage img')[1]; \
             return [layer.getAttribute('src'), layer.style.opacity]; })()",
        ],
        Some(&shot),
    );
    assert_eq!(opened.errors, Vec::<String>::new());
    assert_eq!(
        opened.evals[0],
        serde_json::json!([false, levels.len() + 2]),
        "panel closed or layers missing"
    );
    let rows = opened.evals[1].as_array().unwrap();
    assert_eq!(rows.len(), levels.len());
    let image = Image::from_rgb8(
        96,
        96,
        image::open(out.join(key).join("image.png"))
            .unwrap()
            .to_rgb8()
            .as_raw(),
    )
    .unwrap();
    let compactness: f64 = doc["parameters"]["settings"]["compactness"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let slic = Slic::builder().compactness(compactness).build().unwrap();
    for (row, level) in rows.iter().zip(&levels) {
        let cells: Vec<&str> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let desired = level["desired"].as_u64().unwrap() as usize;
        let labels = slic.segment(&image, desired).unwrap();
        let label = labels.labels()[[py, px]] as usize;
        assert_eq!(cells[1], format!("#{label}"), "level {}", level["level"]);
        let coefficient = level["coefficients"][label].as_f64().unwrap();
        assert_eq!(cells[2], format!("{coefficient:.4}"));
        let interval = &level["interval90"][label];
        let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
        assert_eq!(cells[3], format!("[{lo:.4}, {hi:.4}]"));
    }
    let first = levels[0]["heatmap"]
        .as_str()
        .unwrap()
        .replace(".npy", ".png");
    assert_eq!(
        opened.evals[2],
        serde_json::json!([format!("{key}/{first}"), "0.25"])
    );
    assert_not_blank(&shot);
}

#[test]
fn explain_report_opens_on_its_image() {
    let dir = scratch("explain");
    let out = dir.join("out");
    let image = root().join("assets/ihc_patch96.png");
    let stdout = mslime(
        &[
            "explain",
            image.to_str().unwrap(),
            "--model",
            &model(),
            "--out",
            out.to_str().unwrap(),
        ],
        false,
    );
    assert!(stdout.contains("report.html"), "{stdout}");
    let shot = dir.join("explain.png");
    let v = visit(
        out.join("report.html").to_str().unwrap(),
        &[&after(
            "document.getElementById('stage')",
            "[document.getElementById('panel').hidden, document.getElementById('panel-title').textContent, \
             document.getElementById('command').textContent]",
        )],
        Some(&shot),
    );
    assert_eq!(v.errors, Vec::<String>::new());
    let got = v.evals[0].as_array().unwrap();
    assert_eq!(got[0], false);
    assert_eq!(got[1], "ihc_patch96.png");
    // The command that reproduces it names the model, the preset and the
    // seed.
    let command = got[2].as_str().unwrap();
    for part in ["mslime explain", "ihc_dab_cnn.onnx", "--preset", "--seed"] {
        assert!(command.contains(part), "{part} missing from {command}");
    }
    assert_not_blank(&shot);
}

#[test]
fn report_command_gathers_shards_and_refuses_empty_folders() {
    let dir = scratch("shards");
    let (input, out) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&input).unwrap();
    inputs(&input, 4);
    for shard in ["0/2", "1/2"] {
        mslime(
            &[
                "batch",
                input.to_str().unwrap(),
                "--model",
                &model(),
                "--out",
                out.to_str().unwrap(),
                "--no-metrics",
                "--shard",
                shard,
            ],
            true,
        );
    }
    std::fs::remove_file(out.join("report.html")).unwrap();
    let stdout = mslime(&["report", out.to_str().unwrap()], false);
    assert!(
        stdout.starts_with("4 explanation(s), 1 failure(s)"),
        "{stdout}"
    );
    let v = visit(
        out.join("report.html").to_str().unwrap(),
        &["[document.querySelectorAll('#grid .card').length, document.querySelectorAll('#failure-list li').length]"],
        None,
    );
    assert_eq!(v.errors, Vec::<String>::new());
    assert_eq!(v.evals[0], serde_json::json!([4, 1]));

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let failed = Command::new(BIN)
        .args(["report", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("holds no explanation"));
    assert!(!empty.join("report.html").exists());
}

#[test]
fn slide_report_zooms_toggles_overlays_and_opens_tiles() {
    let svs = multiscale_lime_testkit::test_slide().display().to_string();
    let dir = scratch("slide");
    let out = dir.join("out");
    mslime(
        &[
            "slide",
            &svs,
            "--model",
            &model(),
            "--out",
            out.to_str().unwrap(),
            "--mpp",
            "1",
            "--explain",
            "top:2",
            "--no-metrics",
        ],
        false,
    );
    let shot = dir.join("slide.png");
    let v = visit(
        out.join("report.html").to_str().unwrap(),
        &[
            // The pyramid loads (the slide and two overlays in the world).
            &after(
                "window.mslimeSlideViewer && mslimeSlideViewer.world.getItemCount() === 3 \
                 && mslimeSlideViewer.world.getItemAt(0).getFullyLoaded()",
                "[mslimeSlideViewer.world.getItemCount(), document.querySelectorAll('.marker').length, \
                 document.querySelectorAll('#grid .card').length]",
            ),
            // The prediction overlay shows, the relevance one does not; a
            // click on each toggle swaps them.
            "(() => { const w = mslimeSlideViewer.world; const before = [w.getItemAt(1).getOpacity(), w.getItemAt(2).getOpacity()]; \
             document.querySelectorAll('.overlay-toggle').forEach(b => b.click()); \
             return [before, [w.getItemAt(1).getOpacity(), w.getItemAt(2).getOpacity()]]; })()",
            // A click on an explained tile's frame opens its panel.
            "document.querySelector('.marker').click()",
            &after(
                "document.getElementById('stage')",
                "[document.getElementById('panel').hidden, decodeURIComponent(location.hash), \
                 document.querySelector('.marker').title]",
            ),
        ],
        Some(&shot),
    );
    assert_eq!(v.errors, Vec::<String>::new());
    assert_eq!(v.evals[0], serde_json::json!([3, 2, 2]));
    assert_eq!(v.evals[1], serde_json::json!([[0.6, 0], [0, 0.6]]));
    let opened = v.evals[3].as_array().unwrap();
    assert_eq!(opened[0], false);
    let key = opened[2].as_str().unwrap();
    assert!(key.starts_with("tiles/x"), "{key}");
    assert_eq!(opened[1], format!("#panel={key}"));
    assert_not_blank(&shot);
}
