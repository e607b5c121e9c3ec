//! Tiled pyramidal TIFF read in pure Rust: the `tiff` crate parses the
//! directories, tiles are fetched by offset and decoded here (`tile.rs`),
//! so that levels stored as pages and as SubIFDs are read alike.

mod cache;
mod tile;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ::tiff::decoder::{Decoder, Limits};
use ::tiff::tags::{IfdPointer, Tag};
use ::tiff::Directory;
use image::{Rgb, RgbImage};
use rayon::prelude::*;

use self::tile::Coding;
use super::{check_region, Slide, SlideLevel, SlideProperties};
use crate::error::{Error, Result};

/// Directories read before a file is called malformed (a cycle, or junk).
const MAX_DIRECTORIES: usize = 1024;
/// Tiles one level may declare (a 1 Mpx × 1 Mpx level in tiles of 256 is
/// 16 M tiles): more is a corrupt or hostile header.
const MAX_TILES: u64 = 1 << 24;
/// The largest tile side accepted.
const MAX_TILE_SIDE: u64 = 1 << 14;

/// A level as stored: its size, tile grid, where its tiles are and how
/// they are coded.
#[derive(Debug, Clone)]
struct StoredLevel {
    width: u64,
    height: u64,
    tile_width: u64,
    tile_height: u64,
    offsets: Vec<u64>,
    byte_counts: Vec<u64>,
    coding: Coding,
}

impl StoredLevel {
    fn tiles_across(&self) -> u64 {
        self.width.div_ceil(self.tile_width)
    }
}

/// A tiled pyramidal TIFF slide (generic pyramid, OME-TIFF, Aperio SVS,
/// BigTIFF), read in pure Rust. See the [module docs](super).
#[derive(Debug)]
pub struct TiffSlide {
    path: PathBuf,
    levels: Vec<SlideLevel>,
    stored: Vec<StoredLevel>,
    properties: SlideProperties,
    /// The file's length: no tile may lie beyond it.
    file_len: u64,
    /// Open handles for concurrent reads (one per reading thread at most).
    files: Mutex<Vec<File>>,
    /// Tiles decoded lately, for the regions next to them.
    cache: cache::TileCache,
}

/// A decoded tile and its column and row in the level's grid.
type Placed = (i64, i64, Arc<Vec<u8>>);

/// The bytes of decoded tiles a [`TiffSlide`] keeps by default (64 MiB:
/// two rows of 256-pixel tiles across a slide 40 000 pixels wide).
pub const DEFAULT_TILE_CACHE: usize = 64 << 20;

