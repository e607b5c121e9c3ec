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

/// Writes `path` through `fill`, atomically.
pub(crate) fn atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
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
    result
}

/// Removes temporary files a killed run left in `dir`.
pub(crate) fn sweep_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
