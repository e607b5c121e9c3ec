//! A slide-level map written as a tiled pyramidal OME-TIFF: one `f32`
//! channel, the full map as the first image and each halving as a
//! reduced-resolution SubIFD of it (OME-TIFF's pyramid layout, which
//! QuPath and napari open through Bio-Formats and tifffile), with the
//! physical pixel size in the OME-XML and the resolution tags.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use ndarray::{Array2, ArrayView2, CowArray, Ix2};

use crate::error::{Error, Result};

/// Tile side of every level (a multiple of 16, as TIFF requires).
pub const OME_TIFF_TILE: usize = 256;

/// Writes `values` (a slide map: NaN where nothing was measured) to `path`
/// as a tiled pyramidal OME-TIFF with one `f32` channel named `channel`.
///
/// Level 0 is `values` itself; each further level halves the previous one
/// (each pixel the mean of the finite values of its 2×2 block, NaN when
/// none), down to the first level that fits in one tile. Tiles are
/// 256×256, deflate-compressed. `pixel_size_um` is the size of one map
/// pixel in micrometres, horizontally and vertically (the slide's µm per
/// level-0 pixel times the map's downsample); it is written as OME's
/// `PhysicalSizeX`/`PhysicalSizeY` and as TIFF resolution tags, so that
/// viewers draw a scale bar and overlay the map on the slide.
///
/// ```
/// use multiscale_lime::ndarray::Array2;
/// use multiscale_lime::slide::write_ome_tiff;
///
/// let relevance = Array2::from_shape_fn((300, 500), |(y, x)| (x as f32 - y as f32) / 500.0);
/// let path = std::env::temp_dir().join("relevance-doc.ome.tif");
/// // A map at downsample 16 of a 0.25 µm/px slide: 4 µm per map pixel.
/// write_ome_tiff(&path, relevance.view(), Some((4.0, 4.0)), "relevance")?;
/// assert!(std::fs::metadata(&path)?.len() > 0);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty map, a pixel size that is not
/// finite and positive, or a channel name with characters XML cannot
/// carry; [`Error::Slide`] naming `path` when it cannot be written.
pub fn write_ome_tiff(
    path: impl AsRef<Path>,
    values: ArrayView2<'_, f32>,
    pixel_size_um: Option<(f64, f64)>,
    channel: &str,
) -> Result<()> {
    let path = path.as_ref();
    let (h, w) = values.dim();
    if h == 0 || w == 0 {
        return Err(Error::invalid(
            "values",
            format!("{h}×{w}"),
            "a non-empty map",
        ));
    }
    if let Some((x, y)) = pixel_size_um
        && !(x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0)
    {
        return Err(Error::invalid(
            "pixel_size_um",
            format!("({x}, {y})"),
            "finite and positive micrometres",
        ));
    }
    if channel.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            "channel",
            format!("{channel:?}"),
            "a name without control characters",
        ));
    }
    let levels = pyramid(values);
    let description = ome_xml(w, h, pixel_size_um, channel);
    let fail = |e: std::io::Error| Error::Slide {
        path: path.display().to_string(),
        reason: format!("cannot write the OME-TIFF: {e}"),
    };
    let file = File::create(path).map_err(fail)?;
    let mut out = BufWriter::new(file);
    write_file(&mut out, &levels, &description, pixel_size_um).map_err(fail)?;
    out.into_inner()
        .map_err(|e| fail(e.into_error()))?
        .sync_all()
        .map_err(fail)
}

/// `values` (borrowed, not copied) and its halvings, down to the first
/// that fits in one tile.
fn pyramid(values: ArrayView2<'_, f32>) -> Vec<CowArray<'_, f32, Ix2>> {
    let mut levels = vec![CowArray::from(values)];
    loop {
        let last = levels.last().expect("level 0 is there");
        let (h, w) = last.dim();
        if h <= OME_TIFF_TILE && w <= OME_TIFF_TILE {
            return levels;
        }
        let next = Array2::from_shape_fn((h.div_ceil(2), w.div_ceil(2)), |(y, x)| {
            let (mut sum, mut n) = (0.0f64, 0u32);
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                if let Some(&v) = last.get([2 * y + dy, 2 * x + dx])
                    && v.is_finite()
                {
                    sum += f64::from(v);
                    n += 1;
                }
            }
            if n == 0 {
                f32::NAN
            } else {
                (sum / f64::from(n)) as f32
            }
        });
        levels.push(CowArray::from(next));
    }
}

