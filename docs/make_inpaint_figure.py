"""Inpainting examples: input with its holes, the mask, and each method's result with PSNR.

    python docs/make_inpaint_figure.py docs/inpaint_examples.png --methods biharmonic

Rows, all from images that ship with scikit-image (nothing from ../shared gets into the figure):
astronaut under a text overlay (the Deep Image Prior paper's kind of mask), coffee with thick
scribbles removed (large holes), camera with 50 % of its pixels dropped at random (seed 0).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

import napari_superres as sr


def text_mask(shape):
    canvas = Image.new("L", shape[::-1], 0)
    pen = ImageDraw.Draw(canvas)
    for i, line in enumerate(["restoration without training data", "the network is the prior",
                              "known pixels stay exactly as they were", "missing ones are filled"]):
        pen.text((10, 40 + 110 * i), line, fill=255, font_size=28)
    return np.asarray(canvas) > 0


def scribble_mask(shape, seed=0):
    rng = np.random.default_rng(seed)
    canvas = Image.new("L", shape[::-1], 0)
    pen = ImageDraw.Draw(canvas)
    for _ in range(8):
        points = [tuple(p) for p in rng.uniform(0, 1, (4, 2)) * shape[::-1]]
        pen.line(points, fill=255, width=int(rng.integers(8, 20)))
    return np.asarray(canvas) > 0


def cases():
    astronaut = data.astronaut()
    yield "astronaut, text overlay", astronaut, text_mask(astronaut.shape[:2])
    coffee = data.coffee()
    yield "coffee, scribbles", coffee, scribble_mask(coffee.shape[:2])
    camera = np.dstack([data.camera()] * 3)
    yield "camera, 50 % dropped", camera, np.random.default_rng(0).random(camera.shape[:2]) < 0.5


def row(name, clean, missing, methods, options):
    damaged = np.where(missing[..., None], 0, clean).astype(np.uint8)
    panels = [(name, damaged), ("mask (white: missing)", np.dstack([missing * 255] * 3).astype(np.uint8))]
    for method in methods:
        start = time.perf_counter()
        result = sr.inpaint(damaged, missing, method=method, channel_axis=-1, **options.get(method, {}))
        seconds = time.perf_counter() - start
        panels.append((f"{method} {sr.psnr(clean, result, data_range=255):.2f} dB, {seconds:.0f} s", result))
    panels.append(("original", clean))
    return panels


def draw(rows, path, size=256, label_height=20):
    tiles = [[(label, _thumbnail(image, size)) for label, image in panels] for panels in rows]
    heights = [max(tile.height for _, tile in panels) + label_height for panels in tiles]
    canvas = Image.new("RGB", (max(len(r) for r in rows) * size, sum(heights)), "white")
    pen = ImageDraw.Draw(canvas)
    top = 0
    for panels, height in zip(tiles, heights, strict=True):
        for j, (label, tile) in enumerate(panels):
            canvas.paste(tile, (j * size, top + label_height))
            pen.text((j * size + 4, top + 4), label, fill="black")
        top += height
    canvas.save(path)


def _thumbnail(image, size):
    tile = Image.fromarray(image)
    tile.thumbnail((size, size))
    return tile


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--methods", nargs="+", default=["biharmonic"])
    parser.add_argument("--dip-iterations", type=int, default=5000)
    args = parser.parse_args()
    options = {"dip": {"iterations": args.dip_iterations, "preview_every": 0}}
    draw([row(name, clean, missing, args.methods, options) for name, clean, missing in cases()],
         args.out)


if __name__ == "__main__":
    main()
