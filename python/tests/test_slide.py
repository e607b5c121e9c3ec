"""Whole-slide images from Python: ``Slide`` against tifffile's pixels on
the committed fixtures of ``tests/data/slides`` (and OpenSlide's
CMU-1-Small-Region.svs, which tests/pytest.rs fetches), tiles against a
count made here from the mask, ``predict_tiles`` against the model on
``read_tile``'s pixels, ``stitch`` against a block mean, ``write_ome_tiff``
read back by tifffile, the QuPath GeoJSON, OpenSlide's reader (its library
named by ``OPENSLIDE_DYLIB_PATH``, which tests/pytest.rs sets), and the
errors."""

import ast
import inspect
import json
import math
import os
import pathlib

import numpy as np
import pytest
import tifffile

import multiscale_lime as ml

from conftest import ROOT, dark_share

DATA = ROOT / "tests" / "data" / "slides"
STUB = pathlib.Path(ml.__file__).with_name("_core.pyi")
SVS = os.environ.get("MULTISCALE_LIME_TEST_SLIDE")
OPENSLIDE = os.environ.get("OPENSLIDE_DYLIB_PATH")


def index(kind):
    """index.txt's lines of ``kind``, split into words."""
    lines = (DATA / "index.txt").read_text().splitlines()
    return [line.split() for line in lines if line.split()[:1] == [kind]]


def path_of(name):
    if name.endswith(".svs"):
        if not SVS:
            pytest.skip("MULTISCALE_LIME_TEST_SLIDE is not set (tests/pytest.rs sets it)")
        return SVS
    return str(DATA / name)


def lossy(name):
    return "jpeg" in name or name.endswith(".svs")


def assert_pixels(got, want, jpeg, what):
    assert got.dtype == np.uint8 and got.shape == want.shape, what
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    if jpeg:
        # Two JPEG decoders (zune-jpeg here, libjpeg-turbo in imagecodecs
        # and OpenSlide) differ by rounding and chroma upsampling.
        assert diff.mean() < 1.0 and diff.max() <= 16, (what, diff.mean(), diff.max())
    else:
        assert diff.max() == 0, f"{what}: lossless, yet pixels differ"


@pytest.mark.parametrize("row", index("region"), ids=lambda r: r[-1])
def test_regions_equal_tifffiles_pixels(row):
    name, level, x, y, w, h, reference = row[1], *map(int, row[2:7]), row[7]
    slide = ml.Slide(path_of(name))
    downsample = slide.levels[level][2]
    # index.txt gives the corner in the level's pixels; read_region takes
    # level-0 coordinates.
    got = slide.read_region(level, int(x * downsample), int(y * downsample), w, h)
    assert_pixels(got, np.load(DATA / reference), lossy(name), reference)


@pytest.mark.parametrize("row", index("slide"), ids=lambda r: r[1])
def test_levels_and_resolution_are_the_files(row):
    slide = ml.Slide(path_of(row[1]))
    sizes = [tuple(map(int, d.split("x"))) for d in row[4:]]
    assert [(w, h) for w, h, _ in slide.levels] == sizes
    for w, _, downsample in slide.levels:
        assert downsample == pytest.approx(sizes[0][0] / w, abs=1e-9)
    if row[2] == "-":
        assert slide.mpp is None
    else:
        assert slide.mpp == pytest.approx((float(row[2]),) * 2, abs=1e-9)
    assert slide.objective_power == (None if row[3] == "-" else float(row[3]))
    assert slide.bounds is None
    assert slide.reader == "tiff" and slide.path == path_of(row[1])
    assert repr(slide) == f"Slide({path_of(row[1])!r}, reader='tiff')"


def test_the_vendor_names_the_format():
    assert ml.Slide(DATA / "ome_subifd.ome.tif").vendor == "ome-tiff"
    assert ml.Slide(DATA / "pyramid_lzw.tif").vendor == "generic-tiff"
    if SVS:
        assert ml.Slide(SVS).vendor == "aperio"


def test_outside_the_slide_is_white_and_corners_are_level_zero():
    slide = ml.Slide(DATA / "pyramid_deflate.tif")
    whole = slide.read_region(1, 0, 0, 200, 150)
    edge = slide.read_region(1, 2 * 180, 2 * 140, 40, 20)
    assert np.array_equal(edge[:10, :20], whole[140:, 180:])
    assert (edge[10:] == 255).all() and (edge[:, 20:] == 255).all()
    assert slide.best_level_for_downsample(3.0) == 1