/// An error about `path`.
fn slide_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Slide {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A directory's values the reader needs.
struct DirectoryInfo {
    width: u64,
    height: u64,
    tiled: bool,
    description: String,
    sub_ifds: Vec<IfdPointer>,
    level: Option<StoredLevel>,
}

impl TiffSlide {
    /// Opens `path` and reads its directories (not its pixels).
    ///
    /// # Errors
    /// [`Error::Slide`] naming the file and the problem: not a TIFF, no
    /// tiled level, a compression or pixel layout the reader does not
    /// decode (JPEG 2000 names what to do), absurd declared sizes, a
    /// truncated or cyclic directory chain.
    pub fn open(path: impl AsRef<Path>) -> Result<TiffSlide> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| slide_error(path, format!("cannot open: {e}")))?;
        let file_len = file
            .metadata()
            .map_err(|e| slide_error(path, format!("cannot open: {e}")))?
            .len();
        let tiff_error =
            |e: ::tiff::TiffError| slide_error(path, format!("not a readable TIFF: {e}"));
        let mut decoder = Decoder::new(BufReader::new(file))
            .map_err(tiff_error)?
            .with_limits(Limits::default());
        let first = decoder
            .ifd_pointer()
            .ok_or_else(|| slide_error(path, "the TIFF holds no image"))?;
        let mut seen = HashSet::new();
        let mut pages = Vec::new();
        let mut first_dir = None;
        let mut next = Some(first);
        while let Some(pointer) = next {
            if !seen.insert(pointer.0) || seen.len() > MAX_DIRECTORIES {
                return Err(slide_error(
                    path,
                    "the directory chain loops or is absurdly long",
                ));
            }
            let dir = decoder.read_directory(pointer).map_err(tiff_error)?;
            next = dir.next();
            match describe(&mut decoder, &dir) {
                Ok(info) => pages.push(info),
                // Level 0 must be readable; a later image the reader cannot
                // read (a label in another coding) is not a level.
                Err(e) if first_dir.is_none() => return Err(slide_error(path, e)),
                Err(_) => {}
            }
            first_dir.get_or_insert(dir);
        }
        let mut stored = Vec::new();
        let first = &pages[0];
        let Some(level0) = first.level.clone() else {
            return Err(slide_error(
                path,
                "its first image is not tiled (not a pyramidal slide)",
            ));
        };
        stored.push(level0);
        let aspect = first.width as f64 / first.height as f64;
        let smaller = |info: &DirectoryInfo, than: &StoredLevel| {
            info.tiled
                && info.width < than.width
                && ((info.width as f64 / info.height as f64) / aspect - 1.0).abs() < 0.02
        };
        if !first.sub_ifds.is_empty() {
            // OME-TIFF: the levels are the first image's SubIFDs.
            for &pointer in &first.sub_ifds {
                let dir = decoder.read_directory(pointer).map_err(tiff_error)?;
                let Ok(info) = describe(&mut decoder, &dir) else {
                    continue;
                };
                if smaller(&info, stored.last().expect("level 0")) {
                    stored.extend(info.level);
                }
            }
        } else {
            // Levels as pages; thumbnails, labels and macros (stripped, or
            // of another aspect) are passed over.
            for info in &pages[1..] {
                if smaller(info, stored.last().expect("level 0")) {
                    stored.extend(info.level.clone());
                }
            }
        }
        for level in &stored {
            tile::check_supported(&level.coding).map_err(|e| slide_error(path, e))?;
        }
        let (w0, h0) = (stored[0].width as f64, stored[0].height as f64);
        let levels = stored
            .iter()
            .map(|l| SlideLevel {
                width: l.width,
                height: l.height,
                downsample: (w0 / l.width as f64 + h0 / l.height as f64) / 2.0,
            })
            .collect();
        let properties = properties(&pages[0].description, &mut decoder, first_dir);
        Ok(TiffSlide {
            path: path.to_path_buf(),
            levels,
            stored,
            properties,
            file_len,
            files: Mutex::new(Vec::new()),
            cache: cache::TileCache::new(DEFAULT_TILE_CACHE),
        })
    }

    /// The same slide keeping at most `bytes` of decoded tiles (default
    /// [`DEFAULT_TILE_CACHE`]; 0 keeps none). Regions smaller than the
    /// file's tiles — a model's tiles, read row by row — decode each stored
    /// tile once when the cache holds a row of them (width ÷ tile width ×
    /// tile bytes, twice for regions straddling two rows). Pixels are the
    /// same whatever the size.
    ///
    /// ```no_run
    /// use multiscale_lime::slide::TiffSlide;
    ///
    /// // A 100 000-pixel-wide slide in tiles of 512: 300 MB per tile row.
    /// let slide = TiffSlide::open("big.tif")?.with_tile_cache(640 << 20);
    /// assert_eq!(slide.tile_cache(), 640 << 20);
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn with_tile_cache(mut self, bytes: usize) -> TiffSlide {
        self.cache = cache::TileCache::new(bytes);
        self
    }

    /// The bytes of decoded tiles this slide keeps at most.
    pub fn tile_cache(&self) -> usize {
        self.cache.capacity()
    }

    /// The file this slide reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file handle for one read (taken from the pool, or opened).
    fn file(&self) -> Result<File> {
        let pooled = self.files.lock().map(|mut f| f.pop()).unwrap_or(None);
        match pooled {
            Some(file) => Ok(file),
            None => File::open(&self.path)
                .map_err(|e| slide_error(&self.path, format!("cannot open: {e}"))),
        }
    }

    fn give_back(&self, file: File) {
        if let Ok(mut files) = self.files.lock() {
            files.push(file);
        }
    }

    /// Tile `index` of level `level`, decoded and kept for the next
    /// region that needs it.
    fn decode_and_keep(
        &self,
        level: usize,
        stored: &StoredLevel,
        index: u64,
    ) -> Result<Arc<Vec<u8>>> {
        let tile = Arc::new(self.tile(stored, index)?);
        self.cache.put((level, index), Arc::clone(&tile));
        Ok(tile)
    }

    /// The RGB pixels of tile `index` of `level` (`tile_width ·
    /// tile_height · 3` bytes).
    fn tile(&self, level: &StoredLevel, index: u64) -> Result<Vec<u8>> {
        let i = index as usize;
        let (offset, count) = (level.offsets[i], level.byte_counts[i]);
        let (tw, th) = (level.tile_width as usize, level.tile_height as usize);
        // No tile may claim more bytes than its pixels could need
        // uncompressed, plus slack for headers: a corrupt count cannot make
        // the reader allocate without bound.
        let bound = (tw * th * usize::from(level.coding.samples)) as u64 * 2 + 65_536;
        if count == 0 {
            return Ok(vec![255; tw * th * 3]);
        }
        if count > bound {
            return Err(slide_error(
                &self.path,
                format!("tile {index} claims {count} bytes, more than any tile of {tw}×{th} needs"),
            ));
        }
        if offset.saturating_add(count) > self.file_len {
            return Err(slide_error(
                &self.path,
                format!(
                    "tile {index} lies at bytes {offset}..{} of a {}-byte file (truncated file?)",
                    offset.saturating_add(count),
                    self.file_len
                ),
            ));
        }
        let mut file = self.file()?;
        let mut stored = vec![0u8; count as usize];
        let read = file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut stored));
        self.give_back(file);
        read.map_err(|e| {
            slide_error(
                &self.path,
                format!(
                    "cannot read tile {index} ({count} bytes at {offset}): {e} (truncated file?)"
                ),
            )
        })?;
        tile::decode(&level.coding, &stored, tw, th)
            .map_err(|e| slide_error(&self.path, format!("tile {index}: {e}")))
    }
}

