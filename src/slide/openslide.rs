//! Whole-slide images through OpenSlide's C library (feature `openslide`),
//! opened at run time.
//!
//! The library is loaded with `dlopen` (through `libloading`) rather than
//! linked through the `openslide-rs` crate: nothing is linked at build time
//! (no headers, no pkg-config, no OpenSlide on the build machine), so the
//! feature builds everywhere, and one binary uses whichever library the
//! user has: Debian's `libopenslide0` (`libopenslide1` on Debian 13), or
//! the self-contained one inside the `openslide-bin` wheel on PyPI, named
//! by `OPENSLIDE_DYLIB_PATH` (as ONNX Runtime's `ORT_DYLIB_PATH`). A
//! missing library is an error when a slide is opened, not when the
//! program starts.
//!
//! OpenSlide's functions are resolved once per library and process and the
//! library is never unloaded (OpenSlide starts worker threads of its own,
//! which must not outlive its code).

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock, PoisonError};

use image::{Rgb, RgbImage};

use super::{check_region, Slide, SlideBounds, SlideLevel, SlideProperties};
use crate::error::{Error, Result};

/// The environment variable that names OpenSlide's library.
const LIBRARY_VARIABLE: &str = "OPENSLIDE_DYLIB_PATH";

/// The names the system's loader is asked for, in order, when
/// `OPENSLIDE_DYLIB_PATH` is not set.
const SYSTEM_NAMES: &[&str] = if cfg!(target_os = "windows") {
    &["libopenslide-1.dll"]
} else if cfg!(target_os = "macos") {
    &["libopenslide.1.dylib", "libopenslide.0.dylib"]
} else {
    &["libopenslide.so.1", "libopenslide.so.0"]
};

/// What to do when no library is found.
const HOW_TO_GET: &str = "install it (`apt install libopenslide0` on Debian 12 and \
     Ubuntu, `libopenslide1` on Debian 13, `brew install openslide` on macOS), or take the \
     one inside the `openslide-bin` wheel on PyPI (`python3 tools/fetch_openslide.py` in \
     multiscale-lime's repository extracts it and prints its path) and set \
     OPENSLIDE_DYLIB_PATH to its path";

// The C prototypes of openslide.h (3.4 and 4.x).
type OpenFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type CloseFn = unsafe extern "C" fn(*mut c_void);
type GetErrorFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type LevelCountFn = unsafe extern "C" fn(*mut c_void) -> i32;
type LevelDimensionsFn = unsafe extern "C" fn(*mut c_void, i32, *mut i64, *mut i64);
type LevelDownsampleFn = unsafe extern "C" fn(*mut c_void, i32) -> f64;
type ReadRegionFn = unsafe extern "C" fn(*mut c_void, *mut u32, i64, i64, i32, i64, i64);
type PropertyValueFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> *const c_char;
type DetectVendorFn = unsafe extern "C" fn(*const c_char) -> *const c_char;

/// OpenSlide's functions in one loaded library, kept for the process's
/// life.
struct Api {
    path: PathBuf,
    open: OpenFn,
    close: CloseFn,
    get_error: GetErrorFn,
    get_level_count: LevelCountFn,
    get_level_dimensions: LevelDimensionsFn,
    get_level_downsample: LevelDownsampleFn,
    read_region: ReadRegionFn,
    get_property_value: PropertyValueFn,
    detect_vendor: DetectVendorFn,
    /// Keeps the functions above loaded (never dropped: the `Api` is
    /// leaked).
    _library: libloading::Library,
}

/// Loads the library at `path` and resolves OpenSlide's functions.
fn load(path: &Path) -> std::result::Result<Api, String> {
    // SAFETY: loading a library runs its initialisers. OpenSlide's (and
    // those of glib, cairo, libtiff … which it links) only set up global
    // state and are safe to run on any thread; the library is asked for by
    // the user (or by OpenSlide's own file names).
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load {}: {}", path.display(), with_source(&e)))?;
    macro_rules! symbol {
        ($name:literal, $ty:ty) => {
            // SAFETY: `$ty` is the function's prototype in openslide.h;
            // the pointer is copied out and used only while `library` is
            // loaded (for ever: the `Api` holding it is leaked).
            *unsafe { library.get::<$ty>(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                format!(
                    "{} is not OpenSlide's library (or older than OpenSlide 3.4): \
                     no function {}: {}",
                    path.display(),
                    $name,
                    with_source(&e)
                )
            })?
        };
    }
    let open = symbol!("openslide_open", OpenFn);
    let close = symbol!("openslide_close", CloseFn);
    let get_error = symbol!("openslide_get_error", GetErrorFn);
    let get_level_count = symbol!("openslide_get_level_count", LevelCountFn);
    let get_level_dimensions = symbol!("openslide_get_level_dimensions", LevelDimensionsFn);
    let get_level_downsample = symbol!("openslide_get_level_downsample", LevelDownsampleFn);
    let read_region = symbol!("openslide_read_region", ReadRegionFn);
    let get_property_value = symbol!("openslide_get_property_value", PropertyValueFn);
    let detect_vendor = symbol!("openslide_detect_vendor", DetectVendorFn);
    Ok(Api {
        path: path.to_path_buf(),
        open,
        close,
        get_error,
        get_level_count,
        get_level_dimensions,
        get_level_downsample,
        read_region,
        get_property_value,
        detect_vendor,
        _library: library,
    })
}

