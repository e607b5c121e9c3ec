//! Reading an image file as the pipeline's RGB [`Image`], with its size
//! checked from the header before anything is decoded.
//!
//! This file uses nothing of the binary's own, so the fuzz target
//! `read_image` compiles it as it is.

use std::io::{BufRead, Seek, SeekFrom};

use multiscale_lime::Image;

/// Decodes `reader` (PNG, JPEG or TIFF, told by its bytes) as RGB, after
/// checking from its header that it has at most `max_pixels` pixels (a
/// small file can declare a huge image).
///
/// `background` is what a transparent pixel shows: `None` drops the alpha
/// channel (the colours as stored), `Some(v)` composites over grey level
/// `v` in `[0, 1]`. Besides the image it returns notes for the user (alpha
/// dropped from a transparent image, later pages of a TIFF passed over);
/// the messages leave the file's name to the caller, which names it once.
pub(crate) fn decode<R: BufRead + Seek>(
    mut reader: R,
    max_pixels: usize,
    background: Option<f32>,
) -> Result<(Image, Vec<String>), String> {
    let mut notes = Vec::new();
    let (w, h) = open(&mut reader)?
        .into_dimensions()
        .map_err(|e| format!("not a readable image: {e}"))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels as u64 {
        return Err(format!(
            "the image is {w}×{h} = {pixels} pixels, above --max-pixels {max_pixels}; \
             raise --max-pixels deliberately to explain it"
        ));
    }
    let decoder = open(&mut reader)?;
    let tiff = decoder.format() == Some(image::ImageFormat::Tiff);
    let picture = decoder
        .decode()
        .map_err(|e| format!("not a readable image: {e}"))?;
    if tiff && has_more_pages(&mut reader) {
        notes.push("has more than one page; the first is explained".to_string());
    }
    if !picture.color().has_alpha() {
        let image = Image::try_from(&picture.to_rgb8()).map_err(|e| e.to_string())?;
        return Ok((image, notes));
    }
    let rgba = picture.to_rgba32f();
    let opaque = rgba.pixels().all(|p| p[3] >= 1.0);
    let background = match background {
        _ if opaque => None,
        None => {
            notes.push(
                "has transparent pixels; its alpha channel is ignored \
                 (--transparency white|black composites instead)"
                    .to_string(),
            );
            None
        }
        Some(v) => Some(v.clamp(0.0, 1.0)),
    };
    // Dropping alpha reads the colours exactly as an RGB file would.
    let Some(background) = background else {
        let image = Image::try_from(&picture.to_rgb8()).map_err(|e| e.to_string())?;
        return Ok((image, notes));
    };
    let (w, h) = (rgba.width() as usize, rgba.height() as usize);
    let mut values = Vec::with_capacity(w * h * 3);
    for p in rgba.pixels() {
        let a = p[3].clamp(0.0, 1.0);
        for &c in &p.0[..3] {
            let c = c.clamp(0.0, 1.0);
            values.push(a * c + (1.0 - a) * background);
        }
    }
    let array = multiscale_lime::ndarray::Array3::from_shape_vec((h, w, 3), values)
        .map_err(|e| e.to_string())?;
    let image = Image::new(array).map_err(|e| e.to_string())?;
    Ok((image, notes))
}

/// A decoder for `reader` from its first byte, the format told by its bytes.
fn open<R: BufRead + Seek>(reader: &mut R) -> Result<image::ImageReader<&mut R>, String> {
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    image::ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| format!("cannot read the file: {e}"))
}

/// Whether the TIFF in `reader` holds more than one image.
fn has_more_pages<R: BufRead + Seek>(reader: &mut R) -> bool {
    reader.seek(SeekFrom::Start(0)).is_ok()
        && tiff::decoder::Decoder::new(reader).is_ok_and(|d| d.more_images())
}
