"""Colorization of gray dev images against their true colours, next to the trivial gray answer.

For each image (Set5, Set14 and the DIP images under ``../shared/data/dev`` by
default), turned gray (its CIE L), the table gives:

- PSNR of the RGB result and of the ab channels against the original;
- colourfulness (Hasler and Süsstrunk 2003) of the result, and its ratio to the originals';
- the share of pixels whose ab error is under 10, 20 and 30 units, and the area
  under that curve for thresholds 0-150 (Zhang et al.'s AuC, 1 = perfect);
- the same AuC with every pixel weighted by the rarity of its true colour (Zhang's
  class-rebalanced AuC: the weights are the inverse frequency of the pixel's ab bin
  over all the test images), where the gray answer no longer wins by default.

Rows: the gray answer; the curve over the rebalancing the colours are read at
(Zhang's λ: 0.5 as trained by Zhang, 0.75, 1 = none; the rebalancing strength
1 - λ is 0.5, 0.25, 0) and the annealed mean's temperature T, without fading or
edge-aware upsampling; chroma gains after a reading, global or by the spread of the
distribution (the curve the natural look was chosen from); then the looks of
:data:`napari_superres.colorize.LOOKS` and their parts. The network runs once an
image; every row reads its logits (``colorize.read_colours``, as ``colorize`` does).
Images whose original is gray (colourfulness under 1) are left out.

    python benchmarks/colorize.py ../shared/data/dev --out benchmarks/results/colorize.md
    python benchmarks/colorize.py McMaster --glob "*.tif" --out benchmarks/results/colorize_mcmaster.md
        # photographs never trained on (SwinIR's testsets/McMaster, through fetch; not in the repository)
    python benchmarks/colorize.py ~/sr-train --glob "photos/*" --glob "bundled/*" --max-side 768 \
        --out benchmarks/results/colorize_training_photos.md   # ../shared/tools/get-training-images.sh's
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _report import emit_table
from skimage.color import lab2rgb, rgb2lab
from skimage.transform import resize

from napari_superres import psnr
from napari_superres.colorize import LOOKS, ab_bins, network_logits, prior_shift, read_colours
from napari_superres.io import read_image
from napari_superres.models import find_model
from napari_superres.models.inference import load_on

IMAGE_GLOBS = ["Set5/HR/*.png", "Set14/HR/*.png", "DIP/*/*_GT.png", "DIP/inpainting/kate.png",
               "DIP/inpainting/vase.png", "DIP/inpainting/library.png"]
AB_THRESHOLDS = np.arange(0, 151)  # ab distances of the error curve, 0-150
RAW = {"confidence": None, "edges": 0}


def colourfulness(rgb):
    """Hasler and Süsstrunk's colourfulness of an RGB image in 0-255."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_error_curve(truth_ab, ab, weights=None, thresholds=AB_THRESHOLDS):
    """Share of pixels (weighted by ``weights``) whose ab error is under each threshold."""
    error = np.hypot(*(truth_ab - ab).reshape(-1, 2).T)
    weights = np.ones_like(error) if weights is None else weights.ravel()
    order = np.argsort(error)
    cumulative = np.concatenate([[0], np.cumsum(weights[order])]) / weights.sum()
    return cumulative[np.searchsorted(error[order], thresholds, side="left")]


def nearest_bins(ab):
    bins = ab_bins()
    flat = ab.reshape(-1, 2)
    return np.concatenate([((flat[i:i + 65536, None] - bins[None]) ** 2).sum(-1).argmin(1)
                           for i in range(0, len(flat), 65536)])


class Truth:
    """An original, its Lab, its gray version's lightness and its pixels' rarity weights."""

    def __init__(self, rgb):
        self.rgb = rgb
        self.lab = rgb2lab(rgb / 255)
        self.lightness = np.round(self.lab[..., 0] / 100 * 255) / 255 * 100  # as an 8-bit gray image has it
        self.bins = nearest_bins(self.lab[..., 1:])


