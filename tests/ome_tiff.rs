//! The slide map's OME-TIFF read back by tifffile: an OME file whose one
//! series is the map and its halvings (tifffile's `series[0].levels`, read
//! from the SubIFDs), `float32`, the physical pixel size and unit in the
//! OME-XML and the resolution tags, every level's pixels as written (NaN
//! where the map has none) — level 0 bit for bit, the halvings against
//! their definition computed here.

use std::path::Path;
use std::process::Command;

use multiscale_lime::ndarray::Array2;
use multiscale_lime::slide::write_ome_tiff;
use multiscale_lime::Error;
use multiscale_lime_testkit::tifffile_python;
use ndarray_npy::read_npy;

const READ: &str = r#"
import sys, numpy as np, tifffile, xml.etree.ElementTree as ET
path, out = sys.argv[1], sys.argv[2]
with tifffile.TiffFile(path) as tif:
    series = tif.series[0]
    print("is_ome", int(tif.is_ome))
    print("series", len(tif.series))
    print("dtype", series.dtype)
    print("shapes", *[f"{l.shape[0]}x{l.shape[1]}" for l in series.levels])
    pixels = ET.fromstring(tif.ome_metadata).find(".//{*}Pixels")
    print("physical", pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeY"))
    print("unit", pixels.get("PhysicalSizeXUnit"))
    print("channel", pixels.find("{*}Channel").get("Name"))
    tags = tif.pages[0].tags
    if "XResolution" in tags:
        x = tags["XResolution"].value
        print("resolution", x[0] / x[1], int(tags["ResolutionUnit"].value))
    else:
        print("resolution", "none")
    print("tile", tif.pages[0].tilewidth, tif.pages[0].tilelength)
    for i, level in enumerate(series.levels):
        np.save(f"{out}/level{i}.npy", level.asarray().astype(np.float32))
"#;

/// tifffile's report on `path`, as `key → words`; levels saved in `dir`.
fn tifffile_read(path: &Path, dir: &Path) -> Vec<(String, Vec<String>)> {
    let out = Command::new(tifffile_python())
        .args(["-c", READ])
        .arg(path)
        .arg(dir)
        .output()
        .expect("run python with tifffile");
    assert!(
        out.status.success(),
        "tifffile could not read {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            (words.next().unwrap(), words.collect())
        })
        .collect()
}

fn value<'a>(report: &'a [(String, Vec<String>)], key: &str) -> &'a [String] {
    &report.iter().find(|(k, _)| k == key).unwrap().1
}

/// Each cell the mean of the finite values of its 2×2 block, NaN if none.
fn halve(map: &Array2<f32>) -> Array2<f32> {
    let (h, w) = map.dim();
    Array2::from_shape_fn((h.div_ceil(2), w.div_ceil(2)), |(y, x)| {
        let block: Vec<f64> = (2 * y..(2 * y + 2).min(h))
            .flat_map(|yy| (2 * x..(2 * x + 2).min(w)).map(move |xx| (yy, xx)))
            .map(|(yy, xx)| f64::from(map[[yy, xx]]))
            .filter(|v| v.is_finite())
            .collect();
        if block.is_empty() {
            f32::NAN
        } else {
            (block.iter().sum::<f64>() / block.len() as f64) as f32
        }
    })
}

fn same_bits(a: &Array2<f32>, b: &Array2<f32>, what: &str) {
    assert_eq!(a.dim(), b.dim(), "{what}");
    for ((at, x), y) in a.indexed_iter().zip(b) {
        assert!(
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            "{what} at {at:?}: {x} vs {y}"
        );
    }
}

#[test]
fn tifffile_reads_the_pyramid_pixel_size_and_values() {
    let dir = std::env::temp_dir().join(format!("mslime-ome-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A map with gaps (NaN, no tissue), odd sizes and a ramp, over two
    // tiles wide: 4 levels (601×1100 down to the first within 256).
    let map = Array2::from_shape_fn((601, 1100), |(y, x)| {
        if (x / 97 + y / 53) % 5 == 0 {
            f32::NAN
        } else {
            (x as f32 * 0.37 - y as f32 * 0.11).sin()
        }
    });
    let path = dir.join("relevance.ome.tif");
    write_ome_tiff(&path, map.view(), Some((4.0, 3.5)), "relevance & <co>").unwrap();
    let report = tifffile_read(&path, &dir);
    assert_eq!(value(&report, "is_ome"), ["1"]);
    assert_eq!(
        value(&report, "series"),
        ["1"],
        "the halvings are levels, not series"
    );
    assert_eq!(value(&report, "dtype"), ["float32"]);
    assert_eq!(
        value(&report, "shapes"),
        ["601x1100", "301x550", "151x275", "76x138"]
    );
    assert_eq!(value(&report, "physical"), ["4", "3.5"]);
    assert_eq!(value(&report, "unit"), ["µm"]);
    assert_eq!(value(&report, "channel").join(" "), "relevance & <co>");
    // 4 µm per pixel: 2500 pixels per centimetre.
    assert_eq!(value(&report, "resolution"), ["2500.0", "3"]);
    assert_eq!(value(&report, "tile"), ["256", "256"]);
    let mut expected = map;
    for level in 0..4 {
        let read: Array2<f32> = read_npy(dir.join(format!("level{level}.npy"))).unwrap();
        same_bits(&read, &expected, &format!("level {level}"));
        expected = halve(&expected);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_tile_maps_have_no_reduced_levels_and_no_pixel_size_is_allowed() {
    let dir = std::env::temp_dir().join(format!("mslime-ome-small-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = Array2::from_shape_fn((3, 5), |(y, x)| (y * 5 + x) as f32);
    let path = dir.join("small.ome.tif");
    write_ome_tiff(&path, map.view(), None, "p").unwrap();
    let report = tifffile_read(&path, &dir);
    assert_eq!(value(&report, "shapes"), ["3x5"]);
    assert_eq!(value(&report, "physical"), ["None", "None"]);
    assert_eq!(value(&report, "resolution"), ["none"]);
    let read: Array2<f32> = read_npy(dir.join("level0.npy")).unwrap();
    same_bits(&read, &map, "level 0");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_maps_sizes_and_paths_are_errors_naming_them() {
    let map = Array2::<f32>::zeros((4, 4));
    let tmp = std::env::temp_dir().join("mslime-ome-bad.tif");
    let empty = Array2::<f32>::zeros((0, 4));
    let err = write_ome_tiff(&tmp, empty.view(), None, "x").unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    for size in [
        (0.0, 1.0),
        (f64::NAN, 1.0),
        (1.0, -2.0),
        (f64::INFINITY, 1.0),
    ] {
        let err = write_ome_tiff(&tmp, map.view(), Some(size), "x").unwrap_err();
        assert!(err.to_string().contains("pixel_size_um"), "{err}");
    }
    let err = write_ome_tiff(&tmp, map.view(), None, "a\u{0}b").unwrap_err();
    assert!(err.to_string().contains("channel"), "{err}");
    let nowhere = Path::new("/nonexistent-dir/relevance.ome.tif");
    let err = write_ome_tiff(nowhere, map.view(), None, "x").unwrap_err();
    assert!(matches!(err, Error::Slide { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("/nonexistent-dir/relevance.ome.tif"),
        "{err}"
    );
}
