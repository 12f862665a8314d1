"""Colorization of gray dev images against their true colours, next to the trivial gray answer.

For each image (Set5, Set14 and the DIP images under ``../shared/data/dev`` by
default), turned gray (its CIE L), the table gives:

- PSNR of the RGB result and of the ab channels against the original;
- colourfulness (Hasler and Süsstrunk 2003) of the result and of the original;
- the share of pixels whose ab error is under 10, 20 and 30 units, and the area
  under that curve for thresholds 0-150 (Zhang et al.'s AuC, 1 = perfect).

    python benchmarks/colorize.py ../shared/data/dev --out benchmarks/results/colorize.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from skimage.color import lab2rgb, rgb2lab

from napari_superres import colorize, psnr
from napari_superres.io import read_image

IMAGE_GLOBS = ["Set5/HR/*.png", "Set14/HR/*.png", "DIP/*/*_GT.png", "DIP/inpainting/kate.png",
               "DIP/inpainting/vase.png", "DIP/inpainting/library.png"]


def colourfulness(rgb):
    """Hasler and Süsstrunk's colourfulness of an RGB image in 0-255."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_error_curve(truth_ab, ab, thresholds=np.arange(0, 151)):
    error = np.hypot(*(truth_ab - ab).reshape(-1, 2).T)
    return np.array([(error < t).mean() for t in thresholds])


def scores(truth, guess):
    truth_lab, guess_lab = rgb2lab(truth / 255), rgb2lab(guess / 255)
    curve = ab_error_curve(truth_lab[..., 1:], guess_lab[..., 1:])
    ab_psnr = psnr(truth_lab[..., 1:], guess_lab[..., 1:], data_range=220.0)
    return {"rgb_psnr": psnr(truth, guess, data_range=255), "ab_psnr": ab_psnr,
            "colourfulness": colourfulness(guess), "under10": curve[10], "under20": curve[20],
            "under30": curve[30], "auc": float(curve.mean())}


def gray_answer(truth):
    lightness = rgb2lab(truth / 255)[..., 0]
    return np.clip(np.round(lab2rgb(np.dstack([lightness, np.zeros(lightness.shape + (2,))])) * 255), 0, 255)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="../shared/data/dev")
    parser.add_argument("--method", default="colorizer")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    paths = sorted({p for pattern in IMAGE_GLOBS for p in args.root.glob(pattern)})
    results = {"gray (ab = 0)": [], args.method: []}
    truth_colourfulness, seconds = [], 0.0
    for path in paths:
        truth = read_image(path)
        if truth.ndim != 3:
            continue
        truth = truth[..., :3].astype(np.float64)
        lightness = rgb2lab(truth / 255)[..., 0]
        gray = np.round(lightness / 100 * 255).astype(np.uint8)
        start = time.perf_counter()
        guess = colorize(gray, method=args.method).astype(np.float64)
        seconds += time.perf_counter() - start
        results["gray (ab = 0)"].append(scores(truth, gray_answer(truth)))
        results[args.method].append(scores(truth, guess))
        truth_colourfulness.append(colourfulness(truth))
        print(path.name, {k: round(v, 3) for k, v in results[args.method][-1].items()}, flush=True)
    rows = []
    for name, per_image in results.items():
        mean = {k: np.mean([r[k] for r in per_image]) for k in per_image[0]}
        rows.append(f"| {name} | {mean['rgb_psnr']:.2f} | {mean['ab_psnr']:.2f} | {mean['colourfulness']:.1f} | "
                    f"{mean['under10']:.3f} | {mean['under20']:.3f} | {mean['under30']:.3f} | {mean['auc']:.3f} |")
    emit_table([
        f"Colorization of {len(truth_colourfulness)} dev images (Set5, Set14, DIP) turned gray; means over images. "
        f"Colourfulness of the originals: {np.mean(truth_colourfulness):.1f}. {args.method}: "
        f"{seconds / len(truth_colourfulness):.2f} s an image on this machine.\n",
        "| output | RGB PSNR | ab PSNR | colourfulness | ab error < 10 | < 20 | < 30 | AuC (0-150) |",
        "|---|---|---|---|---|---|---|---|", *rows], args.out)


if __name__ == "__main__":
    main()