def scores(truth, guess, bin_weights):
    guess_lab = rgb2lab(guess / 255)
    curve = ab_error_curve(truth.lab[..., 1:], guess_lab[..., 1:])
    rebalanced = ab_error_curve(truth.lab[..., 1:], guess_lab[..., 1:], bin_weights[truth.bins])
    return {"rgb_psnr": psnr(truth.rgb, guess, data_range=255),
            "ab_psnr": psnr(truth.lab[..., 1:], guess_lab[..., 1:], data_range=220.0),
            "colourfulness": colourfulness(guess), "under10": curve[10], "under20": curve[20],
            "under30": curve[30], "auc": float(curve.mean()), "auc_rebalanced": float(rebalanced.mean())}


def to_rgb(lightness, ab):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Conversion from CIE-LAB", UserWarning)
        return np.clip(np.round(lab2rgb(np.dstack([lightness, ab])) * 255), 0, 255)


def shrunk(rgb, max_side=None):
    """``rgb`` as float64 in 0-255, shrunk (antialiased, rounded to 8 bits) so that its longest side is ``max_side``."""
    factor = 1.0 if max_side is None else max_side / max(rgb.shape[:2])
    if factor >= 1:
        return rgb.astype(np.float64)
    size = (round(rgb.shape[0] * factor), round(rgb.shape[1] * factor))
    return np.round(resize(rgb, size, anti_aliasing=True, preserve_range=True))


# (s0, k) of chroma gains by the spread, from pale to colourful: the curve the natural and colourful looks' were
# chosen from (a retrained network wants this curve remeasured).
SPREAD_GAINS = ((0.60, 3), (0.57, 3), (0.56, 3), (0.55, 3), (0.54, 3), (0.53, 3), (0.56, 4))


def settings():
    """``{row name: look}``: the λ × T curve, chroma gains (global, and by the spread), the looks and their parts.

    A look's ``gain`` (here only) multiplies the ab it reads: a global chroma gain.
    """
    rows = {f"λ {lam:g} (strength {1 - lam:g}), T {t:g}": {"rebalancing": lam, "temperature": t, **RAW}
            for lam in (0.5, 0.75, 1.0) for t in (0.2, 0.38, 0.6, 1.0)}
    natural, colourful = LOOKS["natural"], LOOKS["colourful"]
    rows["λ 0.75, T 1, edges kept (the natural look before the spread gain)"] = {**natural, "rebalancing": 0.75,
                                                                                 "spread_gain": None}
    for gain in (1.5, 2.0):
        rows[f"λ 1, T 1, chroma x {gain:g}"] = {**colourful, "spread_gain": None, "gain": gain}
    for reference, power in SPREAD_GAINS:
        rows[f"λ 1, T 1, chroma x (spread / {reference:.2f})^{power}"] = {**colourful,
                                                                           "spread_gain": (reference, power)}
    rows["natural, faded by entropy 0.70-0.74"] = {**natural, "confidence": (0.70, 0.74)}  # the 10 % least sure
    rows["colourful with bilinear upsampling"] = {**colourful, "edges": 0}
    for name, look in LOOKS.items():
        rows[f"**{name}**"] = look
    return rows


_SHARED = {}  # the model, its card, the rarity weights and the rows: set before the workers fork


def score_image(truth):
    """``({row: scores}, seconds the network took)`` for one image: the gray answer, then every row's reading."""
    card, looks, bin_weights = _SHARED["card"], _SHARED["looks"], _SHARED["bin_weights"]
    results = {"gray (ab = 0)": scores(truth, to_rgb(truth.lightness, 0 * truth.lab[..., 1:]), bin_weights)}
    start = time.perf_counter()
    logits = network_logits(_SHARED["model"], card.size_multiple, truth.lightness)
    seconds = time.perf_counter() - start
    bins = torch.from_numpy(ab_bins()).float()
    for row, look in looks.items():
        ab, _ = read_colours(logits, truth.lightness, bins, prior_shift(card, look["rebalancing"]), look)
        results[row] = scores(truth, to_rgb(truth.lightness, ab * look.get("gain", 1.0)), bin_weights)
    return results, seconds


