"""Inpainting examples: input with its holes, the mask, and each method's result with PSNR.

    python docs/make_inpaint_figure.py ../shared/data/dev/DIP docs/inpaint_examples.png --methods biharmonic

Rows: the Deep Image Prior paper's kate (text overlay mask) and library (large holes), and barbara
with 50 % of its pixels dropped at random (seed 0). The images stay outside the repository; only the
figure is committed.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import napari_superres as sr
from napari_superres.io import read_image


def cases(folder):
    for name in ("kate", "library"):
        clean = read_image(folder / "inpainting" / f"{name}.png")[..., :3]
        yield name, clean, read_image(folder / "inpainting" / f"{name}_mask.png") < 128
    clean = read_image(folder / "restoration" / "barbara.png")
    clean = np.dstack([clean] * 3) if clean.ndim == 2 else clean[..., :3]
    yield "barbara, 50 % dropped", clean, np.random.default_rng(0).random(clean.shape[:2]) < 0.5


def row(name, clean, missing, methods, options):
    damaged = np.where(missing[..., None], 0, clean).astype(np.uint8)
    panels = [(name, damaged), ("mask (white: missing)", np.dstack([missing * 255] * 3).astype(np.uint8))]
    for method in methods:
        start = time.perf_counter()
        result = sr.inpaint(damaged, missing, method, channel_axis=-1, **options.get(method, {}))
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
    for panels, height in zip(tiles, heights):
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
    parser.add_argument("folder", type=Path, help="the DIP folder of ../shared/data/dev")
    parser.add_argument("out", type=Path)
    parser.add_argument("--methods", nargs="+", default=["biharmonic"])
    parser.add_argument("--dip-iterations", type=int, default=5000)
    args = parser.parse_args()
    options = {"dip": {"iterations": args.dip_iterations, "preview_every": 0}}
    draw([row(name, clean, missing, args.methods, options) for name, clean, missing in cases(args.folder)],
         args.out)


if __name__ == "__main__":
    main()