/// `error` and what caused it (libloading's errors say "dlopen failed"
/// and keep the loader's message as their source).
fn with_source(error: &libloading::Error) -> String {
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

/// The library at `path`, loaded on first use and kept (failures are not
/// kept: a library installed later is found).
fn library(path: &Path) -> std::result::Result<&'static Api, String> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, &'static Api>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&api) = loaded.get(path) {
        return Ok(api);
    }
    let api: &'static Api = Box::leak(Box::new(load(path)?));
    loaded.insert(path.to_path_buf(), api);
    Ok(api)
}

/// The library `OPENSLIDE_DYLIB_PATH` names, else the first of the
/// system's names that loads; the error says where it looked and how to
/// get the library.
fn default_library() -> std::result::Result<&'static Api, String> {
    if let Some(path) = std::env::var_os(LIBRARY_VARIABLE) {
        return library(Path::new(&path)).map_err(|e| {
            format!("OpenSlide's library from {LIBRARY_VARIABLE}: {e}; {HOW_TO_GET}")
        });
    }
    let mut tried = Vec::new();
    for name in SYSTEM_NAMES {
        match library(Path::new(name)) {
            Ok(api) => return Ok(api),
            Err(e) => tried.push(e),
        }
    }
    Err(format!(
        "OpenSlide's library was not found ({LIBRARY_VARIABLE} is not set; looked for {} \
         in the system's library paths: {}); {HOW_TO_GET}",
        SYSTEM_NAMES.join(", "),
        tried.join("; ")
    ))
}

/// An open `openslide_t`, closed on drop.
struct Handle {
    ptr: NonNull<c_void>,
    api: &'static Api,
}

// SAFETY: OpenSlide is thread-safe: an `openslide_t` may be used by several
// threads at once for every read-only call (openslide.h: "OpenSlide
// objects are thread-safe"); the handle owns nothing tied to the thread
// that opened it, and is closed once, by `Drop`, when no reference is left.
unsafe impl Send for Handle {}
// SAFETY: as above; the only calls made through `&Handle` are OpenSlide's
// read-only, thread-safe ones.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `openslide_open`, is closed only here,
        // and no reference to it outlives `self`.
        unsafe { (self.api.close)(self.ptr.as_ptr()) }
    }
}

/// A C string OpenSlide returned, copied (none for NULL).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string valid for this call.
unsafe fn copied(text: *const c_char) -> Option<String> {
    // SAFETY: as the caller promises.
    (!text.is_null()).then(|| {
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    })
}

impl Handle {
    /// The handle's error, once OpenSlide has hit one (errors are sticky:
    /// every later call fails too).
    fn error(&self) -> Option<String> {
        // SAFETY: the handle is open; the message lives until it is closed,
        // and is copied here.
        unsafe { copied((self.api.get_error)(self.ptr.as_ptr())) }
    }

    fn property(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        // SAFETY: the handle is open and `name` is NUL-terminated; the value
        // lives until the handle is closed, and is copied here.
        unsafe {
            copied((self.api.get_property_value)(
                self.ptr.as_ptr(),
                name.as_ptr(),
            ))
        }
    }

