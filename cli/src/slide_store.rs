//! What `mslime slide` keeps in its output folder so that a rerun does
//! only what is left: every scored tile (appended as it is scored, so an
//! interrupted run loses at most one chunk) and every explained tile's
//! contribution to the stitched maps. Shards keep theirs side by side; a
//! run without `--shard` over the same folder finds them all, which is
//! how shards are merged.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use multiscale_lime::slide::SlideTile;
use ndarray::Array2;
use serde_json::{json, Value};

use crate::parse::Shard;
use crate::write::{self, BoxError};

/// The folder of the score files.
const SCORES: &str = "scores";

/// A tile's scores by its level-0 corner.
pub(crate) type Scores = HashMap<(i64, i64), Vec<f32>>;

/// Every tile scored by any run or shard over `out` whose first line
/// records `digest` (the slide, the tiles and the model); other files, a
/// truncated last line and lines that do not parse are skipped.
pub(crate) fn load_scores(out: &Path, digest: &str) -> Scores {
    let mut scores = Scores::new();
    let Ok(entries) = std::fs::read_dir(out.join(SCORES)) else {
        return scores;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let mut lines = BufReader::new(file).lines();
        let header: Option<Value> = lines
            .next()
            .and_then(|l| l.ok())
            .and_then(|l| serde_json::from_str(&l).ok());
        if header.as_ref().and_then(|h| h["digest"].as_str()) != Some(digest) {
            continue;
        }
        for line in lines.map_while(Result::ok) {
            let Ok(row) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let (Some(x), Some(y), Some(p)) =
                (row["x"].as_i64(), row["y"].as_i64(), row["p"].as_array())
            else {
                continue;
            };
            let p: Option<Vec<f32>> = p.iter().map(|v| v.as_f64().map(|v| v as f32)).collect();
            if let Some(p) = p {
                scores.insert((x, y), p);
            }
        }
    }
    scores
}

/// Appends this run's scores to `scores/{i}-of-{n}.jsonl` (`0-of-1`
/// without shards), a line per tile, flushed after every chunk.
pub(crate) struct ScoreWriter {
    file: File,
    path: PathBuf,
}

impl ScoreWriter {
    /// Opens this shard's file, starting it over when it records another
    /// digest.
    pub(crate) fn open(out: &Path, digest: &str, shard: Option<Shard>) -> Result<Self, String> {
        let dir = out.join(SCORES);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let (i, n) = shard.map_or((0, 1), |s| (s.index, s.count));
        let path = dir.join(format!("{i}-of-{n}.jsonl"));
        let header = json!({ "digest": digest }).to_string();
        let earlier = std::fs::read_to_string(&path).unwrap_or_default();
        let same = earlier.lines().next() == Some(header.as_str());
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let mut file = if same {
            OpenOptions::new().append(true).open(&path).map_err(fail)?
        } else {
            File::create(&path).map_err(fail)?
        };
        if !same {
            writeln!(file, "{header}").map_err(fail)?;
        } else if !earlier.ends_with('\n') {
            // A run killed mid-line left a partial line: end it, so the
            // next line stands alone (the partial one is skipped).
            file.write_all(b"\n").map_err(fail)?;
        }
        Ok(ScoreWriter { file, path })
    }

