//! `OpenSlide` (OpenSlide's C library, opened at run time: the one in the
//! `openslide-bin` wheel, fetched by `tools/fetch_openslide.py`) against
//! the pure-Rust `TiffSlide` on OpenSlide's CMU-1-Small-Region.svs and on
//! the fixtures of `tests/data/slides`: the same levels, resolution and
//! magnification; the same pixels, exactly where the compression is
//! lossless and within JPEG decoders' rounding where not (libjpeg-turbo
//! there, zune-jpeg here), white outside the level in both. Bad files,
//! bad libraries and bad requests are errors naming the path; no panic.

use std::path::{Path, PathBuf};

use image::RgbImage;
use multiscale_lime::slide::{OpenSlide, Slide, SlideLevel, TiffSlide};
use multiscale_lime::Error;
use multiscale_lime_testkit::{sample_diff, slide_error};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/slides")
}

fn library() -> PathBuf {
    multiscale_lime_testkit::openslide_library()
}

/// Whether the library is OpenSlide 3 (`libopenslide.so.0`, Debian 12's,
/// when `OPENSLIDE_DYLIB_PATH` names it) rather than the wheel's 4.x.
fn old_openslide() -> bool {
    library().to_string_lossy().contains("libopenslide.so.0")
}

fn open(path: &Path) -> OpenSlide {
    OpenSlide::open_with_library(path, library())
        .unwrap_or_else(|e| panic!("OpenSlide cannot open {}: {e}", path.display()))
}

/// Mean and largest absolute difference of two images' samples.
fn diff(a: &RgbImage, b: &RgbImage) -> (f64, u8) {
    assert_eq!(a.dimensions(), b.dimensions());
    sample_diff(a.as_raw(), b.as_raw())
}

/// Regions of `level` to compare, as (x, y, width, height) with the
/// corner in level-0 pixels on the level's own pixel grid: a corner, the
/// middle, one straddling the right and bottom edges, one partly before
/// the top-left corner, one wholly outside.
fn regions(level: SlideLevel) -> Vec<(i64, i64, u32, u32)> {
    let at = |lx: i64| (lx as f64 * level.downsample).round() as i64;
    let (w, h) = (level.width as i64, level.height as i64);
    let side = |n: i64| n.clamp(1, 256) as u32;
    vec![
        (0, 0, side(w), side(h)),
        (at(w / 3), at(h / 3), side(w / 2), side(h / 2)),
        (at(w - w.min(100) / 2), at(h - h.min(80) / 2), 96, 64),
        (at(-17), at(-9), side(w / 2) + 17, side(h / 2) + 9),
        (at(w + 5), at(h + 5), 16, 16),
    ]
}

/// Whether (x, y) of a region read at (rx, ry) of `level` lies outside the
/// level.
fn outside(level: SlideLevel, (rx, ry): (i64, i64), x: u32, y: u32) -> bool {
    let lx = (rx as f64 / level.downsample).round() as i64 + i64::from(x);
    let ly = (ry as f64 / level.downsample).round() as i64 + i64::from(y);
    lx < 0 || ly < 0 || lx >= level.width as i64 || ly >= level.height as i64
}

/// Compares every region of every level OpenSlide reports; returns the
/// worst mean and max difference, after checking that pixels outside the
/// level are white in both.
fn compare_regions(name: &str, theirs: &OpenSlide, ours: &TiffSlide) -> (f64, u8) {
    let (mut worst_mean, mut worst_max) = (0.0f64, 0u8);
    for (l, &level) in theirs.levels().iter().enumerate() {
        for (x, y, w, h) in regions(level) {
            let a = theirs.read_region(l, x, y, w, h).unwrap();
            let b = ours.read_region(l, x, y, w, h).unwrap();
            for (px, py, p) in a.enumerate_pixels() {
                if outside(level, (x, y), px, py) {
                    assert_eq!(
                        p.0, [255; 3],
                        "{name} L{l} ({x}, {y}): OpenSlide, ({px}, {py})"
                    );
                    assert_eq!(b.get_pixel(px, py).0, [255; 3], "{name}: TiffSlide");
                }
            }
            let (mean, max) = diff(&a, &b);
            println!("{name} level {l} region ({x}, {y}) {w}×{h}: mean {mean:.4}, max {max}");
            worst_mean = worst_mean.max(mean);
            worst_max = worst_max.max(max);
        }
    }
    (worst_mean, worst_max)
}

fn assert_same_levels(name: &str, theirs: &[SlideLevel], ours: &[SlideLevel]) {
    assert!(theirs.len() <= ours.len(), "{name}: {theirs:?} {ours:?}");
    for (a, b) in theirs.iter().zip(ours) {
        assert_eq!((a.width, a.height), (b.width, b.height), "{name}");
        assert!(
            (a.downsample - b.downsample).abs() <= 1e-6 * b.downsample,
            "{name}: {a:?} {b:?}"
        );
    }
}

