//! Claim files: which `mslime batch` run is explaining an image, so that
//! runs over the same folder at the same time (array jobs with overlapping
//! shards, a run started twice) share the work instead of doing it twice.
//!
//! A claim is the file `.mslime-claim` in the image's output folder,
//! holding `PID HOST` of the run that made it. It is made atomically (a
//! hard link of a complete temporary file, which fails when the claim
//! exists) and removed when the run is done with the image, finished or
//! failed. A claim left by a killed run is taken over: on the same host
//! when its process no longer runs (where `/proc` tells), on another host
//! (or without `/proc`) when it is older than [`STALE_AFTER`].

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The claim's file name in an output folder.
pub(crate) const CLAIM_FILE: &str = ".mslime-claim";

/// Age after which a claim whose holder cannot be checked is stale.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// This run's hold on one output folder; dropping it releases the claim.
#[derive(Debug)]
pub(crate) struct Claim {
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// What [`claim`] found.
#[derive(Debug)]
pub(crate) enum Claimed {
    /// This run holds the folder now.
    Mine(Claim),
    /// Another live run holds it: `PID HOST` as it wrote them.
    Held(String),
}

/// The host name, for telling whose process a claim names.
fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown-host".into())
}

/// `true` when the claim at `path`, holding `holder`, was left by a run
/// that has ended.
fn is_stale(path: &Path, holder: &str, here: &str) -> bool {
    let mut parts = holder.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
    let on_this_host = parts.next() == Some(here);
    match pid {
        Some(pid) if on_this_host && Path::new("/proc/self").exists() => {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        // An unreadable claim or one we cannot check: stale once old.
        _ => fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER),
    }
}

/// Claims the output folder `dir` (which must exist) for this run.
pub(crate) fn claim(dir: &Path) -> io::Result<Claimed> {
    let path = dir.join(CLAIM_FILE);
    let here = host();
    let mine = format!("{} {here}", std::process::id());
    let temp = dir.join(format!(".mslime-claim.{}.mslime-tmp", std::process::id()));
    let mut file = File::create(&temp)?;
    file.write_all(mine.as_bytes())?;
    drop(file);
    // Twice at most: once as found, once more after taking a stale claim.
    let mut outcome = None;
    for _ in 0..2 {
        match fs::hard_link(&temp, &path) {
            Ok(()) => {
                outcome = Some(Ok(Claimed::Mine(Claim { path: path.clone() })));
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                if !is_stale(&path, &holder, &here) {
                    outcome = Some(Ok(Claimed::Held(holder.trim().to_string())));
                    break;
                }
                // Two runs taking over the same stale claim at once may
                // both go on; their outputs are identical and atomic.
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        outcome = Some(Err(e));
                        break;
                    }
                }
            }
            Err(e) => {
                outcome = Some(Err(e));
                break;
            }
        }
    }
    let _ = fs::remove_file(&temp);
    outcome.unwrap_or_else(|| {
        Err(io::Error::other(format!(
            "{} keeps changing hands",
            path.display()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mslime-claim-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_claim_is_exclusive_and_released_on_drop() {
        let dir = folder("exclusive");
        let first = claim(&dir).unwrap();
        assert!(matches!(first, Claimed::Mine(_)));
        assert!(dir.join(CLAIM_FILE).is_file());
        // Our own live claim is held, not taken over.
        match claim(&dir).unwrap() {
            Claimed::Held(holder) => {
                assert!(holder.starts_with(&std::process::id().to_string()))
            }
            Claimed::Mine(_) => panic!("claimed twice"),
        }
        drop(first);
        assert!(!dir.join(CLAIM_FILE).exists());
        assert!(matches!(claim(&dir).unwrap(), Claimed::Mine(_)));
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dead_runs_claim_is_taken_over() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = folder("dead");
        fs::write(dir.join(CLAIM_FILE), format!("4294967294 {}", host())).unwrap();
        assert!(matches!(claim(&dir).unwrap(), Claimed::Mine(_)));
        // A fresh claim from another host cannot be checked: it holds.
        fs::write(dir.join(CLAIM_FILE), "4294967294 some-other-host").unwrap();
        assert!(matches!(claim(&dir).unwrap(), Claimed::Held(_)));
        fs::remove_dir_all(&dir).unwrap();
    }
}