/// The OME-XML of a one-channel `f32` image, its pyramid in SubIFDs.
fn ome_xml(w: usize, h: usize, pixel_size_um: Option<(f64, f64)>, channel: &str) -> String {
    let physical = pixel_size_um
        .map(|(x, y)| {
            format!(
                " PhysicalSizeX=\"{x}\" PhysicalSizeXUnit=\"µm\" \
                 PhysicalSizeY=\"{y}\" PhysicalSizeYUnit=\"µm\""
            )
        })
        .unwrap_or_default();
    let name = xml_escape(channel);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://www.openmicroscopy.org/Schemas/OME/2016-06 \
         http://www.openmicroscopy.org/Schemas/OME/2016-06/ome.xsd\" \
         Creator=\"multiscale-lime {version}\">\
         <Image ID=\"Image:0\" Name=\"{name}\">\
         <Pixels ID=\"Pixels:0\" DimensionOrder=\"XYZCT\" Type=\"float\" \
         SizeX=\"{w}\" SizeY=\"{h}\" SizeZ=\"1\" SizeC=\"1\" SizeT=\"1\" \
         BigEndian=\"false\"{physical}>\
         <Channel ID=\"Channel:0:0\" Name=\"{name}\" SamplesPerPixel=\"1\"/>\
         <TiffData IFD=\"0\" PlaneCount=\"1\"/>\
         </Pixels></Image></OME>",
        version = env!("CARGO_PKG_VERSION"),
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// TIFF field types used here.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const ASCII: u16 = 2;
const RATIONAL: u16 = 5;
const IFD: u16 = 13;

/// One IFD entry: tag, type and its values as little-endian bytes.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    bytes: Vec<u8>,
}

impl Entry {
    fn shorts(tag: u16, values: &[u16]) -> Entry {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry::new(tag, SHORT, values.len(), bytes)
    }

    fn longs(tag: u16, kind: u16, values: &[u32]) -> Entry {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry::new(tag, kind, values.len(), bytes)
    }

    fn ascii(tag: u16, text: &str) -> Entry {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        let n = bytes.len();
        Entry::new(tag, ASCII, n, bytes)
    }

