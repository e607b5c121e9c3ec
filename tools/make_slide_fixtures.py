#!/usr/bin/env python3
"""Writes the slide reader's test fixtures into tests/data/slides/: small
tiled pyramidal TIFFs written by tifffile in the layouts slides come in, and
regions of them (and of OpenSlide's CMU-1-Small-Region.svs, fetched by
tools/fetch_test_slide.py) read back by tifffile as the reference pixels,
with an index.json the tests walk.

    python3 -m venv target/slide-venv
    target/slide-venv/bin/pip install tifffile==2026.3.3 imagecodecs==2026.3.6 numpy pillow
    target/slide-venv/bin/python tools/make_slide_fixtures.py

Layouts:
  pyramid_jpeg.tif         classic TIFF, levels as pages (Camelyon16-style),
                           JPEG tiles of 128 in YCbCr (as libtiff and tifffile
                           write them), 0.5 µm/px as pixels per centimetre
  pyramid_deflate.tif      BigTIFF, deflate, RGB, tiles of 64, 0.25 µm/px as
                           pixels per inch
  pyramid_lzw.tif          LZW, tiles of 96, a stripped thumbnail page between
                           the levels (as in SVS files), no resolution
  ome_subifd.ome.tif       OME-TIFF, levels as SubIFDs, 0.25 µm/px in the
                           OME-XML
  pyramid_predictor.tif    deflate with the horizontal predictor, tiles of 32
"""

import os
import subprocess
import sys

import numpy as np
import tifffile
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "data", "slides")


