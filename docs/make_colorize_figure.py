"""Colorization examples: gray input, hints, the automatic and the hinted result, the original.

    python docs/make_colorize_figure.py docs/colorize_examples.png

Images that ship with scikit-image (nothing from ../shared gets into the figure). The hints
are what a user who knows the colours would click: 12 points whose colour is the original's
there (3x3 squares), at fixed random places.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from skimage import data
from skimage.color import rgb2lab

import napari_superres as sr

sys.path.insert(0, str(Path(__file__).parent))
from make_inpaint_figure import draw  # noqa: E402 (docs/ is on the path when run as a script)


def point_hints(original, count=12, seed=0):
    rng = np.random.default_rng(seed)
    hints = np.zeros(original.shape[:2] + (4,))
    h, w = original.shape[:2]
    for row, col in zip(rng.integers(2, h - 2, count), rng.integers(2, w - 2, count), strict=True):
        hints[row - 1:row + 2, col - 1:col + 2, :3] = original[row, col] / 255
        hints[row - 1:row + 2, col - 1:col + 2, 3] = 1
    return hints


def row(name, original, method):
    gray = np.round(rgb2lab(original / 255)[..., 0] / 100 * 255).astype(np.uint8)
    hints = point_hints(original)
    shown_hints = np.where(hints[..., 3:] > 0, hints[..., :3] * 255, np.dstack([gray] * 3) * 0.5).astype(np.uint8)
    automatic = sr.colorize(gray, method=method)
    hinted = sr.colorize(gray, hints, method=method)
    return [(f"{name}, gray", np.dstack([gray] * 3)), ("12 hint points", shown_hints),
            (f"automatic {sr.psnr(original, automatic, data_range=255):.2f} dB", automatic),
            (f"with hints {sr.psnr(original, hinted, data_range=255):.2f} dB", hinted), ("original", original)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--method", default="colorizer")
    args = parser.parse_args()
    images = [("astronaut", data.astronaut()), ("coffee", data.coffee()), ("chelsea", data.chelsea())]
    draw([row(name, image, args.method) for name, image in images], args.out)


if __name__ == "__main__":
    main()