    /// A resolution in pixels per centimetre, as a rational over 10^4.
    fn per_cm(tag: u16, um_per_pixel: f64) -> Entry {
        let numerator = (1e8 / um_per_pixel).round().clamp(1.0, f64::from(u32::MAX)) as u32;
        let bytes = [numerator, 10_000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        Entry::new(tag, RATIONAL, 1, bytes)
    }

    fn new(tag: u16, kind: u16, count: usize, bytes: Vec<u8>) -> Entry {
        let count = u32::try_from(count).expect("tag counts are small");
        Entry {
            tag,
            kind,
            count,
            bytes,
        }
    }
}

/// Header, every level's tiles, the reduced levels' IFDs, then level 0's
/// IFD (pointing at them), and the header's first-IFD offset last.
fn write_file<W: Write + Seek>(
    out: &mut W,
    levels: &[CowArray<'_, f32, Ix2>],
    description: &str,
    pixel_size_um: Option<(f64, f64)>,
) -> std::io::Result<()> {
    out.write_all(b"II")?;
    out.write_all(&42u16.to_le_bytes())?;
    out.write_all(&0u32.to_le_bytes())?;
    let mut tiles = Vec::with_capacity(levels.len());
    for level in levels {
        tiles.push(write_tiles(out, level.view())?);
    }
    let mut sub_ifds = Vec::new();
    for (level, (offsets, counts)) in levels.iter().zip(&tiles).skip(1) {
        let entries = level_entries(
            level.dim(),
            offsets,
            counts,
            1,
            pixel_size_um,
            levels[0].dim(),
        );
        sub_ifds.push(write_ifd(out, entries)?);
    }
    let (offsets, counts) = &tiles[0];
    let mut entries = level_entries(
        levels[0].dim(),
        offsets,
        counts,
        0,
        pixel_size_um,
        levels[0].dim(),
    );
    entries.push(Entry::ascii(270, description));
    entries.push(Entry::ascii(
        305,
        concat!("multiscale-lime ", env!("CARGO_PKG_VERSION")),
    ));
    if !sub_ifds.is_empty() {
        entries.push(Entry::longs(330, IFD, &sub_ifds));
    }
    let first = write_ifd(out, entries)?;
    out.seek(SeekFrom::Start(4))?;
    out.write_all(&first.to_le_bytes())?;
    out.flush()
}

/// The entries of the IFD of one level of `(h, w)` pixels (without
/// description and SubIFDs).
fn level_entries(
    (h, w): (usize, usize),
    offsets: &[u32],
    counts: &[u32],
    subfile_type: u32,
    pixel_size_um: Option<(f64, f64)>,
    (h0, w0): (usize, usize),
) -> Vec<Entry> {
    let side = OME_TIFF_TILE as u16;
    let mut entries = vec![
        Entry::longs(254, LONG, &[subfile_type]),
        Entry::longs(256, LONG, &[w as u32]),
        Entry::longs(257, LONG, &[h as u32]),
        Entry::shorts(258, &[32]),
        Entry::shorts(259, &[8]), // deflate (zlib)
        Entry::shorts(262, &[1]), // black is zero
        Entry::shorts(277, &[1]),
        Entry::shorts(284, &[1]),
        Entry::shorts(322, &[side]),
        Entry::shorts(323, &[side]),
        Entry::longs(324, LONG, offsets),
        Entry::longs(325, LONG, counts),
        Entry::shorts(339, &[3]), // IEEE floating point
    ];
    if let Some((x, y)) = pixel_size_um {
        // A reduced level's pixels are larger by the level's scale.
        entries.push(Entry::per_cm(282, x * w0 as f64 / w as f64));
        entries.push(Entry::per_cm(283, y * h0 as f64 / h as f64));
        entries.push(Entry::shorts(296, &[3])); // centimetre
    }
    entries
}

/// Writes `level`'s tiles (row by row, NaN padding past its edges) and
/// returns their offsets and byte counts.
fn write_tiles<W: Write + Seek>(
    out: &mut W,
    level: ArrayView2<'_, f32>,
) -> std::io::Result<(Vec<u32>, Vec<u32>)> {
    let (h, w) = level.dim();
    let t = OME_TIFF_TILE;
    let (mut offsets, mut counts) = (Vec::new(), Vec::new());
    let mut raw = Vec::with_capacity(t * t * 4);
    for ty in (0..h).step_by(t) {
        for tx in (0..w).step_by(t) {
            raw.clear();
            for y in ty..ty + t {
                for x in tx..tx + t {
                    let v = level.get([y, x]).copied().unwrap_or(f32::NAN);
                    raw.extend_from_slice(&v.to_le_bytes());
                }
            }
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(&raw)?;
            let compressed = encoder.finish()?;
            offsets.push(offset(out)?);
            counts.push(u32::try_from(compressed.len()).map_err(too_large)?);
            out.write_all(&compressed)?;
        }
    }
    Ok((offsets, counts))
}

/// Writes an IFD (entries sorted by tag, values over 4 bytes after it,
/// word-aligned) with no next IFD, and returns its offset.
fn write_ifd<W: Write + Seek>(out: &mut W, mut entries: Vec<Entry>) -> std::io::Result<u32> {
    entries.sort_by_key(|e| e.tag);
    let mut start = offset(out)?;
    if start % 2 == 1 {
        out.write_all(&[0])?;
        start += 1;
    }
    let table = 2 + 12 * entries.len() as u32 + 4;
    let mut extra = Vec::new();
    let mut ifd = Vec::with_capacity(table as usize);
    ifd.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for entry in &entries {
        ifd.extend_from_slice(&entry.tag.to_le_bytes());
        ifd.extend_from_slice(&entry.kind.to_le_bytes());
        ifd.extend_from_slice(&entry.count.to_le_bytes());
        if entry.bytes.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..entry.bytes.len()].copy_from_slice(&entry.bytes);
            ifd.extend_from_slice(&inline);
        } else {
            let at = u64::from(start) + u64::from(table) + extra.len() as u64;
            ifd.extend_from_slice(&u32::try_from(at).map_err(too_large)?.to_le_bytes());
            extra.extend_from_slice(&entry.bytes);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    out.write_all(&ifd)?;
    out.write_all(&extra)?;
    Ok(start)
}

fn offset<W: Seek>(out: &mut W) -> std::io::Result<u32> {
    let at = out.stream_position()?;
    u32::try_from(at).map_err(too_large)
}

/// Classic TIFF addresses 4 GiB; a map of at most 64 M cells stays far
/// below (256 MB uncompressed).
fn too_large<E>(_: E) -> std::io::Error {
    std::io::Error::other("over the 4 GiB a classic TIFF can address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_halves_with_nan_aware_means() {
        let mut map = Array2::from_elem((600, 300), 1.0f32);
        map[[0, 0]] = 3.0;
        map[[0, 1]] = f32::NAN;
        for y in 2..4 {
            for x in 2..4 {
                map[[y, x]] = f32::NAN;
            }
        }
        let levels = pyramid(map.view());
        let dims: Vec<_> = levels.iter().map(|l| l.dim()).collect();
        assert_eq!(dims, [(600, 300), (300, 150), (150, 75)]);
        assert_eq!(levels[1][[0, 0]], 5.0 / 3.0); // (3 + 1 + 1) / 3, NaN skipped
        assert!(levels[1][[1, 1]].is_nan()); // all four NaN
        let expected = ((f64::from(levels[1][[0, 0]]) + 2.0) / 3.0) as f32;
        assert_eq!(levels[2][[0, 0]], expected); // NaN cell skipped
    }

    #[test]
    fn odd_sizes_take_the_last_row_and_column_alone() {
        let map = Array2::from_shape_fn((257, 3), |(y, x)| (y * 3 + x) as f32);
        let levels = pyramid(map.view());
        assert_eq!(levels[1].dim(), (129, 2));
        assert_eq!(levels[1][[128, 1]], map[[256, 2]]);
    }
}