def base(height, width):
    """Tissue-like content: the bundled IHC image, mirrored to size, with a
    white margin (background) on the right and bottom."""
    ihc = np.asarray(Image.open(os.path.join(ROOT, "assets", "ihc.png")).convert("RGB"))
    reps = (height // ihc.shape[0] + 2, width // ihc.shape[1] + 2, 1)
    tiled = np.tile(np.concatenate([ihc, ihc[:, ::-1]], axis=1), reps)[:height, :width].copy()
    tiled[int(height * 0.8):, :] = 245
    tiled[:, int(width * 0.85):] = 245
    return tiled


def halve(image):
    """2× box downsampling (odd edges dropped), as pyramid writers do."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    x = image[:h, :w].astype(np.float64)
    return ((x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4).round().astype(np.uint8)


def pyramid(level0, count):
    levels = [level0]
    for _ in range(count - 1):
        levels.append(halve(levels[-1]))
    return levels


def write_fixtures():
    written = {}
    levels = pyramid(base(760, 1000), 3)
    path = os.path.join(OUT, "pyramid_jpeg.tif")
    with tifffile.TiffWriter(path) as tif:
        for i, level in enumerate(levels):
            # RGB pixels, stored by tifffile as YCbCr JPEG (photometric 6,
            # chroma subsampled 2×2), as libtiff writes them too.
            tif.write(level, tile=(128, 128), compression="jpeg", compressionargs={"level": 90},
                      photometric="rgb", subfiletype=1 if i else 0,
                      resolution=(20000 / 2**i, 20000 / 2**i), resolutionunit="CENTIMETER")
    written["pyramid_jpeg.tif"] = 3

    levels = pyramid(base(300, 400), 2)
    path = os.path.join(OUT, "pyramid_deflate.tif")
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        for i, level in enumerate(levels):
            tif.write(level, tile=(64, 64), compression="zlib", photometric="rgb",
                      subfiletype=1 if i else 0,
                      resolution=(101600 / 2**i, 101600 / 2**i), resolutionunit="INCH")
    written["pyramid_deflate.tif"] = 2

    levels = pyramid(base(200, 300), 2)
    path = os.path.join(OUT, "pyramid_lzw.tif")
    with tifffile.TiffWriter(path) as tif:
        tif.write(levels[0], tile=(96, 96), compression="lzw", photometric="rgb")
        tif.write(halve(halve(levels[0])), compression="lzw", photometric="rgb", rowsperstrip=16)
        tif.write(levels[1], tile=(96, 96), compression="lzw", photometric="rgb", subfiletype=1)
    written["pyramid_lzw.tif"] = 2

    levels = pyramid(base(256, 320), 3)
    path = os.path.join(OUT, "ome_subifd.ome.tif")
    with tifffile.TiffWriter(path, ome=True) as tif:
        opts = dict(tile=(64, 64), compression="zlib", photometric="rgb")
        tif.write(levels[0], subifds=2, metadata={"PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25,
                                                  "axes": "YXS"}, **opts)
        for level in levels[1:]:
            tif.write(level, subfiletype=1, **opts)
    written["ome_subifd.ome.tif"] = 3

    # Deflate with the horizontal predictor (as libvips and Bio-Formats
    # often write), tiles of 32.
    levels = pyramid(base(96, 128), 2)
    path = os.path.join(OUT, "pyramid_predictor.tif")
    with tifffile.TiffWriter(path) as tif:
        for i, level in enumerate(levels):
            tif.write(level, tile=(32, 32), compression="zlib", predictor=True, photometric="rgb",
                      subfiletype=1 if i else 0)
    written["pyramid_predictor.tif"] = 2

    # What the embedded reader refuses, with a message saying what to do.
    path = os.path.join(OUT, "jpeg2000.tif")
    tifffile.imwrite(path, base(64, 64), tile=(64, 64), compression="jpeg2000", photometric="rgb")
    return written


def region_files(name, reader_levels, rects):
    """Regions of each level read by tifffile, saved as .npy; index rows."""
    rows = []
    stem = name.split(".")[0]
    for level, (x, y, w, h) in rects:
        array = reader_levels[level][y:y + h, x:x + w, :3]
        ref = "%s_L%d_%d_%d_%dx%d.npy" % (stem, level, x, y, w, h)
        np.save(os.path.join(OUT, ref), np.ascontiguousarray(array))
        rows.append({"file": name, "level": level, "x": x, "y": y, "width": w,
                     "height": h, "reference": ref})
    return rows


def tifffile_levels(path):
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        return [series.levels[i].asarray() for i in range(len(series.levels))]


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    write_fixtures()
    index = []
    # Regions (level, x, y, width, height in that level's pixels): across
    # tile boundaries, at the right and bottom edges, whole small levels.
    plans = {
        "pyramid_jpeg.tif": [(0, (100, 90, 64, 80)), (0, (936, 696, 64, 64)), (1, (120, 100, 40, 40)),
                             (1, (0, 0, 96, 96)), (2, (0, 0, 250, 190))],
        "pyramid_deflate.tif": [(0, (40, 50, 100, 30)), (1, (0, 0, 200, 150))],
        "pyramid_lzw.tif": [(0, (80, 80, 40, 40)), (1, (0, 0, 150, 100))],
        "ome_subifd.ome.tif": [(0, (50, 60, 80, 40)), (1, (0, 0, 160, 128)), (2, (0, 0, 80, 64))],
        "pyramid_predictor.tif": [(0, (0, 0, 128, 96)), (1, (0, 0, 64, 48))],
    }
    for name, rects in plans.items():
        index += region_files(name, tifffile_levels(os.path.join(OUT, name)), rects)
    svs = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fetch_test_slide.py")],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    with tifffile.TiffFile(svs) as tif:
        level0 = tif.pages[0].asarray()
    svs_rows = region_files("cmu_small_region.svs", [level0],
                            [(0, (0, 0, 64, 64)), (0, (200, 230, 64, 64)), (0, (2156, 2903, 64, 64))])
    for row in svs_rows:
        row["fetched"] = "tools/fetch_test_slide.py"
    index += svs_rows
    meta = {
        "pyramid_jpeg.tif": {"levels": [[1000, 760], [500, 380], [250, 190]], "mpp": 0.5},
        "pyramid_deflate.tif": {"levels": [[400, 300], [200, 150]], "mpp": 0.25},
        "pyramid_lzw.tif": {"levels": [[300, 200], [150, 100]], "mpp": None},
        "ome_subifd.ome.tif": {"levels": [[320, 256], [160, 128], [80, 64]], "mpp": 0.25},
        "pyramid_predictor.tif": {"levels": [[128, 96], [64, 48]], "mpp": None},
        "cmu_small_region.svs": {"levels": [[2220, 2967]], "mpp": 0.499, "objective": 20.0},
    }
    # One line per fact, for the Rust tests (no JSON parser there):
    #   slide FILE MPP|- OBJECTIVE|- W0xH0 W1xH1 …
    #   region FILE LEVEL X Y WIDTH HEIGHT REFERENCE.npy
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("# written by tools/make_slide_fixtures.py with tifffile %s\n" % tifffile.__version__)
        for name, m in meta.items():
            f.write("slide %s %s %s %s\n" % (
                name, m["mpp"] if m["mpp"] else "-", m.get("objective") or "-",
                " ".join("%dx%d" % tuple(l) for l in m["levels"])))
        for r in index:
            f.write("region %s %d %d %d %d %d %s\n" % (
                r["file"], r["level"], r["x"], r["y"], r["width"], r["height"], r["reference"]))
    print("wrote", len(index), "regions to", OUT)


if __name__ == "__main__":
    main()