def figure(path, method):
    """Gray, each look and the original side by side: scikit-image's astronaut, which no training saw."""
    from skimage import data
    from skimage.io import imsave

    from napari_superres import colorize

    truth = data.astronaut()[::2, ::2]
    gray = np.round(rgb2lab(truth / 255)[..., 0] / 100 * 255).astype(np.uint8)
    panels = [np.stack([gray] * 3, -1)] + [colorize(gray, method=method, look=look) for look in LOOKS]
    gap = np.full((truth.shape[0], 4, 3), 255, np.uint8)
    imsave(path, np.hstack([x for panel in [*panels, truth] for x in (panel, gap)][:-1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="../shared/data/dev")
    parser.add_argument("--glob", action="append", help="images under root (repeatable; default: the dev sets)")
    parser.add_argument("--method", default="colorizer")
    parser.add_argument("--jobs", type=int, default=1, help="images scored in parallel processes")
    parser.add_argument("--max-side", type=int, help="shrink larger images (antialiased) to this longest side")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--figure", type=Path, help="also write gray | each look | original of the astronaut")
    args = parser.parse_args()
    if args.figure:
        figure(args.figure, args.method)
    torch.set_num_threads(1)
    paths = sorted({p for pattern in args.glob or IMAGE_GLOBS for p in args.root.glob(pattern)})
    truths = {}
    for path in paths:
        image = read_image(path)
        if image.ndim == 3 and colourfulness(image[..., :3]) >= 1:
            truths[path.name] = Truth(shrunk(image[..., :3], args.max_side))
    counts = sum(np.bincount(t.bins, minlength=len(ab_bins())) for t in truths.values())
    bin_weights = 1 / np.maximum(counts / counts.sum(), 1e-6)
    card = find_model(args.method, 1)
    _SHARED.update(model=load_on(card, "cpu")[0], card=card, bin_weights=bin_weights, looks=settings())
    if args.jobs > 1:  # forked workers share the model and the truths
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            per_image = pool.map(score_image, truths.values())
    else:
        per_image = [score_image(truth) for truth in truths.values()]
    for name, (row_scores, _) in zip(truths, per_image, strict=True):
        print(name, {k: round(float(v), 3) for k, v in row_scores["**natural**"].items()}, flush=True)
    results = {row: [scores_of[row] for scores_of, _ in per_image] for row in per_image[0][0]}
    seconds = sum(network_seconds for _, network_seconds in per_image)
    original = np.mean([colourfulness(t.rgb) for t in truths.values()])
    rows = []
    for name, per_image in results.items():
        mean = {k: np.mean([r[k] for r in per_image]) for k in per_image[0]}
        rows.append(f"| {name} | {mean['rgb_psnr']:.2f} | {mean['ab_psnr']:.2f} | {mean['colourfulness']:.1f} "
                    f"({mean['colourfulness'] / original:.2f}x) | {mean['under10']:.3f} | {mean['under20']:.3f} | "
                    f"{mean['under30']:.3f} | {mean['auc']:.3f} | {mean['auc_rebalanced']:.3f} |")
    emit_table([
        f"Colorization of {len(truths)} colour images ({', '.join(args.glob or ['Set5, Set14, DIP'])}) turned gray, "
        f"model {args.method} "
        f"({card.info.get('training', {}).get('pairs', '')}); means over images. Colourfulness of the originals: "
        f"{original:.1f}. The network: {seconds / len(truths):.2f} s an image on this machine. λ: Zhang's "
        "rebalancing the colours are read at (1: none); T: annealed-mean temperature; chroma x: a gain on the ab "
        "read, global or by the distribution's spread (its normalised entropy; the colourful look); fading: towards "
        "gray where the spread is high; upsampling: along L's edges (joint bilateral) or bilinear.\n",
        "| output | RGB PSNR | ab PSNR | colourfulness (x originals') | ab error < 10 | < 20 | < 30 | AuC (0-150) "
        "| AuC rebalanced |",
        "|---|---|---|---|---|---|---|---|---|", *rows], args.out)


if __name__ == "__main__":
    main()