    /// The levels, checked: at least one, positive sizes and downsamples.
    fn levels(&self) -> std::result::Result<Vec<SlideLevel>, String> {
        // SAFETY: the handle is open.
        let count = unsafe { (self.api.get_level_count)(self.ptr.as_ptr()) };
        if count < 1 {
            return Err(format!("OpenSlide reports {count} levels"));
        }
        (0..count)
            .map(|level| {
                let (mut width, mut height) = (-1i64, -1i64);
                // SAFETY: the handle is open, `level` is below its level
                // count, and both pointers are to live `i64`s.
                let downsample = unsafe {
                    (self.api.get_level_dimensions)(
                        self.ptr.as_ptr(),
                        level,
                        &mut width,
                        &mut height,
                    );
                    (self.api.get_level_downsample)(self.ptr.as_ptr(), level)
                };
                if width < 1 || height < 1 || !(downsample.is_finite() && downsample > 0.0) {
                    return Err(format!(
                        "OpenSlide reports level {level} as {width}×{height} pixels at a \
                         downsample of {downsample}"
                    ));
                }
                Ok(SlideLevel {
                    width: width as u64,
                    height: height as u64,
                    downsample,
                })
            })
            .collect()
    }
}

/// A whole-slide image read through OpenSlide's C library: every format
/// OpenSlide reads (Aperio SVS, Hamamatsu NDPI and VMS, MIRAX, Leica SCN,
/// Philips TIFF, Sakura, Trestle, Ventana BIF, Zeiss CZI, DICOM, generic
/// tiled TIFF). Needs the feature `openslide`, and OpenSlide's library at
/// run time (see [`OpenSlide::open`]).
///
/// Levels, resolution and magnification are OpenSlide's, so are the
/// pixels: decoded by OpenSlide, composited on white (outside the level
/// and where the scanner recorded nothing). It is shared between threads
/// like any [`Slide`]; OpenSlide reads a handle from several threads at
/// once.
///
/// Where the two readers overlap (tiled TIFF, SVS) they agree: the same
/// levels and pixels, exactly for lossless tiles and within JPEG decoders'
/// rounding otherwise. One difference: a region whose corner is off the
/// level's pixel grid (a level-0 `x` that is not a multiple of the level's
/// downsample) is placed by OpenSlide at the fraction of a pixel,
/// interpolated, where [`TiffSlide`](super::TiffSlide) rounds down to the
/// level's pixel. Errors are sticky in OpenSlide: after a failed read
/// every later read of the slide fails too (open it again).
///
/// ```no_run
/// use multiscale_lime::slide::{OpenSlide, Slide};
///
/// let slide = OpenSlide::open("CMU-1.ndpi")?;
/// println!("{} levels, {:?}", slide.levels().len(), slide.properties());
/// let patch = slide.read_region(0, 10_000, 8_000, 224, 224)?;
/// assert_eq!(patch.dimensions(), (224, 224));
/// # Ok::<(), multiscale_lime::Error>(())
/// ```
pub struct OpenSlide {
    path: PathBuf,
    levels: Vec<SlideLevel>,
    properties: SlideProperties,
    handle: Handle,
}

impl fmt::Debug for OpenSlide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenSlide")
            .field("path", &self.path)
            .field("library", &self.handle.api.path)
            .field("levels", &self.levels)
            .field("properties", &self.properties)
            .finish()
    }
}

