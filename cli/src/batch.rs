//! `mslime batch`: many images, resumable, shardable, in parallel.

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::claim::{claim, Claimed};
use crate::job::{create_output_folder, describe, explain_into};
use crate::models::Models;
use crate::page;
use crate::parse::Shard;
use crate::plan::Plan;
use crate::write::BoxError;
use crate::{LimeArgs, ModelArgs};

const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// One image to explain and the output folder it gets.
#[derive(Debug)]
struct Item {
    path: PathBuf,
    key: PathBuf,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The output key of `relative`: its normal components, extension dropped.
fn key_of(relative: &Path) -> PathBuf {
    let key: PathBuf = relative
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    if key.as_os_str().is_empty() {
        PathBuf::from("image")
    } else {
        key
    }
}

fn walk(dir: &Path, skip: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || path == skip {
            continue;
        }
        // Not through symbolic links to folders: a link loop would never end.
        if entry.file_type()?.is_dir() {
            walk(&path, skip, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Every image under `input` (a folder, walked recursively, or a manifest),
/// sorted, plus the files of a folder that were passed over.
fn list(input: &Path, out: &Path) -> Result<(Vec<Item>, Vec<PathBuf>), String> {
    let mut items = Vec::new();
    let mut ignored = Vec::new();
    if input.is_dir() {
        let mut files = Vec::new();
        let skip = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
        let root = input
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        walk(&root, &skip, &mut files)
            .map_err(|e| format!("cannot list {}: {e}", input.display()))?;
        for path in files {
            if is_image(&path) {
                let key = key_of(path.strip_prefix(&root).unwrap_or(&path));
                items.push(Item { path, key });
            } else {
                ignored.push(path);
            }
        }
    } else {
        let text = std::fs::read_to_string(input).map_err(|e| {
            format!(
                "{} is neither a folder nor a readable manifest: {e}",
                input.display()
            )
        })?;
        let base = input.parent().unwrap_or(Path::new("."));
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let listed = PathBuf::from(line);
            items.push(Item {
                path: base.join(&listed),
                key: key_of(&listed),
            });
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.path.cmp(&b.path)));
    if let Some(pair) = items.windows(2).find(|p| p[0].key == p[1].key) {
        return Err(format!(
            "{} and {} would share the output folder {}; rename one",
            pair[0].path.display(),
            pair[1].path.display(),
            pair[0].key.display()
        ));
    }
    Ok((items, ignored))
}

/// The settings digest an earlier run recorded in `report`, `Some("")`
/// for a report without one (older versions), `None` without a report.
fn recorded_digest(report: &Path) -> Option<String> {
    let text = std::fs::read_to_string(report).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Some(
        value["settings_digest"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// What became of one image of a batch.
enum Fate {
    Explained,
    /// Another run finished it after this one listed the folder.
    DoneElsewhere,
    /// Another live run is explaining it (`PID HOST`).
    LeftTo(String),
}

/// Explains `item` into its folder under `out` unless another run holds
/// that folder or has finished it with the same `digest` meanwhile.
fn explain_claimed(
    item: &Item,
    out: &Path,
    models: &Models,
    plan: &Plan,
    digest: &str,
) -> Result<Fate, BoxError> {
    let dir = out.join(&item.key);
    create_output_folder(&dir)?;
    let _claim = match claim(&dir)
        .map_err(|e| format!("cannot claim the output folder {}: {e}", dir.display()))?
    {
        Claimed::Mine(claim) => claim,
        Claimed::Held(holder) => return Ok(Fate::LeftTo(holder)),
    };
    // The run that held the claim before may have finished it.
    if recorded_digest(&dir.join("explanation.json")).as_deref() == Some(digest) {
        return Ok(Fate::DoneElsewhere);
    }
    explain_into(&item.path, &dir, models, plan)?;
    Ok(Fate::Explained)
}

/// `mslime batch`.
pub(crate) fn run(
    input: &Path,
    model: &ModelArgs,
    lime: &LimeArgs,
    out: &Path,
    shard: Option<Shard>,
    jobs: Option<usize>,
) -> Result<(), String> {
    let plan = Plan::new(lime)?;
    let models = Models::open(model)?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // Done means: explained with this model and these settings. Folders
    // explained otherwise are redone, not reported as done.
    let digest = models.settings_digest(&plan);
    let work = Work::find(input, out, shard, &digest)?;
    let pool = worker_pool(jobs)?;
    let tally = pool.install(|| explain_all(&work.todo, out, &models, &plan, &digest))?;
    // Every result under `out`, this run's and earlier ones' (other
    // shards included): the last run to finish writes the complete page.
    match page::write_page(out, &format!("mslime batch: {}", input.display())) {
        Ok(path) => eprintln!("report: {}", path.display()),
        Err(e) => eprintln!("cannot write the report: {}", describe(e.as_ref())),
    }
    tally.report(&work, out)
}

/// This run's share of the input folder, split by what is left to do.
struct Work {
    /// Images to explain.
    todo: Vec<Item>,
    /// Images already explained with these settings.
    done: usize,
    /// ` (shard i/n of total)`, or nothing.
    shard_text: String,
}

impl Work {
    /// Lists `input` (telling what it ignores), keeps this shard's images
    /// and sets aside those whose folder under `out` records `digest`.
    fn find(input: &Path, out: &Path, shard: Option<Shard>, digest: &str) -> Result<Work, String> {
        let (all, ignored) = list(input, out)?;
        if !ignored.is_empty() {
            eprintln!(
                "ignoring {} file(s) without an image extension ({}), e.g. {}",
                ignored.len(),
                IMAGE_EXTENSIONS.join(", "),
                ignored[0].display()
            );
        }
        let total = all.len();
        let mine: Vec<Item> = match shard {
            Some(s) => all
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % s.count == s.index)
                .map(|(_, it)| it)
                .collect(),
            None => all,
        };
        let mut stale = 0;
        let (todo, done): (Vec<Item>, Vec<Item>) = mine.into_iter().partition(|it| {
            match recorded_digest(&out.join(&it.key).join("explanation.json")) {
                None => true,
                Some(d) if d == digest => false,
                Some(_) => {
                    stale += 1;
                    true
                }
            }
        });
        let shard_text = shard.map_or(String::new(), |s| {
            format!(" (shard {}/{} of {total})", s.index, s.count)
        });
        let stale_text = if stale > 0 {
            format!(" ({stale} explained before with another model or settings: redone)")
        } else {
            String::new()
        };
        eprintln!(
            "{} image(s) to explain{shard_text}{stale_text}, {} already done",
            todo.len(),
            done.len()
        );
        Ok(Work {
            todo,
            done: done.len(),
            shard_text,
        })
    }
}

/// `--jobs` threads (0: one per core).
fn worker_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, String> {
    // A thread per job beyond a few per core only costs memory (each holds
    // a batch buffer) and, in the thousands, can exhaust the process.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = jobs.unwrap_or(0);
    if threads > 4 * cores {
        return Err(format!(
            "--jobs {threads} is more than 4 threads per core ({cores} cores here, at most {})",
            4 * cores
        ));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))
}

/// What became of the images a run set out to explain.
#[derive(Default)]
struct Tally {
    explained: usize,
    /// Finished by another run while this one waited.
    done_elsewhere: usize,
    /// Left to another live run: `PATH (run PID HOST)`.
    left: Vec<String>,
    /// `PATH: message`.
    failures: Vec<String>,
}

/// Explains every item, one per worker at a time, with a progress bar; a
/// failure is reported and the batch goes on.
fn explain_all(
    todo: &[Item],
    out: &Path,
    models: &Models,
    plan: &Plan,
    digest: &str,
) -> Result<Tally, String> {
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} images  {per_sec}  ETA {eta}  {wide_msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let tally = Mutex::new(Tally::default());
    todo.par_iter().with_max_len(1).for_each(|item| {
        match explain_claimed(item, out, models, plan, digest) {
            Ok(Fate::Explained) => tally.record(|t| t.explained += 1),
            Ok(Fate::DoneElsewhere) => tally.record(|t| t.done_elsewhere += 1),
            Ok(Fate::LeftTo(holder)) => {
                let line = format!("{} (run {holder})", item.path.display());
                tally.record(|t| t.left.push(line));
            }
            Err(e) => {
                let message = describe(e.as_ref());
                // The report lists it (if its folder can take the note).
                let _ = page::write_failure(&out.join(&item.key), &item.path, &message);
                let line = format!("{}: {message}", item.path.display());
                bar.suspend(|| eprintln!("failed: {line}"));
                tally.record(|t| t.failures.push(line));
            }
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    Ok(tally.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// The tally as the workers share it.
trait Record {
    /// Applies one change; a worker that panicked cannot have left the
    /// tally half-changed (each change is one assignment or push), so the
    /// others go on with it.
    fn record(&self, change: impl FnOnce(&mut Tally));
}

impl Record for Mutex<Tally> {
    fn record(&self, change: impl FnOnce(&mut Tally)) {
        change(&mut self.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

impl Tally {
    /// The closing summary; an error listing the failures, if any.
    fn report(self, work: &Work, out: &Path) -> Result<(), String> {
        let left_text = if self.left.is_empty() {
            String::new()
        } else {
            eprintln!(
                "left to another run that holds their folders (rerun once it has ended; \
                 a claim a killed run left on another host is taken over after a day, \
                 or delete its {}):\n  {}",
                crate::claim::CLAIM_FILE,
                self.left.join("\n  ")
            );
            format!(", {} left to another run", self.left.len())
        };
        println!(
            "explained {}, skipped {} (already done), failed {}{left_text}{}; outputs in {}",
            self.explained,
            work.done + self.done_elsewhere,
            self.failures.len(),
            work.shard_text,
            out.display()
        );
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} image(s) failed:\n  {}",
                self.failures.len(),
                self.failures.join("\n  ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_extensions_and_escapes() {
        assert_eq!(key_of(Path::new("a/b/c.png")), PathBuf::from("a/b/c"));
        assert_eq!(key_of(Path::new("../x/./y.tif")), PathBuf::from("x/y"));
        assert_eq!(key_of(Path::new("/abs/z.jpg")), PathBuf::from("abs/z"));
    }
}
