//! `report.html`: a run's explanations as one page, openable offline by
//! double-click (no server, nothing fetched from the network).
//!
//! The page is `template.html` (HTML, CSS and plain JavaScript, no
//! library) with the run's index inlined: one small entry per image
//! (class, probability, mean R², uncertainty, metrics) and the failures.
//! Thumbnails load lazily; an image's panel loads its folder's `panel.js`
//! (its `explanation.json` and the levels' superpixel labels) when opened,
//! so a page of thousands of images opens as fast as one of ten.

use std::path::{Path, PathBuf};

use multiscale_lime::render::Colormap;
use multiscale_lime::HeatmapStack;
use serde_json::{json, Value};

use crate::write::{self, BoxError};

/// The page: HTML, CSS and script, the data replacing [`DATA_SLOT`].
const TEMPLATE: &str = include_str!("template.html");

/// Where the run's index goes in the template (a JavaScript expression).
const DATA_SLOT: &str = "/*MSLIME_DATA*/null";

/// `map` as eleven CSS colours, 0 to 1 in steps of 0.1: a gradient the
/// page draws colour bars with.
pub(crate) fn css_stops(map: Colormap) -> Vec<String> {
    (0..=10)
        .map(|i| {
            let [r, g, b] = map.rgb(f64::from(i) / 10.0);
            format!("#{r:02x}{g:02x}{b:02x}")
        })
        .collect()
}

/// The page's file name in the output folder.
pub(crate) const PAGE: &str = "report.html";

/// An image's panel data, beside its outputs.
pub(crate) const PANEL_SCRIPT: &str = "panel.js";

/// What a failed image's folder holds instead of `explanation.json`.
pub(crate) const FAILURE: &str = "failure.json";

/// JSON as a JavaScript literal inside `<script>`: `<` escaped, so no
/// string in it (an image's name, an error message) can close the tag.
fn script_literal(value: &Value) -> Result<String, BoxError> {
    Ok(serde_json::to_string(value)?.replace('<', "\\u003c"))
}

/// Each level's superpixel labels, run-length coded in row-major order as
/// `[label, run, label, run, …]` (the page decodes them to find the
/// superpixel under the pointer).
fn labels_rle(stack: &HeatmapStack) -> Vec<Vec<u32>> {
    stack
        .levels()
        .iter()
        .map(|level| rle(level.segmentation.labels()))
        .collect()
}

fn rle(labels: &ndarray::Array2<u32>) -> Vec<u32> {
    let mut runs: Vec<u32> = Vec::new();
    for &label in labels {
        match runs.len() {
            n if n >= 2 && runs[n - 2] == label => runs[n - 1] += 1,
            _ => runs.extend([label, 1]),
        }
    }
    runs
}

/// `panel.js` of one image: its explanation document and label maps,
/// handed to the page that loads it.
pub(crate) fn write_panel_script(
    dir: &Path,
    document: &Value,
    stack: &HeatmapStack,
) -> Result<(), BoxError> {
    let data = json!({ "explanation": document, "labels": labels_rle(stack) });
    let text = format!(
        "mslimeReport.loaded(document.currentScript.dataset.key, {});\n",
        script_literal(&data)?
    );
    write::atomically(&dir.join(PANEL_SCRIPT), |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())?;
        Ok(())
    })
}

/// Records that explaining `image` into `dir` failed (the page lists it);
/// a later success removes it.
pub(crate) fn write_failure(dir: &Path, image: &Path, message: &str) -> Result<(), BoxError> {
    let value = json!({ "image": image.display().to_string(), "message": message });
    write::atomically(&dir.join(FAILURE), |w| write::json(w, &value))
}

/// The page's entry for one explained folder, from its `explanation.json`.
fn entry(key: &str, doc: &Value) -> Value {
    let class = doc["prediction"]["class"].as_u64().unwrap_or(0) as usize;
    let levels = doc["levels"].as_array().cloned().unwrap_or_default();
    let r2: Vec<f64> = levels.iter().filter_map(|l| l["r2"].as_f64()).collect();
    let mean_r2 = (!r2.is_empty() && r2.len() == levels.len())
        .then(|| r2.iter().sum::<f64>() / r2.len() as f64);
    // A slide's tile is named by the slide and where it lies.
    let name = match doc["slide"]["name"].as_str() {
        Some(name) => name.to_string(),
        None => Path::new(doc["image"].as_str().unwrap_or(key))
            .file_name()
            .map_or_else(|| key.to_string(), |n| n.to_string_lossy().into_owned()),
    };
    json!({
        "key": key,
        "name": name,
        "class": class,
        "class_name": doc["prediction"]["class_name"],
        "probability": doc["prediction"]["probabilities"][class],
        "explained_class": doc["explained_class"],
        "r2": mean_r2,
        "uncertainty": uncertainty(&levels),
        "deletion": doc["metrics"]["deletion_auc"],
        "insertion": doc["metrics"]["insertion_auc"],
        "explain_ms": doc["explain_ms"],
    })
}

/// The explanation's uncertainty in one number: per level, the mean
/// standard error of the superpixels' coefficients over the largest
/// |coefficient|; averaged with the levels' fusion weights. 0 is certain;
/// near 1, the noise is as large as the strongest evidence. `null` when
/// the levels carry no standard errors.
fn uncertainty(levels: &[Value]) -> Option<f64> {
    let mut total = 0.0;
    let mut weights = 0.0;
    for level in levels {
        let se: Vec<f64> = level["std_errors"]
            .as_array()?
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let biggest = level["coefficients"]
            .as_array()?
            .iter()
            .filter_map(Value::as_f64)
            .fold(0.0f64, |m, c| m.max(c.abs()));
        if se.is_empty() || biggest <= 0.0 {
            continue;
        }
        let w = level["weight"].as_f64().unwrap_or(1.0).max(0.0);
        total += w * se.iter().sum::<f64>() / se.len() as f64 / biggest;
        weights += w;
    }
    (weights > 0.0).then(|| total / weights)
}