#[test]
fn both_readers_agree_on_the_svs() {
    let svs = multiscale_lime_testkit::test_slide();
    let theirs = open(&svs);
    let ours = TiffSlide::open(&svs).unwrap();
    assert_eq!(theirs.levels().len(), ours.levels().len());
    assert_same_levels("svs", theirs.levels(), ours.levels());
    let (a, b) = (theirs.properties(), ours.properties());
    assert_eq!((a.vendor, b.vendor), ("aperio", "aperio"));
    let ((ax, ay), (bx, by)) = (a.mpp.unwrap(), b.mpp.unwrap());
    assert!(
        (ax - bx).abs() < 1e-9 && (ay - by).abs() < 1e-9,
        "{a:?} {b:?}"
    );
    assert_eq!(a.objective_power, Some(20.0));
    assert_eq!(a.objective_power, b.objective_power);
    assert_eq!((a.bounds, b.bounds), (None, None));
    assert_eq!(theirs.property("aperio.AppMag").as_deref(), Some("20"));
    assert_eq!(theirs.property("no.such.property"), None);
    assert_eq!(theirs.path(), svs.as_path());
    assert_eq!(theirs.library(), library().as_path());
    let (mut mean, mut max) = compare_regions("svs", &theirs, &ours);
    // And the whole level 0 (6.6 Mpx, 13×13 JPEG tiles of 240).
    let level0 = theirs.levels()[0];
    let (w, h) = (level0.width as u32, level0.height as u32);
    let (whole_mean, whole_max) = diff(
        &theirs.read_region(0, 0, 0, w, h).unwrap(),
        &ours.read_region(0, 0, 0, w, h).unwrap(),
    );
    println!("svs level 0 whole {w}×{h}: mean {whole_mean:.4}, max {whole_max}");
    (mean, max) = (mean.max(whole_mean), max.max(whole_max));
    println!("svs: worst mean {mean:.4}, worst max {max}");
    // libjpeg-turbo (OpenSlide) and zune-jpeg differ by rounding.
    assert!(mean < 1.0 && max <= 16, "svs: mean {mean:.4}, max {max}");
}

#[test]
fn both_readers_agree_on_the_fixtures() {
    let index = std::fs::read_to_string(data().join("index.txt")).unwrap();
    let names: Vec<&str> = index
        .lines()
        .filter_map(|l| l.strip_prefix("slide "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| !n.ends_with(".svs"))
        .collect();
    assert_eq!(names.len(), 5);
    for name in names {
        let path = data().join(name);
        let theirs = open(&path);
        let ours = TiffSlide::open(&path).unwrap();
        // OpenSlide's generic-tiff reads the levels chained as pages, not
        // OME-TIFF's SubIFDs: of the OME fixture it sees level 0 only.
        let ome = name.contains(".ome.");
        let levels = if ome { 1 } else { ours.levels().len() };
        assert_eq!(theirs.levels().len(), levels, "{name}");
        assert_same_levels(name, theirs.levels(), ours.levels());
        assert_eq!(theirs.properties().vendor, "generic-tiff", "{name}");
        // OME's resolution is in its XML, which OpenSlide does not read;
        // OpenSlide 3.4 (Debian 12's) reads no generic TIFF's resolution.
        if theirs.properties().mpp.is_some() || (!ome && !old_openslide()) {
            assert_eq!(theirs.properties().mpp, ours.properties().mpp, "{name}");
        }
        assert_eq!(theirs.properties().bounds, None, "{name}");
        let (mean, max) = compare_regions(name, &theirs, &ours);
        println!("{name}: worst mean {mean:.4}, worst max {max}");
        if name.contains("jpeg") {
            assert!(mean < 1.0 && max <= 16, "{name}: mean {mean:.4}, max {max}");
        } else {
            assert_eq!(max, 0, "{name}: lossless, yet the readers differ");
        }
    }
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openslide-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.svs");
    let (path, reason) = slide_error(OpenSlide::open_with_library(&missing, library()));
    assert_eq!(path, missing.display().to_string());
    assert!(reason.contains("cannot open"), "{reason}");
    // A missing file is reported as such whatever the library.
    let (_, reason) = slide_error(OpenSlide::open_with_library(&missing, "/no/such/lib.so"));
    assert!(reason.contains("cannot open"), "{reason}");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a slide\n").unwrap();
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ihc_patch96.png");
    for file in [&text, &png] {
        let (path, reason) = slide_error(OpenSlide::open_with_library(file, library()));
        assert_eq!(path, file.display().to_string());
        assert!(
            reason.contains("does not recognise it as a slide"),
            "{reason}"
        );
    }
    // Recognised (a tiled TIFF) but unreadable: OpenSlide's own message.
    let jp2 = data().join("jpeg2000.tif");
    let (path, reason) = slide_error(OpenSlide::open_with_library(&jp2, library()));
    assert!(path.ends_with("jpeg2000.tif"), "{path}");
    assert!(reason.contains("OpenSlide cannot read it"), "{reason}");
    println!("jpeg2000.tif: {reason}");
}

#[test]
fn bad_libraries_are_errors_naming_the_library() {
    let svs = multiscale_lime_testkit::test_slide();
    let not_there = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-libopenslide.so");
    let not_a_library = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    for bad in [&not_there, &not_a_library] {
        let (path, reason) = slide_error(OpenSlide::open_with_library(&svs, bad));
        assert_eq!(path, svs.display().to_string());
        assert!(reason.contains(&bad.display().to_string()), "{reason}");
        println!("{}: {reason}", bad.display());
        assert!(
            reason.contains("fetch_openslide.py") && reason.contains("OPENSLIDE_DYLIB_PATH"),
            "{reason}"
        );
    }
    // A library, but not OpenSlide's.
    #[cfg(target_os = "linux")]
    {
        let (_, reason) = slide_error(OpenSlide::open_with_library(&svs, "libm.so.6"));
        assert!(
            reason.contains("libm.so.6 is not OpenSlide's library"),
            "{reason}"
        );
    }
}

/// Runs this test binary's `open_finds_the_library_through_the_environment_child`
/// with `OPENSLIDE_DYLIB_PATH` set to `library` (removed for `None`).
fn child(library: Option<&Path>) -> String {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "open_finds_the_library_through_the_environment_child",
            "--nocapture",
        ])
        .env("MSLIME_OPENSLIDE_CHILD", "1");
    match library {
        Some(path) => command.env("OPENSLIDE_DYLIB_PATH", path),
        None => command.env_remove("OPENSLIDE_DYLIB_PATH"),
    };
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    stdout
}