/// Reads what the reader needs from one directory.
fn describe<R: Read + Seek>(
    decoder: &mut Decoder<R>,
    dir: &Directory,
) -> std::result::Result<DirectoryInfo, String> {
    let mut tags = decoder.read_directory_tags(dir);
    let e = |e: ::tiff::TiffError| format!("a malformed directory: {e}");
    let unsigned =
        |v: Option<u64>, name: &str| v.ok_or_else(|| format!("a directory without {name}"));
    let width = unsigned(
        tags.find_tag_unsigned::<u64>(Tag::ImageWidth).map_err(e)?,
        "ImageWidth",
    )?;
    let height = unsigned(
        tags.find_tag_unsigned::<u64>(Tag::ImageLength).map_err(e)?,
        "ImageLength",
    )?;
    let description = match tags.find_tag(Tag::ImageDescription).map_err(e)? {
        Some(v) => v.into_string().unwrap_or_default(),
        None => String::new(),
    };
    let sub_ifds = match tags.find_tag(Tag::SubIfd).map_err(e)? {
        Some(v) => v.into_ifd_vec().map_err(e)?,
        None => Vec::new(),
    };
    let tile_width = tags.find_tag_unsigned::<u64>(Tag::TileWidth).map_err(e)?;
    let tile_height = tags.find_tag_unsigned::<u64>(Tag::TileLength).map_err(e)?;
    let tiled = tile_width.is_some() && tile_height.is_some();
    let mut info = DirectoryInfo {
        width,
        height,
        tiled,
        description,
        sub_ifds,
        level: None,
    };
    if width == 0 || height == 0 || width > 1 << 31 || height > 1 << 31 {
        return Err(format!("an image of {width}×{height} pixels"));
    }
    // Strips are tiles as wide as the image (only a first image may be
    // stripped and still be read: a slide of one level).
    let (tw, th, offsets_tag, counts_tag) = match (tile_width, tile_height) {
        (Some(tw), Some(th)) => (tw, th, Tag::TileOffsets, Tag::TileByteCounts),
        _ => {
            let rows = tags
                .find_tag_unsigned::<u64>(Tag::RowsPerStrip)
                .map_err(e)?
                .unwrap_or(height);
            (
                width,
                rows.clamp(1, height),
                Tag::StripOffsets,
                Tag::StripByteCounts,
            )
        }
    };
    if tw == 0
        || th == 0
        || tw > MAX_TILE_SIDE
        || th > MAX_TILE_SIDE
        || (tw * th) > MAX_TILE_SIDE * 1024
    {
        if tiled {
            return Err(format!("tiles of {tw}×{th} pixels"));
        }
        return Ok(info); // a large stripped image (a macro, a label): not a level
    }
    let count = width.div_ceil(tw) * height.div_ceil(th);
    if count > MAX_TILES {
        return Err(format!("{count} tiles in a {width}×{height} image"));
    }
    let offsets = tags
        .find_tag_unsigned_vec::<u64>(offsets_tag)
        .map_err(e)?
        .unwrap_or_default();
    let byte_counts = tags
        .find_tag_unsigned_vec::<u64>(counts_tag)
        .map_err(e)?
        .unwrap_or_default();
    if offsets.len() as u64 != count || byte_counts.len() as u64 != count {
        if !tiled {
            return Ok(info);
        }
        return Err(format!(
            "{} tile offsets and {} byte counts for {count} tiles",
            offsets.len(),
            byte_counts.len()
        ));
    }
    let coding = coding(&mut tags)?;
    info.level = Some(StoredLevel {
        width,
        height,
        tile_width: tw,
        tile_height: th,
        offsets,
        byte_counts,
        coding,
    });
    Ok(info)
}