/// Folders under `root` (itself included) holding an explanation or a
/// failure, sorted; hidden folders are passed over, links not followed.
fn result_folders(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.join("explanation.json").is_file() || dir.join(FAILURE).is_file() {
            found.push(dir.clone());
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

/// The folder's key: its path under `root` with `/` separators (`.` for
/// `root` itself).
fn key_of(root: &Path, dir: &Path) -> String {
    let relative = dir.strip_prefix(root).unwrap_or(dir);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// The run's index: an entry per explained folder under `root`, the
/// failures, and what the run used (from the first explanation).
pub(crate) fn index(root: &Path, title: &str) -> Value {
    let mut entries = Vec::new();
    let mut failures = Vec::new();
    let mut run = Value::Null;
    for dir in result_folders(root) {
        let key = key_of(root, &dir);
        let read = |name: &str| -> Option<Value> {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            serde_json::from_str(&text).ok()
        };
        if let Some(doc) = read("explanation.json") {
            if run.is_null() {
                run = json!({
                    "model": doc["model"],
                    "backend": doc["backend"],
                    "settings_digest": doc["settings_digest"],
                    "preset": doc["parameters"]["preset"],
                });
            }
            entries.push(entry(&key, &doc));
        } else if let Some(failure) = read(FAILURE) {
            failures.push(json!({
                "key": key,
                "image": failure["image"],
                "message": failure["message"],
            }));
        }
    }
    // The colour map of the heatmap PNGs (`job.rs`), for the page's colour
    // bar.
    let colormap = css_stops(Colormap::Viridis);
    // A slide's view, when `mslime slide` wrote one here.
    let slide = std::fs::read_to_string(root.join(crate::slide_view::VIEW_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or(Value::Null);
    json!({
        "title": title,
        "run": run,
        "entries": entries,
        "failures": failures,
        "colormap": colormap,
        "slide": slide,
    })
}

/// Writes `root/report.html` over every result under `root`; returns its
/// path.
pub(crate) fn write_page(root: &Path, title: &str) -> Result<PathBuf, BoxError> {
    write_index_page(root, &index(root, title))
}

/// OpenSeadragon 5.0.1 (BSD-3-Clause, `vendor/LICENSE-openseadragon.txt`),
/// from the npm registry, written beside a page with a slide view.
const OPENSEADRAGON: &str = include_str!("vendor/openseadragon.min.js");
const OPENSEADRAGON_LICENSE: &str = include_str!("vendor/LICENSE-openseadragon.txt");

/// Writes `root/report.html` showing `index` (from [`index`]).
pub(crate) fn write_index_page(root: &Path, index: &Value) -> Result<PathBuf, BoxError> {
    if !index["slide"].is_null() {
        for (name, text) in [
            ("openseadragon.min.js", OPENSEADRAGON),
            ("LICENSE-openseadragon.txt", OPENSEADRAGON_LICENSE),
        ] {
            write::atomically(&root.join(name), |w| {
                use std::io::Write;
                w.write_all(text.as_bytes())?;
                Ok(())
            })?;
        }
    }
    let data = script_literal(index)?;
    let page = TEMPLATE.replacen(DATA_SLOT, &data, 1);
    let path = root.join(PAGE);
    write::atomically(&path, |w| {
        use std::io::Write;
        w.write_all(page.as_bytes())?;
        Ok(())
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_one_data_slot() {
        assert_eq!(TEMPLATE.matches(DATA_SLOT).count(), 1);
    }

    #[test]
    fn script_literals_cannot_close_the_script() {
        let v = json!({ "name": "</script><script>alert(1)</script>" });
        let text = script_literal(&v).unwrap();
        assert!(!text.contains("</"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn uncertainty_weights_levels() {
        let levels = vec![
            json!({"std_errors": [0.1, 0.3], "coefficients": [1.0, -2.0], "weight": 1.0}),
            json!({"std_errors": [0.5], "coefficients": [0.5], "weight": 3.0}),
        ];
        // (0.2 / 2) · 1 + (0.5 / 0.5) · 3, over 4.
        let u = uncertainty(&levels).unwrap();
        assert!((u - (0.1 + 3.0) / 4.0).abs() < 1e-12, "{u}");
        assert_eq!(uncertainty(&[json!({"std_errors": null})]), None);
    }

    #[test]
    fn labels_run_in_row_major_order() {
        let labels = ndarray::array![[0, 0, 1], [1, 1, 2]];
        assert_eq!(rle(&labels), vec![0, 2, 1, 3, 2, 1]);
        // Decoded, the runs are the labels again.
        let runs = rle(&labels);
        let decoded: Vec<u32> = runs
            .chunks(2)
            .flat_map(|p| std::iter::repeat_n(p[0], p[1] as usize))
            .collect();
        assert_eq!(decoded, labels.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn keys_use_slashes() {
        let root = Path::new("/out");
        assert_eq!(key_of(root, Path::new("/out")), ".");
        assert_eq!(key_of(root, Path::new("/out/a/b")), "a/b");
    }
}