#[test]
fn open_finds_the_library_through_the_environment() {
    let ok = child(Some(&library()));
    assert!(ok.contains("opened by"), "{ok}");
    let bad = Path::new("/nonexistent/libopenslide.so.1");
    let out = child(Some(bad));
    assert!(
        out.contains("error: ")
            && out.contains("from OPENSLIDE_DYLIB_PATH")
            && out.contains(&bad.display().to_string()),
        "{out}"
    );
    // Without the variable: the system's library, or an error that says
    // where it looked and how to get one.
    let out = child(None);
    println!("without OPENSLIDE_DYLIB_PATH: {out}");
    assert!(
        out.contains("opened by")
            || (out.contains("libopenslide.so.1")
                && out.contains("apt install libopenslide0")
                && out.contains("fetch_openslide.py")),
        "{out}"
    );
}

/// The child of the test above (does nothing unless it runs as one).
#[test]
fn open_finds_the_library_through_the_environment_child() {
    if std::env::var_os("MSLIME_OPENSLIDE_CHILD").is_none() {
        return;
    }
    match OpenSlide::open(multiscale_lime_testkit::test_slide()) {
        Ok(slide) => println!("opened by {}", slide.library().display()),
        Err(e) => println!("error: {e}"),
    }
}

#[test]
fn bad_requests_are_typed_errors_and_reads_share_the_handle() {
    fn shared<T: Send + Sync>(_: &T) {}
    let slide = open(&data().join("pyramid_lzw.tif"));
    shared(&slide);
    let invalid = |r: Result<RgbImage, Error>| match r {
        Err(Error::InvalidParameter { name, value, .. }) => (name, value),
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    assert_eq!(
        invalid(slide.read_region(2, 0, 0, 8, 8)),
        ("level", "2".into())
    );
    assert_eq!(
        invalid(slide.read_region(0, 0, 0, 0, 8)),
        ("region", "0×8".into())
    );
    // Extreme coordinates are outside, not an overflow in C.
    for (x, y) in [(i64::MAX - 1, i64::MIN + 1), (i64::MIN, 0), (0, i64::MAX)] {
        let far = slide.read_region(0, x, y, 4, 4).unwrap();
        assert!(far.pixels().all(|p| p.0 == [255; 3]), "({x}, {y})");
    }
    // Reads from several threads at once equal reads from one.
    let tiles: Vec<(i64, i64)> = (0..4)
        .flat_map(|y| (0..6).map(move |x| (x * 50, y * 50)))
        .collect();
    let alone: Vec<RgbImage> = tiles
        .iter()
        .map(|&(x, y)| slide.read_region(0, x, y, 50, 50).unwrap())
        .collect();
    let slide = &slide;
    let together: Vec<RgbImage> = std::thread::scope(|s| {
        let handles: Vec<_> = tiles
            .iter()
            .map(|&(x, y)| s.spawn(move || slide.read_region(0, x, y, 50, 50).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together);
    // Opened and dropped many times: each handle is closed.
    for _ in 0..50 {
        drop(open(&data().join("pyramid_lzw.tif")));
    }
}
