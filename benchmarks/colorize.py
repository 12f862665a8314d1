"""Colorization of gray dev images against their true colours, next to the trivial gray answer.

For each image (Set5, Set14 and the DIP images under ``../shared/data/dev`` by
default), turned gray (its CIE L), the table gives:

- PSNR of the RGB result and of the ab channels against the original;
- colourfulness (Hasler and Süsstrunk 2003) of the result and of the original;
- the share of pixels whose ab error is under 10, 20 and 30 units, and the area
  under that curve for thresholds 0-150 (Zhang et al.'s AuC, 1 = perfect);
- the same AuC with every pixel weighted by the rarity of its true colour (Zhang's
  class-rebalanced AuC: the weights are the inverse frequency of the pixel's ab bin
  over all the test images), where the gray answer no longer wins by default.

Images whose original is gray (colourfulness under 1) are left out.

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
from napari_superres.colorize import ab_bins
from napari_superres.io import read_image

IMAGE_GLOBS = ["Set5/HR/*.png", "Set14/HR/*.png", "DIP/*/*_GT.png", "DIP/inpainting/kate.png",
               "DIP/inpainting/vase.png", "DIP/inpainting/library.png"]


def colourfulness(rgb):
    """Hasler and Süsstrunk's colourfulness of an RGB image in 0-255."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


AB_THRESHOLDS = np.arange(0, 151)  # ab distances of the error curve, 0-150


def ab_error_curve(truth_ab, ab, weights=None, thresholds=AB_THRESHOLDS):
    error = np.hypot(*(truth_ab - ab).reshape(-1, 2).T)
    weights = np.ones_like(error) if weights is None else weights.ravel()
    return np.array([np.sum(weights * (error < t)) / np.sum(weights) for t in thresholds])


def nearest_bins(ab):
    bins = ab_bins()
    flat = ab.reshape(-1, 2)
    return np.concatenate([((flat[i:i + 65536, None] - bins[None]) ** 2).sum(-1).argmin(1)
                           for i in range(0, len(flat), 65536)])


def scores(truth, guess, bin_weights):
    truth_lab, guess_lab = rgb2lab(truth / 255), rgb2lab(guess / 255)
    curve = ab_error_curve(truth_lab[..., 1:], guess_lab[..., 1:])
    rebalanced = ab_error_curve(truth_lab[..., 1:], guess_lab[..., 1:], bin_weights[nearest_bins(truth_lab[..., 1:])])
    ab_psnr = psnr(truth_lab[..., 1:], guess_lab[..., 1:], data_range=220.0)
    return {"rgb_psnr": psnr(truth, guess, data_range=255), "ab_psnr": ab_psnr,
            "colourfulness": colourfulness(guess), "under10": curve[10], "under20": curve[20],
            "under30": curve[30], "auc": float(curve.mean()), "auc_rebalanced": float(rebalanced.mean())}


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
    truths = {}
    for path in paths:
        image = read_image(path)
        if image.ndim == 3 and colourfulness(image[..., :3]) >= 1:
            truths[path.name] = image[..., :3].astype(np.float64)
    counts = np.zeros(len(ab_bins()))
    for truth in truths.values():
        counts += np.bincount(nearest_bins(rgb2lab(truth / 255)[..., 1:]), minlength=len(counts))
    bin_weights = 1 / np.maximum(counts / counts.sum(), 1e-6)
    results = {"gray (ab = 0)": [], args.method: []}
    seconds = 0.0
    for name, truth in truths.items():
        lightness = rgb2lab(truth / 255)[..., 0]
        gray = np.round(lightness / 100 * 255).astype(np.uint8)
        start = time.perf_counter()
        guess = colorize(gray, method=args.method).astype(np.float64)
        seconds += time.perf_counter() - start
        results["gray (ab = 0)"].append(scores(truth, gray_answer(truth), bin_weights))
        results[args.method].append(scores(truth, guess, bin_weights))
        print(name, {k: round(float(v), 3) for k, v in results[args.method][-1].items()}, flush=True)
    truth_colourfulness = [colourfulness(t) for t in truths.values()]
    rows = []
    for name, per_image in results.items():
        mean = {k: np.mean([r[k] for r in per_image]) for k in per_image[0]}
        rows.append(f"| {name} | {mean['rgb_psnr']:.2f} | {mean['ab_psnr']:.2f} | {mean['colourfulness']:.1f} | "
                    f"{mean['under10']:.3f} | {mean['under20']:.3f} | {mean['under30']:.3f} | {mean['auc']:.3f} | "
                    f"{mean['auc_rebalanced']:.3f} |")
    emit_table([
        f"Colorization of {len(truths)} colour dev images (Set5, Set14, DIP) turned gray; means over images. "
        f"Colourfulness of the originals: {np.mean(truth_colourfulness):.1f}. {args.method}: "
        f"{seconds / len(truth_colourfulness):.2f} s an image on this machine.\n",
        "| output | RGB PSNR | ab PSNR | colourfulness | ab error < 10 | < 20 | < 30 | AuC (0-150) | AuC rebalanced |",
        "|---|---|---|---|---|---|---|---|---|", *rows], args.out)


if __name__ == "__main__":
    main()