def expected_tiles(level0, mask, size, downsample, stride, min_tissue):
    """The grid and the tissue rule, computed here: tiles of ``size`` at
    ``downsample`` every ``stride`` tile pixels that fit inside level 0,
    kept where the share of tissue in the mask cells they cover (floor of
    the corners over the mask's downsample, at least one cell) is at least
    ``min_tissue``."""
    (width, height), cells, ds = level0, mask.mask, mask.downsample
    extent, step = round(size * downsample), stride * downsample
    kept = set()
    for row in range(int((height - extent) // step) + 1):
        for col in range(int((width - extent) // step) + 1):
            x, y = round(col * step), round(row * step)
            x0, y0 = math.floor(x / ds), math.floor(y / ds)
            x1 = min(max(math.floor((x + extent) / ds), x0 + 1), cells.shape[1])
            y1 = min(max(math.floor((y + extent) / ds), y0 + 1), cells.shape[0])
            share = cells[y0:y1, x0:x1].mean() if x0 < x1 and y0 < y1 else 0.0
            if share >= min_tissue:
                kept.add((x, y, extent, extent, col, row))
    return kept


@pytest.mark.parametrize(
    "name, size, downsample, stride, min_tissue",
    [
        ("pyramid_jpeg.tif", 96, 2.0, 96, 0.5),
        ("pyramid_jpeg.tif", 64, 1.0, 48, 0.3),
        ("pyramid_jpeg.tif", 50, 3.0, 50, 0.0),
        ("pyramid_deflate.tif", 32, 1.5, 20, 0.5),
    ],
)
def test_tiles_are_the_grid_kept_on_the_mask(name, size, downsample, stride, min_tissue):
    slide = ml.Slide(DATA / name)
    (width, height, _) = slide.levels[0]
    mask = slide.detect_tissue(max_side=250)
    assert mask.mask.dtype == np.bool_ and 0 < mask.mask.mean() < 1
    tiles = slide.tiles(
        size, downsample=downsample, stride=stride, min_tissue=min_tissue, max_side=250
    )
    assert tiles.dtype == np.int64 and tiles.shape[1] == 6
    want = expected_tiles((width, height), mask, size, downsample, stride, min_tissue)
    assert len(tiles) == len(want) > 0
    assert {tuple(map(int, t)) for t in tiles} == want
    x, y, w, h = tiles[:, 0], tiles[:, 1], tiles[:, 2], tiles[:, 3]
    assert (x >= 0).all() and (y >= 0).all()
    assert (x + w <= width).all() and (y + h <= height).all()
    # The mask passed in is the one used by default.
    again = slide.tiles(size, downsample=downsample, stride=stride, min_tissue=min_tissue, mask=mask)
    assert np.array_equal(again, tiles)
    for t in tiles[:5]:
        assert mask.fraction(*map(int, t[:4])) >= min_tissue


def test_tiles_on_a_hand_made_mask():
    slide = ml.Slide(DATA / "pyramid_deflate.tif")  # 400×300
    # The left half is tissue, at 10 level-0 pixels per mask cell.
    cells = np.zeros((30, 40), dtype=bool)
    cells[:, :20] = True
    mask = ml.TissueMask(cells, 10.0)
    everything = slide.tiles(64, min_tissue=0.0, mask=mask)
    assert len(everything) == 6 * 4  # (400 - 64) // 64 + 1 by (300 - 64) // 64 + 1
    # A tile of 64 from x = 192 covers cells 19–24: one of six tissue.
    kept = slide.tiles(64, mask=mask)
    assert sorted(set(kept[:, 0])) == [0, 64, 128] and len(kept) == 3 * 4
    assert mask.fraction(192, 0, 64, 64) == pytest.approx(1 / 6)
    # At downsample 2, stride 48: tiles of 128 level-0 pixels every 96.
    grid = slide.tiles((64, 64), downsample=2, stride=48, min_tissue=0.0, mask=mask)
    assert [tuple(t) for t in grid] == [
        (x, y, 128, 128, c, r) for r, y in enumerate((0, 96)) for c, x in enumerate((0, 96, 192))
    ]


def test_tiles_at_a_resolution_are_tiles_at_its_downsample():
    slide = ml.Slide(DATA / "pyramid_jpeg.tif")  # 0.5 µm/px
    mask = slide.detect_tissue(250)
    by_mpp = slide.tiles(96, mpp=1.0, mask=mask)
    assert np.array_equal(by_mpp, slide.tiles(96, downsample=2.0, mask=mask))
    tile = by_mpp[0]
    assert np.array_equal(slide.read_tile(tile, 96, mpp=1.0), slide.read_tile(tile, 96, downsample=2))


def test_read_tile_reads_the_level_or_resamples():
    slide = ml.Slide(DATA / "pyramid_jpeg.tif")
    tile = [192, 96, 192, 192, 1, 1]
    # At level 1 exactly: the level's pixels.
    at_level = slide.read_tile(tile, 96, downsample=2)
    assert np.array_equal(at_level, slide.read_region(1, 192, 96, 96, 96))
    # Between levels: (w, h) pixels, resampled from the finer level.
    between = slide.read_tile([0, 0, 150, 120], (50, 40), downsample=3)
    assert between.shape == (40, 50, 3) and between.dtype == np.uint8


def test_predict_tiles_is_the_model_on_read_tiles_pixels():
    slide = ml.Slide(DATA / "pyramid_jpeg.tif")
    tiles = slide.tiles(64, downsample=2, min_tissue=0.0)
    assert len(tiles) > 8
    batches = []

    def model(batch):
        batches.append(batch.shape)
        return dark_share(batch)

    scores = slide.predict_tiles(model, tiles, 64, downsample=2, batch=5)
    assert scores.dtype == np.float32 and scores.shape == (len(tiles), 2)
    pixels = np.stack([slide.read_tile(t, 64, downsample=2) for t in tiles])
    want = dark_share(pixels.astype(np.float32) / 255)
    assert np.array_equal(scores, want)
    # The first tile alone (to learn the class count), then batches of 5.
    assert batches[0] == (1, 64, 64, 3)
    assert [b[0] for b in batches[1:]] == [5] * (len(tiles) // 5) + [len(tiles) % 5] * (len(tiles) % 5 > 0)
    assert all(b[1:] == (64, 64, 3) for b in batches)
    # No tiles: no call.
    empty = slide.predict_tiles(model, np.zeros((0, 6), dtype=np.int64), 64, batch=5)
    assert empty.shape == (0, 0) and len(batches) == 1 + math.ceil(len(tiles) / 5)


def test_predict_tiles_reraises_the_models_exception():
    slide = ml.Slide(DATA / "pyramid_lzw.tif")
    tiles = slide.tiles(32, min_tissue=0.0)
    calls = []

    def model(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyError("model failed")
        return dark_share(batch)

    with pytest.raises(KeyError, match="model failed"):
        slide.predict_tiles(model, tiles, 32, batch=4)
    assert len(calls) == 3
    with pytest.raises(ml.InvalidInputError, match="non-finite"):
        slide.predict_tiles(lambda b: np.full((len(b), 2), np.nan), tiles, 32)


def block_mean(level0, tiles, maps, downsample):
    """Each tile's values on level 0 (one value per level-0 pixel), then
    the mean of every downsample×downsample block, NaN where none."""
    width, height = level0
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    for (x, y, w, h, *_), values in zip(tiles, maps):
        finite = np.isfinite(values)
        total[y : y + h, x : x + w] += np.where(finite, values, 0.0)
        count[y : y + h, x : x + w] += finite
    rows, cols = math.ceil(height / downsample), math.ceil(width / downsample)
    pad = ((0, rows * downsample - height), (0, cols * downsample - width))
    blocks = lambda a: np.pad(a, pad).reshape(rows, downsample, cols, downsample).sum(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        return (blocks(total) / blocks(count)).astype(np.float32)


def test_stitch_is_a_block_mean():
    rng = np.random.default_rng(3)
    tiles = np.array([[0, 0, 8, 8, 0, 0], [4, 4, 8, 8, 1, 1], [12, 0, 8, 8, 3, 0], [8, 8, 6, 4, 2, 2]])
    maps = [rng.random((h, w)).astype(np.float32) for _, _, w, h, _, _ in tiles]
    maps[1][2, 3] = np.nan  # skipped
    got = ml.stitch((22, 13), tiles, maps, 4)
    assert got.dtype == np.float32 and got.shape == (4, 6)
    want = block_mean((22, 13), tiles, maps, 4)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[:, 5]).all()  # no tile reached x ≥ 20
    # A Slide gives its level 0; a 3-D array is one map per tile.
    slide = ml.Slide(DATA / "pyramid_deflate.tif")
    rows = slide.tiles(100, min_tissue=0.0)
    maps = np.ones((len(rows), 10, 10), dtype=np.float32)
    assert ml.stitch(slide, rows, maps, 16).shape == (math.ceil(300 / 16), math.ceil(400 / 16))


def test_write_ome_tiff_reads_back_with_tifffile(tmp_path):
    values = np.linspace(-1, 1, 600 * 300, dtype=np.float32).reshape(300, 600)
    values[:10, :10] = np.nan
    path = tmp_path / "relevance.ome.tif"
    ml.write_ome_tiff(path, values, pixel_size_um=4.0, channel="relevance")
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        levels = tif.series[0].levels
        assert [level.shape for level in levels] == [(300, 600), (150, 300), (75, 150)]
        level0 = levels[0].asarray()
        assert level0.dtype == np.float32
        assert np.array_equal(level0, values, equal_nan=True)
        meta = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Pixels"]
        assert meta["PhysicalSizeX"] == pytest.approx(4.0)
        assert meta["PhysicalSizeY"] == pytest.approx(4.0)
        assert meta["Channel"]["Name"] == "relevance"
    ml.write_ome_tiff(tmp_path / "plain.ome.tif", np.zeros((5, 7)), (0.5, 0.25), "uncertainty")
    with tifffile.TiffFile(tmp_path / "plain.ome.tif") as tif:
        meta = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Pixels"]
        assert (meta["PhysicalSizeX"], meta["PhysicalSizeY"]) == pytest.approx((0.5, 0.25))
        assert tif.series[0].levels[0].shape == (5, 7)
    with pytest.raises(ml.InvalidInputError, match="pixel_size_um"):
        ml.write_ome_tiff(tmp_path / "bad.ome.tif", values, pixel_size_um=-1.0)
    with pytest.raises(ml.SlideError, match="no-such-folder"):
        ml.write_ome_tiff(tmp_path / "no-such-folder" / "x.ome.tif", values)


def test_qupath_geojson_holds_tiles_and_explained_superpixels():
    slide = ml.Slide(DATA / "pyramid_jpeg.tif")
    mask = slide.detect_tissue(250)
    tiles = slide.tiles(64, downsample=2, mask=mask)
    scores = slide.predict_tiles(dark_share, tiles, 64, downsample=2)
    tissue = [mask.fraction(*map(int, t[:4])) for t in tiles]
    chosen = tiles[:2]
    explanations = [
        ml.explain(slide.read_tile(t, 64, downsample=2), dark_share, levels=(4, 9), seed=0)
        for t in chosen
    ]
    text = ml.qupath_geojson(
        tiles, scores, ["light", "dark"], zip(chosen, explanations), tissue=tissue, offset=(10, 20)
    )
    features = json.loads(text)["features"]
    superpixels = sum(level.actual for e in explanations for level in e.levels)
    assert len(features) == len(tiles) + superpixels
    first = features[0]
    assert first["properties"]["objectType"] == "tile"
    x, y, w, h = map(int, tiles[0][:4])
    ring = first["geometry"]["coordinates"][0]
    assert ring[0] == [x - 10, y - 20] and ring[2] == [x + w - 10, y + h - 20]
    m = first["properties"]["measurements"]
    assert m["P(light)"] == pytest.approx(float(scores[0, 0]))
    assert m["P(dark)"] == pytest.approx(float(scores[0, 1]))
    assert m["tissue"] == pytest.approx(tissue[0])
    detections = features[len(tiles) :]
    assert {f["properties"]["objectType"] for f in detections} == {"detection"}
    assert {"relevance", "coefficient", "level", "superpixels"} <= set(detections[0]["properties"]["measurements"])
    # The first explained tile's superpixels lie inside it.
    for f in detections[: sum(level.actual for level in explanations[0].levels)]:
        points = np.array([p for poly in _polygons(f["geometry"]) for ring in poly for p in ring])
        assert (points[:, 0] >= x - 10).all() and (points[:, 0] <= x + w - 10).all()
        assert (points[:, 1] >= y - 20).all() and (points[:, 1] <= y + h - 20).all()
    # Without explanations or tissue: the tiles alone, tissue null.
    plain = json.loads(ml.qupath_geojson(tiles, scores, ["light", "dark"]))["features"]
    assert len(plain) == len(tiles) and plain[0]["properties"]["measurements"]["tissue"] is None
    with pytest.raises(ml.InvalidInputError, match="rows"):
        ml.qupath_geojson(tiles, scores[:-1], ["light", "dark"])
    with pytest.raises(ml.InvalidInputError, match="explanations"):
        ml.qupath_geojson(tiles, scores, ["light", "dark"], [explanations[0]])


def _polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def test_errors_name_the_file_or_the_value(tmp_path):
    missing = tmp_path / "missing.tif"
    with pytest.raises(ml.SlideError, match="missing.tif.*cannot open") as info:
        ml.Slide(missing)
    assert isinstance(info.value, OSError) and isinstance(info.value, ml.Error)
    with pytest.raises(ml.SlideError, match="not a readable TIFF"):
        ml.Slide(ROOT / "assets" / "ihc_patch96.png")
    with pytest.raises(ml.SlideError, match="JPEG 2000"):
        ml.Slide(DATA / "jpeg2000.tif")
    with pytest.raises(ml.InvalidInputError, match="reader.*'vips'"):
        ml.Slide(DATA / "pyramid_lzw.tif", reader="vips")
    slide = ml.Slide(DATA / "pyramid_lzw.tif")
    bad_calls = [
        (lambda: slide.read_region(2, 0, 0, 8, 8), "`level`: got 2"),
        (lambda: slide.read_region(-1, 0, 0, 8, 8), "`level`: got -1"),
        (lambda: slide.read_region(0, 0, 0, -8, 8), "`width`: got -8"),
        (lambda: slide.read_region(0, 0, 0, 0, 8), "`region`: got 0×8"),
        (lambda: slide.thumbnail(8), "`max_side`: got 8"),
        (lambda: slide.tiles(0), "`size`: got 0"),
        (lambda: slide.tiles((32, -1)), r"`size`: got \(32, -1\)"),
        (lambda: slide.tiles(32, stride=0), "`stride`: got 0"),
        (lambda: slide.tiles(32, downsample=0.5), "`downsample`: got 0.5"),
        (lambda: slide.tiles(32, min_tissue=2.0), "`min_tissue`: got 2"),
        (lambda: slide.tiles(32, mpp=1.0), "`mpp`: got 1.*records no resolution"),
        (lambda: slide.tiles(32, mpp=1.0, downsample=2.0), "not both"),
        (lambda: slide.read_tile([0, 0, 0, 32], 32), r"`tile`: got \[0, 0, 0, 32\]"),
        (lambda: slide.read_tile("tile", 32), "`tile`: got 'tile'"),
        (lambda: slide.predict_tiles(dark_share, [[0, 0, 32, 32, 0, 0]], 32, batch=0), "`batch`: got 0"),
        (lambda: slide.predict_tiles(dark_share, np.zeros((2, 5), dtype=int), 32), "tiles has shape"),
        (lambda: slide.predict_tiles(dark_share, np.zeros((2, 6)), 32), "dtype float64"),
        (lambda: ml.stitch((0, 5), [[0, 0, 4, 4]], [np.zeros((2, 2))], 1), r"`slide`: got \(0, 5\)"),
        (lambda: ml.stitch((8, 8), [[0, 0, 4, 4]], [], 1), "0 maps for 1 tiles"),
        (lambda: ml.stitch((8, 8), [[0, 0, 4, 4]], [np.zeros((2, 2))], 0.5), "`downsample`: got 0.5"),
        (lambda: ml.TissueMask(np.ones((2, 2)), 0.0), "`downsample`: got 0"),
        (lambda: ml.TissueMask(np.ones((2, 2)), 1.0, threshold=256), "`threshold`: got 256"),
    ]
    for call, message in bad_calls:
        with pytest.raises(ml.InvalidInputError, match=message):
            call()
    assert "invalid parameter `level`" in str(_error(lambda: slide.read_region(2, 0, 0, 8, 8)))


def _error(call):
    try:
        call()
    except ml.Error as e:
        return e
    raise AssertionError("no error")


@pytest.mark.skipif(not OPENSLIDE, reason="OPENSLIDE_DYLIB_PATH is not set (tests/pytest.rs sets it)")
def test_openslide_reads_as_the_tiff_reader_and_as_tifffile():
    for name in ("pyramid_deflate.tif", "pyramid_lzw.tif", "pyramid_jpeg.tif"):
        theirs = ml.Slide(DATA / name, reader="openslide")
        ours = ml.Slide(DATA / name)
        assert theirs.reader == "openslide" and theirs.vendor == "generic-tiff"
        np.testing.assert_allclose(theirs.levels, ours.levels, rtol=1e-9)
        assert theirs.bounds is None
        for level, (w, h, ds) in enumerate(ours.levels):
            region = (level, int(w // 3 * ds), int(h // 3 * ds), min(w, 128), min(h, 96))
            assert_pixels(theirs.read_region(*region), ours.read_region(*region), lossy(name), name)
    for row in index("region"):
        name, level, x, y, w, h, reference = row[1], *map(int, row[2:7]), row[7]
        if ".ome." in name:
            continue  # OpenSlide sees OME-TIFF's level 0 only (no SubIFDs)
        slide = ml.Slide(path_of(name), reader="openslide")
        downsample = slide.levels[level][2]
        got = slide.read_region(level, round(x * downsample), round(y * downsample), w, h)
        assert_pixels(got, np.load(DATA / reference), lossy(name), reference)
    if SVS:
        svs = ml.Slide(SVS, reader="openslide")
        assert svs.vendor == "aperio" and svs.mpp == pytest.approx((0.499, 0.499))
    # The tile pipeline works through either reader.
    slide = ml.Slide(DATA / "pyramid_lzw.tif", reader="openslide")
    tiles = slide.tiles(32, min_tissue=0.0)
    assert len(tiles) == (300 // 32) * (200 // 32)
    assert slide.predict_tiles(dark_share, tiles, 32).shape == (len(tiles), 2)
    with pytest.raises(ml.SlideError, match="does not recognise it as a slide"):
        ml.Slide(ROOT / "assets" / "ihc_patch96.png", reader="openslide")
    with pytest.raises(ml.SlideError, match="cannot open"):
        ml.Slide(DATA / "missing.svs", reader="openslide")


def stub_signatures():
    """Function and method name → parameter names, from the stub."""
    found = {}
    for node in ast.parse(STUB.read_text()).body:
        items = node.body if isinstance(node, ast.ClassDef) else [node]
        prefix = node.name + "." if isinstance(node, ast.ClassDef) else ""
        for item in items:
            if isinstance(item, ast.FunctionDef):
                a = item.args
                names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
                found[prefix + item.name] = [n for n in names if n != "self"]
    return found


@pytest.mark.parametrize(
    "name",
    [
        "Slide.__init__",
        "Slide.read_region",
        "Slide.thumbnail",
        "Slide.detect_tissue",
        "Slide.tiles",
        "Slide.read_tile",
        "Slide.predict_tiles",
        "Slide.best_level_for_downsample",
        "TissueMask.__init__",
        "TissueMask.fraction",
        "stitch",
        "write_ome_tiff",
        "qupath_geojson",
    ],
)
def test_the_stub_has_the_runtime_signature(name):
    if name.endswith(".__init__"):
        runtime = inspect.signature(getattr(ml, name.split(".")[0]))
    elif "." in name:
        cls, method = name.split(".")
        runtime = inspect.signature(getattr(getattr(ml, cls), method))
    else:
        runtime = inspect.signature(getattr(ml, name))
    names = [p for p in runtime.parameters if p != "self"]
    assert names == stub_signatures()[name]


def test_the_readmes_slide_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "python" / "README.md").read_text()
    section = readme.split("## Whole-slide images", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(code.replace("tests/data/slides/", f"{DATA}/"), {})
    with tifffile.TiffFile(tmp_path / "relevance.ome.tif") as tif:
        assert tif.is_ome and tif.series[0].levels[0].shape == (95, 125)
    features = json.loads((tmp_path / "qupath.geojson").read_text())["features"]
    assert {f["properties"]["objectType"] for f in features} == {"tile", "detection"}