    /// Records `scores` (one row per tile) and flushes them to disk.
    pub(crate) fn append(
        &mut self,
        tiles: &[SlideTile],
        scores: &Array2<f32>,
    ) -> Result<(), String> {
        let mut text = String::new();
        for (tile, row) in tiles.iter().zip(scores.rows()) {
            let p: Vec<f32> = row.to_vec();
            text.push_str(&json!({ "x": tile.x, "y": tile.y, "p": p }).to_string());
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// The files of an explained tile that the stitched maps and the GeoJSON
/// are made from (beside `mslime explain`'s own files in its folder).
const UNCERTAINTY: &str = "uncertainty.npy";
const DETECTIONS: &str = "detections.jsonl";

/// An explained tile's part of the slide's outputs.
pub(crate) struct TileResult {
    /// The fused heatmap (the folder's `combined.npy`).
    pub(crate) heatmap: Array2<f32>,
    /// Each pixel's uncertainty.
    pub(crate) uncertainty: Array2<f32>,
    /// Its superpixels as QuPath detections, one GeoJSON feature each.
    pub(crate) detections: Vec<String>,
}

/// Saves what [`load_tile`] reads back.
pub(crate) fn save_tile(dir: &Path, result: &TileResult) -> Result<(), BoxError> {
    write::atomically(&dir.join(UNCERTAINTY), |w| {
        write::npy(w, &result.uncertainty)
    })?;
    write::atomically(&dir.join(DETECTIONS), |w| {
        for d in &result.detections {
            writeln!(w, "{d}")?;
        }
        Ok(())
    })
}

/// A tile explained before with the settings `digest` records, cut from
/// the slide where and as `source` says (the same corner may hold a tile
/// of another size or resolution), or `None` when it must be explained
/// (again).
pub(crate) fn load_tile(dir: &Path, digest: &str, source: &Value) -> Option<TileResult> {
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("explanation.json")).ok()?).ok()?;
    if report["settings_digest"].as_str() != Some(digest) || &report["slide"] != source {
        return None;
    }
    let heatmap = ndarray_npy::read_npy(dir.join("combined.npy")).ok()?;
    let uncertainty = ndarray_npy::read_npy(dir.join(UNCERTAINTY)).ok()?;
    let detections = std::fs::read_to_string(dir.join(DETECTIONS))
        .ok()?
        .lines()
        .map(String::from)
        .collect();
    Some(TileResult {
        heatmap,
        uncertainty,
        detections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(x: i64, y: i64) -> SlideTile {
        SlideTile {
            x,
            y,
            width: 8,
            height: 8,
            grid: (0, 0),
            tissue: 1.0,
        }
    }

    #[test]
    fn scores_survive_a_cut_line_and_other_digests_are_ignored() {
        let out = std::env::temp_dir().join(format!("mslime-scores-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let mut w = ScoreWriter::open(&out, "d1", None).unwrap();
        let scores = Array2::from_shape_vec((2, 2), vec![0.25, 0.75, 0.5, 0.5]).unwrap();
        w.append(&[tile(0, 0), tile(8, 0)], &scores).unwrap();
        drop(w);
        // A run killed mid-line.
        let path = out.join(SCORES).join("0-of-1.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"x\":16,\"y\":0,\"p\":[0.1").unwrap();
        let loaded = load_scores(&out, "d1");
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[&(8, 0)], [0.5, 0.5]);
        // The next run appends after the cut line, which stays skipped.
        let mut w = ScoreWriter::open(&out, "d1", None).unwrap();
        w.append(&[tile(16, 0)], &Array2::from_elem((1, 2), 0.5))
            .unwrap();
        assert_eq!(load_scores(&out, "d1").len(), 3);
        // A shard's file beside it counts; another digest does not.
        let mut s = ScoreWriter::open(&out, "d1", Some(Shard { index: 1, count: 2 })).unwrap();
        s.append(&[tile(0, 8)], &Array2::from_elem((1, 2), 0.5))
            .unwrap();
        assert_eq!(load_scores(&out, "d1").len(), 4);
        assert!(load_scores(&out, "d2").is_empty());
        // Reopened with another digest, this run's file starts over.
        ScoreWriter::open(&out, "d2", None).unwrap();
        assert_eq!(load_scores(&out, "d1").len(), 1);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_tile_is_reused_only_with_its_settings_and_source() {
        let dir = std::env::temp_dir().join(format!("mslime-tile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let source = json!({ "x": 0, "y": 0, "width": 192, "downsample": 2.0 });
        let report = json!({ "settings_digest": "d1", "slide": source });
        std::fs::write(dir.join("explanation.json"), report.to_string()).unwrap();
        let heatmap = Array2::from_elem((2, 2), 0.5f32);
        write::atomically(&dir.join("combined.npy"), |w| write::npy(w, &heatmap)).unwrap();
        let result = TileResult {
            heatmap: heatmap.clone(),
            uncertainty: Array2::from_elem((2, 2), 0.25),
            detections: vec!["{\"a\":1}".into(), "{\"b\":2}".into()],
        };
        save_tile(&dir, &result).unwrap();
        let back = load_tile(&dir, "d1", &source).expect("reused");
        assert_eq!(back.heatmap, heatmap);
        assert_eq!(back.uncertainty, result.uncertainty);
        assert_eq!(back.detections, result.detections);
        // Other settings, or a tile of another size at the same corner.
        assert!(load_tile(&dir, "d2", &source).is_none());
        let wider = json!({ "x": 0, "y": 0, "width": 384, "downsample": 4.0 });
        assert!(load_tile(&dir, "d1", &wider).is_none());
        // A lost file: explained again.
        std::fs::remove_file(dir.join(UNCERTAINTY)).unwrap();
        assert!(load_tile(&dir, "d1", &source).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
