//! Atomic output files: each is written to a hidden temporary file in the
//! same folder, flushed to disk, then renamed over its final name, so a
//! killed run never leaves a half-written file under a final name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Marks temporary files so a restarted run can sweep them away.
const TEMP_SUFFIX: &str = ".mslime-tmp";

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()))
}

/// Writes `path` through `fill`, atomically. An existing `path` that is not
/// a regular file (a symbolic link, a FIFO, a device, a folder) is refused,
/// not replaced.
pub(crate) fn atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    check_target(path)?;
    let temp = temp_path(path);
    let result = (|| {
        let mut writer = BufWriter::new(File::create(&temp)?);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|e: BoxError| format!("cannot write {}: {e}", path.display()).into())
}

/// `Ok` when `path` is absent or a regular file (not a link to one).
pub(crate) fn check_target(path: &Path) -> Result<(), BoxError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(format!(
            "refusing to replace {}: it is not a regular file",
            path.display()
        )
        .into()),
        _ => Ok(()),
    }
}

/// Removes temporary files a killed run left in `dir`: this process's own,
/// and those of processes that no longer run (where `/proc` tells; else
/// those older than a day). Another live run's files are left alone.
pub(crate) fn sweep_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let own = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(TEMP_SUFFIX) else {
            continue;
        };
        let pid = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok());
        let stale = match pid {
            Some(pid) if pid == own => true,
            Some(pid) if proc_fs => !Path::new(&format!("/proc/{pid}")).exists(),
            _ => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 24 * 3600),
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes `levelL_sS.{png,npy}` files of an earlier explanation in `dir`
/// that are not in `keep` (another run with other levels wrote them).
pub(crate) fn remove_stale_levels(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        let ours = (ext == "png" || ext == "npy")
            && stem
                .strip_prefix("level")
                .and_then(|r| r.split_once("_s"))
                .is_some_and(|(l, s)| {
                    !l.is_empty()
                        && !s.is_empty()
                        && l.bytes().all(|b| b.is_ascii_digit())
                        && s.bytes().all(|b| b.is_ascii_digit())
                });
        if ours && !keep.iter().any(|k| k == stem) && entry.path().is_file() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// FNV-1a, 64 bits: a fingerprint of the model and settings for resume
/// (not a security hash).
pub(crate) fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

pub(crate) fn png(writer: &mut BufWriter<File>, picture: &image::RgbImage) -> Result<(), BoxError> {
    picture.write_to(writer, image::ImageFormat::Png)?;
    Ok(())
}

pub(crate) fn npy<A: ndarray_npy::WritableElement>(
    writer: &mut BufWriter<File>,
    array: &ndarray::Array2<A>,
) -> Result<(), BoxError> {
    use ndarray_npy::WriteNpyExt;
    array.write_npy(writer)?;
    Ok(())
}

pub(crate) fn json(
    writer: &mut BufWriter<File>,
    value: &serde_json::Value,
) -> Result<(), BoxError> {
    serde_json::to_writer_pretty(&mut *writer, value)?;
    writer.write_all(b"\n")?;
    Ok(())
}
