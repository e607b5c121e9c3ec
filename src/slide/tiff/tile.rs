//! One TIFF tile (or strip) from its stored bytes to RGB: decompression
//! (JPEG with the shared tables, deflate, LZW, none), the horizontal
//! predictor, and colour (YCbCr JPEG converted as libtiff does, alpha
//! dropped, grey repeated). Every output is bounded by the tile's declared
//! size, whatever the bytes claim.

use std::io::Read;

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// How a level's tiles are stored.
#[derive(Debug, Clone)]
pub(crate) struct Coding {
    pub(crate) compression: u16,
    /// TIFF's PhotometricInterpretation: 1 grey, 2 RGB, 6 YCbCr.
    pub(crate) photometric: u16,
    pub(crate) samples: u16,
    /// 1: none, 2: horizontal differencing.
    pub(crate) predictor: u16,
    /// JPEGTables, prepended to each JPEG tile.
    pub(crate) jpeg_tables: Option<Vec<u8>>,
}

/// Compression schemes by TIFF code, for messages.
pub(crate) fn compression_name(code: u16) -> String {
    match code {
        1 => "none".into(),
        5 => "LZW".into(),
        6 => "old-style JPEG".into(),
        7 => "JPEG".into(),
        8 | 32946 => "deflate".into(),
        33003 | 33005 => "JPEG 2000 (Aperio)".into(),
        34712 => "JPEG 2000".into(),
        50000 => "zstd".into(),
        50001 => "WebP".into(),
        other => format!("code {other}"),
    }
}

/// Whether the embedded reader decodes `compression`; the reason if not.
pub(crate) fn check_supported(coding: &Coding) -> Result<(), String> {
    match coding.compression {
        1 | 5 | 7 | 8 | 32946 => {}
        33003 | 33005 | 34712 => {
            return Err(format!(
                "tiles are compressed with {}, which the embedded reader does not decode; \
                 convert the slide (e.g. `vips tiffsave SLIDE out.tif --tile --pyramid \
                 --compression jpeg`) or read it with OpenSlide",
                compression_name(coding.compression)
            ))
        }
        other => {
            return Err(format!(
                "tiles are compressed with {}, which the embedded reader does not decode \
                 (it reads JPEG, deflate, LZW and uncompressed tiles)",
                compression_name(other)
            ))
        }
    }
    if !matches!(coding.samples, 1 | 3 | 4) {
        return Err(format!(
            "{} samples per pixel (the reader takes grey, RGB or RGBA)",
            coding.samples
        ));
    }
    if !matches!(coding.photometric, 1 | 2 | 6) {
        return Err(format!(
            "photometric interpretation {} (the reader takes grey, RGB or YCbCr)",
            coding.photometric
        ));
    }
    if coding.photometric == 6 && coding.compression != 7 {
        return Err("YCbCr pixels outside JPEG tiles".into());
    }
    if !matches!(coding.predictor, 1 | 2) {
        return Err(format!("predictor {}", coding.predictor));
    }
    Ok(())
}

/// Decodes one stored tile of `width`×`height` pixels into RGB bytes
/// (`width · height · 3`). Short data (a last strip, a truncated tile) is
/// padded with white.
pub(crate) fn decode(
    coding: &Coding,
    stored: &[u8],
    width: usize,
    height: usize,
) -> Result<Vec<u8>, String> {
    let samples = usize::from(coding.samples);
    let expected = width * height * samples;
    let raw = match coding.compression {
        1 => stored[..stored.len().min(expected)].to_vec(),
        5 => lzw(stored, expected)?,
        8 | 32946 => deflate(stored, expected)?,
        7 => return jpeg(coding, stored, width, height),
        other => return Err(format!("compression {}", compression_name(other))),
    };
    let mut raw = raw;
    if coding.predictor == 2 {
        undo_horizontal_predictor(&mut raw, width, samples);
    }
    Ok(to_rgb(&raw, samples, width * height))
}

fn deflate(stored: &[u8], expected: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(expected);
    flate2::read::ZlibDecoder::new(stored)
        .take(expected as u64)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt deflate data: {e}"))?;
    Ok(out)
}

fn lzw(stored: &[u8], expected: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; expected];
    let mut decoder = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let (mut read, mut written) = (0, 0);
    while written < expected && read < stored.len() {
        let result = decoder.decode_bytes(&stored[read..], &mut out[written..]);
        read += result.consumed_in;
        written += result.consumed_out;
        match result.status {
            Ok(weezl::LzwStatus::Ok) if result.consumed_in + result.consumed_out == 0 => break,
            Ok(weezl::LzwStatus::Ok) => {}
            Ok(_) => break,
            Err(e) => return Err(format!("corrupt LZW data: {e}")),
        }
    }
    out.truncate(written);
    Ok(out)
}