/// How a directory's tiles are coded; 8-bit interleaved samples only.
fn coding(tags: &mut ::tiff::decoder::IfdDecoder<'_>) -> std::result::Result<Coding, String> {
    let e = |e: ::tiff::TiffError| format!("a malformed directory: {e}");
    let mut tag_u16 = |tag, default| -> std::result::Result<u16, String> {
        Ok(tags
            .find_tag_unsigned::<u16>(tag)
            .map_err(e)?
            .unwrap_or(default))
    };
    let compression = tag_u16(Tag::Compression, 1)?;
    let photometric = tag_u16(Tag::PhotometricInterpretation, 2)?;
    let samples = tag_u16(Tag::SamplesPerPixel, 1)?;
    let predictor = tag_u16(Tag::Predictor, 1)?;
    let planar = tag_u16(Tag::PlanarConfiguration, 1)?;
    let bits = tags
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(e)?
        .unwrap_or_else(|| vec![1]);
    if bits.iter().any(|&b| b != 8) {
        return Err(format!("{bits:?} bits per sample (the reader takes 8)"));
    }
    if planar != 1 {
        return Err(
            "planar (separate) colour planes (the reader takes interleaved samples)".into(),
        );
    }
    let jpeg_tables = match tags.find_tag(Tag::JPEGTables).map_err(e)? {
        Some(v) => Some(v.into_u8_vec().map_err(e)?),
        None => None,
    };
    Ok(Coding {
        compression,
        photometric,
        samples,
        predictor,
        jpeg_tables,
    })
}

/// Resolution and magnification: Aperio's description (`MPP = 0.499`,
/// `AppMag = 20`), OME-XML's `PhysicalSizeX`, else the resolution tags.
fn properties<R: Read + Seek>(
    description: &str,
    decoder: &mut Decoder<R>,
    first: Option<Directory>,
) -> SlideProperties {
    let field = |text: &str, key: &str| -> Option<f64> {
        let start = text.find(key)? + key.len();
        let rest = text[start..].trim_start_matches([' ', '=', '"']);
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
            .unwrap_or(rest.len());
        rest[..end]
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
    };
    if description.starts_with("Aperio") {
        let mpp = field(description, "MPP");
        return SlideProperties {
            mpp: mpp.map(|m| (m, m)),
            objective_power: field(description, "AppMag"),
            vendor: "aperio",
            bounds: None,
        };
    }
    if description.contains("<OME") {
        let scale = |unit: Option<&str>| match unit {
            Some("nm") => 1e-3,
            Some("mm") => 1e3,
            Some("cm") => 1e4,
            _ => 1.0,
        };
        let unit = |key: &str| {
            let start = description.find(key)? + key.len();
            let rest = description[start..].trim_start_matches(['=', '"']);
            rest.split('"').next()
        };
        let x = field(description, "PhysicalSizeX=").map(|v| v * scale(unit("PhysicalSizeXUnit")));
        let y = field(description, "PhysicalSizeY=").map(|v| v * scale(unit("PhysicalSizeYUnit")));
        return SlideProperties {
            mpp: x.map(|x| (x, y.unwrap_or(x))),
            objective_power: field(description, "NominalMagnification="),
            vendor: "ome-tiff",
            bounds: None,
        };
    }
    let mpp = first.and_then(|dir| {
        let mut tags = decoder.read_directory_tags(&dir);
        let unit = tags
            .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
            .ok()
            .flatten()
            .unwrap_or(2);
        let per_unit = match unit {
            2 => 25_400.0, // µm per inch
            3 => 10_000.0, // µm per centimetre
            _ => return None,
        };
        let mut res = |tag| match tags.find_tag(tag).ok().flatten()? {
            ::tiff::decoder::ifd::Value::Rational(n, d) => Some(f64::from(n) / f64::from(d)),
            ::tiff::decoder::ifd::Value::Float(v) => Some(f64::from(v)),
            ::tiff::decoder::ifd::Value::Double(v) => Some(v),
            _ => None,
        };
        let (x, y) = (res(Tag::XResolution)?, res(Tag::YResolution)?);
        (x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()).then(|| (per_unit / x, per_unit / y))
    });
    SlideProperties {
        mpp,
        objective_power: None,
        vendor: "generic-tiff",
        bounds: None,
    }
}