/// An error about `path`.
fn slide_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Slide {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

impl OpenSlide {
    /// Opens `path` with OpenSlide's library: the one the environment
    /// variable `OPENSLIDE_DYLIB_PATH` names, else the system's
    /// (`libopenslide.so.1` or `libopenslide.so.0` on Linux,
    /// `libopenslide.1.dylib` on macOS, `libopenslide-1.dll` on Windows).
    /// The library is loaded once per process.
    ///
    /// Get the library with `apt install libopenslide0` (Debian 12,
    /// Ubuntu), `brew install openslide` (macOS), or from the
    /// `openslide-bin` wheel on PyPI (`python3 tools/fetch_openslide.py` in
    /// this crate's repository extracts it and prints the path to set).
    ///
    /// ```no_run
    /// use multiscale_lime::slide::{OpenSlide, Slide};
    ///
    /// // OPENSLIDE_DYLIB_PATH=target/openslide/libopenslide.so.1, or a system library
    /// let slide = OpenSlide::open("CMU-1-Small-Region.svs")?;
    /// assert_eq!(slide.properties().vendor, "aperio");
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Slide`] naming the file and the problem: it cannot be
    /// opened, OpenSlide does not recognise it as a slide, OpenSlide
    /// recognises it but cannot read it (its message), or OpenSlide's
    /// library is not found (where it was looked for, and how to get it).
    pub fn open(path: impl AsRef<Path>) -> Result<OpenSlide> {
        let path = path.as_ref();
        check_file(path)?;
        let api = default_library().map_err(|e| slide_error(path, e))?;
        open_with(path, api)
    }

    /// Opens `path` with the OpenSlide library at `library` (a path, or a
    /// file name for the system's loader to find), whatever
    /// `OPENSLIDE_DYLIB_PATH` says.
    ///
    /// ```no_run
    /// use multiscale_lime::slide::{OpenSlide, Slide};
    ///
    /// let slide = OpenSlide::open_with_library(
    ///     "CMU-1-Small-Region.svs",
    ///     "target/openslide/libopenslide.so.1",
    /// )?;
    /// let coarsest = slide.levels().len() - 1;
    /// let corner = slide.read_region(coarsest, 0, 0, 256, 256)?;
    /// corner.save("corner.png")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`OpenSlide::open`]; a `library` that cannot be loaded, or is not
    /// OpenSlide's, is an [`Error::Slide`] naming it.
    pub fn open_with_library(
        path: impl AsRef<Path>,
        library_path: impl AsRef<Path>,
    ) -> Result<OpenSlide> {
        let path = path.as_ref();
        check_file(path)?;
        let api = library(library_path.as_ref())
            .map_err(|e| slide_error(path, format!("OpenSlide's library: {e}; {HOW_TO_GET}")))?;
        open_with(path, api)
    }

    /// The file this slide reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The OpenSlide library reading it, as it was asked for (a path, or a
    /// name the system's loader found).
    pub fn library(&self) -> &Path {
        &self.handle.api.path
    }

    /// One of OpenSlide's properties of the slide, e.g.
    /// `"openslide.vendor"`, `"openslide.mpp-x"` or a vendor's own
    /// (`"aperio.AppMag"`); `None` when the slide has no such property.
    ///
    /// ```no_run
    /// use multiscale_lime::slide::OpenSlide;
    ///
    /// let slide = OpenSlide::open("CMU-1-Small-Region.svs")?;
    /// println!("{:?}", slide.property("aperio.AppMag"));
    /// # Ok::<(), multiscale_lime::Error>(())
    /// ```
    pub fn property(&self, name: &str) -> Option<String> {
        self.handle.property(name)
    }
}

/// A missing or unreadable file is reported as the OS says, before any
/// library is loaded.
fn check_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| slide_error(path, format!("cannot open: {e}")))
}

/// The path as OpenSlide takes it (bytes on Unix, UTF-8 on Windows).
fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| slide_error(path, "OpenSlide takes UTF-8 file names only"))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| slide_error(path, "the file name holds a NUL byte"))
}

/// Opens `path` with `api`: recognised, opened, levels and properties read.
fn open_with(path: &Path, api: &'static Api) -> Result<OpenSlide> {
    let name = c_path(path)?;
    let unrecognised = || {
        slide_error(
            path,
            format!(
                "OpenSlide ({}) does not recognise it as a slide (it reads Aperio SVS, \
                 Hamamatsu NDPI/VMS, MIRAX, Leica SCN, Philips, Sakura, Trestle, Ventana, \
                 Zeiss, DICOM and tiled TIFF)",
                api.path.display()
            ),
        )
    };
    // SAFETY: `name` is a NUL-terminated path; the vendor string is static
    // in the library and copied.
    let vendor = unsafe { copied((api.detect_vendor)(name.as_ptr())) };
    if vendor.is_none() {
        return Err(unrecognised());
    }
    // SAFETY: `name` is a NUL-terminated path; the result is NULL or a
    // handle owned from here on by `Handle` (closed on drop).
    let ptr = unsafe { (api.open)(name.as_ptr()) };
    let handle = Handle {
        ptr: NonNull::new(ptr).ok_or_else(unrecognised)?,
        api,
    };
    if let Some(e) = handle.error() {
        return Err(slide_error(path, format!("OpenSlide cannot read it: {e}")));
    }
    let levels = handle.levels().map_err(|e| slide_error(path, e))?;
    let properties = properties(|name| handle.property(name));
    Ok(OpenSlide {
        path: path.to_path_buf(),
        levels,
        properties,
        handle,
    })
}

/// OpenSlide's vendor names, as the `&'static str` of
/// [`SlideProperties::vendor`]; `"openslide"` for one this crate does not
/// know.
fn vendor(name: Option<&str>) -> &'static str {
    const KNOWN: &[&str] = &[
        "aperio",
        "dicom",
        "generic-tiff",
        "hamamatsu",
        "leica",
        "mirax",
        "philips",
        "sakura",
        "synthetic",
        "trestle",
        "ventana",
        "zeiss",
    ];
    name.and_then(|n| KNOWN.iter().find(|&&k| k == n).copied())
        .unwrap_or("openslide")
}