/// JPEG with the level's shared tables: YCbCr tiles converted to RGB (as
/// libtiff does for photometric YCbCr), others taken as stored (Aperio's
/// RGB-coded tiles).
fn jpeg(coding: &Coding, stored: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    let data = match &coding.jpeg_tables {
        // The tables end with an end-of-image marker and the tile starts
        // with a start-of-image one: join them without either.
        Some(tables) if tables.len() >= 4 && stored.len() >= 2 => {
            let mut joined = Vec::with_capacity(tables.len() + stored.len());
            joined.extend_from_slice(&tables[..tables.len() - 2]);
            joined.extend_from_slice(&stored[2..]);
            joined
        }
        _ => stored.to_vec(),
    };
    let options = DecoderOptions::default()
        .set_max_width(width)
        .set_max_height(height);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    decoder
        .decode_headers()
        .map_err(|e| format!("corrupt JPEG tile: {e:?}"))?;
    let input = decoder.input_colorspace().unwrap_or(ColorSpace::RGB);
    let out = if coding.photometric == 6 {
        ColorSpace::RGB
    } else {
        input
    };
    decoder.set_options(options.jpeg_set_out_colorspace(out));
    let (w, h) = decoder
        .dimensions()
        .ok_or("a JPEG tile without dimensions")?;
    let pixels = decoder
        .decode()
        .map_err(|e| format!("corrupt JPEG tile: {e:?}"))?;
    let channels = out.num_components();
    if w != width || h != height || pixels.len() != w * h * channels {
        return Err(format!(
            "a JPEG tile of {w}×{h} pixels where the file declares {width}×{height}"
        ));
    }
    Ok(to_rgb(&pixels, channels, width * height))
}

/// Undoes TIFF's horizontal differencing (predictor 2) on 8-bit samples.
fn undo_horizontal_predictor(raw: &mut [u8], width: usize, samples: usize) {
    let row = width * samples;
    for line in raw.chunks_mut(row) {
        for i in samples..line.len() {
            line[i] = line[i].wrapping_add(line[i - samples]);
        }
    }
}

/// `pixels` pixels of `samples` channels as RGB: grey repeated, alpha
/// dropped, missing pixels white.
fn to_rgb(raw: &[u8], samples: usize, pixels: usize) -> Vec<u8> {
    let mut out = vec![255u8; pixels * 3];
    for (o, p) in out.chunks_exact_mut(3).zip(raw.chunks_exact(samples)) {
        if samples == 1 {
            o.fill(p[0]);
        } else {
            o.copy_from_slice(&p[..3]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predictor_accumulates_per_row_and_sample() {
        let mut raw = vec![10, 20, 1, 2, 1, 2, 5, 5, 0, 0, 255, 1];
        undo_horizontal_predictor(&mut raw, 3, 2);
        assert_eq!(raw, vec![10, 20, 11, 22, 12, 24, 5, 5, 5, 5, 4, 6]);
    }

    #[test]
    fn grey_and_rgba_become_rgb() {
        assert_eq!(to_rgb(&[7, 9], 1, 2), vec![7, 7, 7, 9, 9, 9]);
        assert_eq!(to_rgb(&[1, 2, 3, 4], 4, 1), vec![1, 2, 3]);
        // Missing pixels are white.
        assert_eq!(to_rgb(&[1, 2, 3], 3, 2), vec![1, 2, 3, 255, 255, 255]);
    }

    #[test]
    fn corrupt_data_is_an_error_or_bounded() {
        let coding = |compression| Coding {
            compression,
            photometric: 2,
            samples: 3,
            predictor: 1,
            jpeg_tables: None,
        };
        assert!(decode(&coding(8), b"not zlib at all", 4, 4).is_err());
        assert!(decode(&coding(7), b"\xff\xd8 not a jpeg", 4, 4).is_err());
        // LZW output never exceeds the tile, whatever the input.
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        if let Ok(out) = decode(&coding(5), &garbage, 4, 4) {
            assert_eq!(out.len(), 4 * 4 * 3);
        }
        let none = decode(&coding(1), &[0; 1000], 2, 2).unwrap();
        assert_eq!(none, vec![0; 12]);
    }
}
