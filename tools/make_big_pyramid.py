#!/usr/bin/env python3
"""Writes a large generated pyramid for the slide memory check: 20480²
pixels at level 0 (the bundled IHC image mirrored and repeated, a glass
margin of 20 % right and bottom), levels as pages down to 640², JPEG tiles
of 512 in YCbCr, 0.5 µm/px, BigTIFF. Written a tile at a time.

    target/slide-venv/bin/python tools/make_big_pyramid.py /tmp/big_pyramid.tif
    /usr/bin/time -v target/release/mslime slide /tmp/big_pyramid.tif \\
        --model assets/models/ihc_dab_cnn.onnx --out /tmp/big_out --mpp 1 --explain top:4 --no-metrics
"""

import os
import sys

import numpy as np
import tifffile
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIDE = 20480
TILE = 512


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/big_pyramid.tif"
    ihc = np.asarray(Image.open(os.path.join(ROOT, "assets", "ihc.png")).convert("RGB"))
    block = np.concatenate([ihc, ihc[:, ::-1]], axis=1)
    block = np.concatenate([block, block[::-1]], axis=0)  # 1024², repeats seamlessly
    with tifffile.TiffWriter(out, bigtiff=True) as tif:
        n, level = SIDE, 0
        while n >= 640:
            side = max(1024 >> level, 1)
            src = np.asarray(Image.fromarray(block).resize((side, side)))

            def tiles(n=n, src=src):
                s = src.shape[0]
                for y in range(0, n, TILE):
                    for x in range(0, n, TILE):
                        t = np.full((TILE, TILE, 3), 245, np.uint8)
                        if x < n * 0.8 and y < n * 0.8:
                            ys = (np.arange(y, y + TILE) % s)[:, None]
                            xs = (np.arange(x, x + TILE) % s)[None, :]
                            t[:] = src[ys, xs]
                        yield t

            tif.write(tiles(), shape=(n, n, 3), dtype=np.uint8, tile=(TILE, TILE),
                      compression="jpeg", photometric="rgb", subfiletype=1 if level else 0,
                      resolution=(20000 / 2**level, 20000 / 2**level), resolutionunit="CENTIMETER")
            n //= 2
            level += 1
    print(out)


if __name__ == "__main__":
    main()