/// The properties from OpenSlide's standard ones (`get` looks one up).
fn properties(get: impl Fn(&str) -> Option<String>) -> SlideProperties {
    let positive = |name: &str| {
        get(name)?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let mpp = match (positive("openslide.mpp-x"), positive("openslide.mpp-y")) {
        (Some(x), Some(y)) => Some((x, y)),
        (Some(m), None) | (None, Some(m)) => Some((m, m)),
        (None, None) => None,
    };
    let integer = |name: &str| get(name)?.trim().parse::<i64>().ok();
    let bounds = (|| {
        let (x, y) = (
            integer("openslide.bounds-x")?,
            integer("openslide.bounds-y")?,
        );
        let width = u64::try_from(integer("openslide.bounds-width")?).ok()?;
        let height = u64::try_from(integer("openslide.bounds-height")?).ok()?;
        (width > 0 && height > 0).then_some(SlideBounds {
            x,
            y,
            width,
            height,
        })
    })();
    SlideProperties {
        mpp,
        objective_power: positive("openslide.objective-power"),
        vendor: vendor(get("openslide.vendor").as_deref()),
        bounds,
    }
}

impl Slide for OpenSlide {
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
        let l = self.levels[level];
        // The region in this level's pixels: one wholly outside the level
        // is white without asking OpenSlide (nor overflowing its
        // arithmetic with extreme coordinates).
        let (lx, ly) = (x as f64 / l.downsample, y as f64 / l.downsample);
        if lx + f64::from(width) <= 0.0
            || ly + f64::from(height) <= 0.0
            || lx >= l.width as f64
            || ly >= l.height as f64
        {
            return Ok(RgbImage::from_pixel(width, height, Rgb([255; 3])));
        }
        let mut argb = vec![0u32; width as usize * height as usize];
        // SAFETY: the handle is open; `argb` holds the `width`·`height`
        // pixels OpenSlide writes; `level` is below the level count (checked
        // above); the corner lies within a region's size of the level, so
        // OpenSlide's arithmetic does not overflow.
        unsafe {
            (self.handle.api.read_region)(
                self.handle.ptr.as_ptr(),
                argb.as_mut_ptr(),
                x,
                y,
                level as i32,
                i64::from(width),
                i64::from(height),
            );
        }
        if let Some(e) = self.handle.error() {
            return Err(slide_error(
                &self.path,
                format!(
                    "OpenSlide cannot read the {width}×{height} region at ({x}, {y}) of \
                     level {level}: {e}"
                ),
            ));
        }
        let mut rgb = Vec::with_capacity(argb.len() * 3);
        for p in argb {
            // Premultiplied ARGB over white: channel + (255 − alpha).
            let white = 255 - (p >> 24) as u8;
            rgb.extend([(p >> 16) as u8, (p >> 8) as u8, p as u8].map(|c| c.saturating_add(white)));
        }
        RgbImage::from_raw(width, height, rgb)
            .ok_or_else(|| slide_error(&self.path, "a region of the wrong size"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> SlideProperties {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        properties(|name| map.get(name).cloned())
    }

    #[test]
    fn properties_come_from_openslides_standard_ones() {
        let p = props(&[
            ("openslide.vendor", "mirax"),
            ("openslide.mpp-x", "0.2431"),
            ("openslide.mpp-y", "0.2432"),
            ("openslide.objective-power", "20"),
            ("openslide.bounds-x", "1200"),
            ("openslide.bounds-y", "3400"),
            ("openslide.bounds-width", "50000"),
            ("openslide.bounds-height", "70000"),
        ]);
        assert_eq!(p.vendor, "mirax");
        assert_eq!(p.mpp, Some((0.2431, 0.2432)));
        assert_eq!(p.objective_power, Some(20.0));
        assert_eq!(
            p.bounds,
            Some(SlideBounds {
                x: 1200,
                y: 3400,
                width: 50_000,
                height: 70_000
            })
        );
        let none = props(&[
            ("openslide.vendor", "a-new-scanner"),
            ("openslide.mpp-x", "0"),
            ("openslide.objective-power", "nan"),
            ("openslide.bounds-x", "0"),
        ]);
        assert_eq!(none.vendor, "openslide");
        assert_eq!(
            (none.mpp, none.objective_power, none.bounds),
            (None, None, None)
        );
        assert_eq!(props(&[("openslide.mpp-y", "0.5")]).mpp, Some((0.5, 0.5)));
    }
}