impl Slide for TiffSlide {
    fn levels(&self) -> &[SlideLevel] {
        &self.levels
    }

    fn properties(&self) -> &SlideProperties {
        &self.properties
    }

    fn read_region(
        &self,
        level: usize,
        x: i64,
        y: i64,
        width: u32,
        height: u32,
    ) -> Result<RgbImage> {
        check_region(&self.levels, level, width, height)?;
        let stored = &self.stored[level];
        let downsample = self.levels[level].downsample;
        // The region's corner in this level's pixels.
        let (lx, ly) = (
            (x as f64 / downsample).floor() as i64,
            (y as f64 / downsample).floor() as i64,
        );
        let (w, h) = (i64::from(width), i64::from(height));
        let mut out = RgbImage::from_pixel(width, height, Rgb([255; 3]));
        // The tiles the region overlaps, within the level.
        let (x0, y0) = (lx.max(0), ly.max(0));
        let (x1, y1) = (
            lx.saturating_add(w).min(stored.width as i64),
            ly.saturating_add(h).min(stored.height as i64),
        );
        if x0 >= x1 || y0 >= y1 {
            return Ok(out);
        }
        let (tw, th) = (stored.tile_width as i64, stored.tile_height as i64);
        let tiles: Vec<(i64, i64)> = (y0 / th..=(y1 - 1) / th)
            .flat_map(|ty| (x0 / tw..=(x1 - 1) / tw).map(move |tx| (tx, ty)))
            .collect();
        let index = |tx: i64, ty: i64| ty as u64 * stored.tiles_across() + tx as u64;
        // Kept tiles as they are; only tiles to decode go to other
        // threads, and only when there are several (a thread's wake-up
        // costs more than copying a kept tile).
        let mut decoded: Vec<Result<Placed>> = Vec::with_capacity(tiles.len());
        let mut missing = Vec::new();
        for &(tx, ty) in &tiles {
            match self.cache.get((level, index(tx, ty))) {
                Some(tile) => decoded.push(Ok((tx, ty, tile))),
                None => missing.push((tx, ty)),
            }
        }
        let decode = |&(tx, ty): &(i64, i64)| -> Result<Placed> {
            Ok((tx, ty, self.decode_and_keep(level, stored, index(tx, ty))?))
        };
        if missing.len() > 1 {
            decoded.extend(missing.par_iter().map(decode).collect::<Vec<_>>());
        } else {
            decoded.extend(missing.iter().map(decode));
        }
        for tile in decoded {
            let (tx, ty, pixels) = tile?;
            // Copy the overlap of tile (tx, ty) and the region.
            let (ox, oy) = (tx * tw, ty * th);
            let cx0 = ox.max(x0);
            let cx1 = (ox + tw).min(x1);
            for py in oy.max(y0)..(oy + th).min(y1) {
                let src = (((py - oy) * tw + (cx0 - ox)) * 3) as usize;
                let len = ((cx1 - cx0) * 3) as usize;
                let dst = (((py - ly) * w + (cx0 - lx)) * 3) as usize;
                out.as_mut()[dst..dst + len].copy_from_slice(&pixels[src..src + len]);
            }
        }
        Ok(out)
    }
}
