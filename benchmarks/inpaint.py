r"""Inpainting per mask family on the dev images: biharmonic (the simple answer), Telea, the network, auto.

Families (one mask per image, seed 0): pixels dropped at random (30, 50, 70 %), a text overlay,
brush strokes (4-24 pixels wide), boxes (a twelfth to a fifth of each side). Images: Set5 and Set14
(RGB, or gray as stored), their centre 256 x 256 crops by default (``--crop 0``: whole images).
Methods: any of ``available_inpainters()`` and ``telea`` (OpenCV's ``cv2.inpaint``, when OpenCV is
installed). PSNR over the whole crop (known pixels are returned exactly, so only the holes differ),
averaged over the images. A second table scores every hole by its
depth (the distance from its deepest pixel to the known ones): the measurements behind ``auto``'s rule.

    python benchmarks/inpaint.py ../shared/data/dev --out benchmarks/results/inpaint.md

``--paper`` scores the Deep Image Prior paper's cases instead (kate, library, vase with their masks;
50 % of barbara and kate dropped): ``python benchmarks/inpaint.py ../shared/data/dev --paper``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from dip import load_case
from PIL import Image, ImageDraw
from scipy import ndimage

from napari_superres import inpaint, psnr, ssim
from napari_superres.inpaint import LARGE_HOLE_DEPTH, LARGE_HOLE_RAMP, LARGE_HOLE_WEIGHTS, large_hole_weights
from napari_superres.io import read_image
from napari_superres.train.holes import blobs, boxes, brush_strokes

PAPER_CASES = ["inpaint-kate", "inpaint-library", "inpaint-vase", "drop50-barbara", "drop50-kate"]
WORDS = ("restoration without training data the network is the prior known pixels stay exactly as they were "
         "missing ones are filled").split()
DEPTH_BINS = [1, 2, 3, 4, 5, 6, 8, 12, 20, np.inf]


def drop_mask(shape, rng, share):
    return rng.random(shape) < share


def text_mask(shape, rng):
    """Lines of random words over the whole image, about a twentieth of its height tall."""
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    pen = ImageDraw.Draw(canvas)
    size = max(10, h // 18)
    for y in range(size, h - size, 3 * size):
        pen.text((int(rng.integers(0, size)), y), " ".join(rng.choice(WORDS, 8)), fill=255, font_size=size)
    return np.asarray(canvas) > 0


FAMILIES = {
    "drop 30 %": lambda shape, rng: drop_mask(shape, rng, 0.3),
    "drop 50 %": lambda shape, rng: drop_mask(shape, rng, 0.5),
    "drop 70 %": lambda shape, rng: drop_mask(shape, rng, 0.7),
    "text": text_mask,
    "brush strokes": brush_strokes,
    "boxes": boxes,
    "blobs": blobs,
}


def telea(observed, missing):
    import cv2

    filled = cv2.inpaint(observed, missing.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return np.where(missing[..., None] if observed.ndim == 3 else missing, filled, observed)


def run(method, observed, missing):
    """``method``: one of ``available_inpainters()``, ``telea``, or ``auto:NETWORK`` (auto, NETWORK in large holes)."""
    if method == "telea":
        return telea(observed, missing)
    method, _, large = method.partition(":")
    options = {"large_holes": large} if large else {}
    return inpaint(observed, missing, method=method, channel_axis=-1 if observed.ndim == 3 else None, **options)


def default_methods():
    try:
        import cv2  # noqa: F401
    except ImportError:
        return ["biharmonic", "gatedunet", "auto"]
    return ["biharmonic", "telea", "gatedunet", "auto"]


def load_images(folder, sets, crop):
    """``(name, image)`` of each HR image of ``sets``: RGB or gray, its centre ``crop`` x ``crop`` (0: whole)."""
    for name in sets:
        for path in sorted((folder / name / "HR").glob("*.png")):
            image = read_image(path)
            image = image[..., :3] if image.ndim == 3 else image
            if crop:
                top, left = ((n - min(n, crop)) // 2 for n in image.shape[:2])
                image = image[top:top + crop, left:left + crop]
            yield path.stem, image


def hole_errors(clean, result, missing):
    """Per hole (8-connected) of ``missing``: its depth and its summed squared error (all channels)."""
    labels, count = ndimage.label(missing, structure=np.ones((3, 3)))
    index = np.arange(1, count + 1)
    depths = ndimage.maximum(ndimage.distance_transform_edt(missing), labels, index)
    error = (result.astype(float) - clean) ** 2
    error = error.sum(axis=-1) if error.ndim == 3 else error
    return np.asarray(depths), np.asarray(ndimage.sum_labels(error, labels, index))


def family_tables(args):
    scores = {(f, m): [] for f in args.families for m in args.methods}
    similarities = {key: [] for key in scores}
    seconds = {m: 0.0 for m in args.methods}
    shares = {f: [] for f in args.families}
    holes = []  # (depth, biharmonic error, then per network: its error, its weighted mean with biharmonic's)
    for name, clean in load_images(args.folder, args.sets, args.crop):
        for family in args.families:
            missing = FAMILIES[family](clean.shape[:2], np.random.default_rng(args.seed))
            shares[family].append(missing.mean())
            observed = np.where(missing[..., None] if clean.ndim == 3 else missing, 0, clean).astype(np.uint8)
            results = {}
            for method in args.methods:
                start = time.perf_counter()
                results[method] = run(method, observed, missing)
                seconds[method] += time.perf_counter() - start
                scores[family, method].append(psnr(clean, results[method], data_range=255))
                channel_axis = -1 if clean.ndim == 3 else None
                similarities[family, method].append(ssim(clean, results[method], data_range=255,
                                                         channel_axis=channel_axis))
            print(name, family, *(f"{m} {scores[family, m][-1]:.2f}" for m in args.methods), flush=True)
            networks = [n for n in args.network if n in results]
            if "biharmonic" in results and networks:
                smooth = results["biharmonic"].astype(float)
                weight = large_hole_weights(missing)
                weight = weight[..., None] if smooth.ndim == 3 else weight
                fills = [smooth]
                for network in networks:
                    deep = results[network].astype(float)
                    fills += [deep, smooth + weight * (deep - smooth)]
                depths = hole_errors(clean, smooth, missing)[0]
                holes.append(np.stack([depths, *(hole_errors(clean, r, missing)[1] for r in fills)]))
    holes = np.concatenate(holes, axis=1) if holes else None
    tables = [*family_table(args, scores, seconds, shares),
              *family_table(args, similarities, None, shares, "SSIM (whole crop, RGB or gray as stored)", 4)]
    return tables, depth_table(args, holes)


def family_table(args, scores, seconds, shares, metric="PSNR (dB, whole crop)", digits=2):
    """Per family: each method's mean PSNR, and each auto's (``auto``, ``auto:NETWORK``) gain over the best single."""
    singles = [m for m in args.methods if not m.startswith("auto")]
    autos = [m for m in args.methods if m.startswith("auto")] if singles else []
    crop = f"centre {args.crop} x {args.crop} crops of the" if args.crop else "the whole"
    lines = [f"{'' if seconds else chr(10)}Mean {metric} over {crop} {len(next(iter(scores.values())))} images of "
             f"{' and '.join(args.sets)} per mask family (seed {args.seed}); best single method in bold.\n",
             "| family | missing | " + " | ".join([*args.methods, *(f"{m} - best single" for m in autos)]) + " |",
             "|---|---|" + "---|" * (len(args.methods) + len(autos))]
    for family in args.families:
        means = {m: np.mean(scores[family, m]) for m in args.methods}
        best = max(singles, key=means.get) if singles else None
        cells = [f"**{means[m]:.{digits}f}**" if m == best else f"{means[m]:.{digits}f}" for m in args.methods]
        cells += [f"{means[m] - means[best]:+.{digits}f}" for m in autos]
        lines.append(f"| {family} | {np.mean(shares[family]):.0%} | " + " | ".join(cells) + " |")
    if seconds:
        lines.append("| seconds, all images | | " + " | ".join(f"{seconds[m]:.0f}" for m in args.methods) + " |")
    return lines


def depth_table(args, holes):
    if holes is None:
        return []
    depths, errors = holes[0], holes[1:]
    networks = [n for n in args.network if n in args.methods]
    columns = ["biharmonic", *(c for n in networks for c in (n, f"{n} mean"))]
    lines = [f"\nEvery hole of every family and image by its depth (pixels from its deepest pixel to the known "
             f"ones): squared error of {', '.join(networks)} and of each one's weighted mean with biharmonic (the "
             f"network's weight {LARGE_HOLE_WEIGHTS[0]} at the rim to {LARGE_HOLE_WEIGHTS[1]} from "
             f"{LARGE_HOLE_RAMP:g} pixels deep: what auto returns), relative to biharmonic's. Auto uses the mean in "
             f"holes {LARGE_HOLE_DEPTH:g} pixels deep or more, biharmonic alone in thinner ones.\n",
             "| depth | holes | " + " | ".join(columns) + " | best |", "|---|---|" + "---|" * (len(columns) + 1)]
    for low, high in zip(DEPTH_BINS[:-1], DEPTH_BINS[1:], strict=True):
        inside = (depths >= low) & (depths < high)
        if not inside.any():
            continue
        sums = errors[:, inside].sum(axis=1)
        label = f"{low:g}+" if np.isinf(high) else f"{low:g}-{high:g}"
        lines.append(f"| {label} | {int(inside.sum())} | " + " | ".join(f"{s / sums[0]:.2f}" for s in sums)
                     + f" | {columns[int(np.argmin(sums))]} |")
    return lines


def paper_table(args):
    rows = []
    for case in PAPER_CASES:
        observed, clean, _, kwargs, _ = load_case(args.folder / "DIP", case)
        for method in args.methods:
            start = time.perf_counter()
            result = run(method, observed, kwargs["mask"])
            seconds = time.perf_counter() - start
            rows.append(f"| {case} | {observed.shape[1]} x {observed.shape[0]} | {kwargs['mask'].mean():.0%} | "
                        f"{method} | {psnr(clean, result, data_range=255):.2f} | {seconds:.1f} |")
            print(rows[-1], flush=True)
    return ["Inpainting on the DIP paper's images (PSNR in dB over the whole image, RGB or gray as stored).\n",
            "| case | size | missing | method | PSNR | seconds |", "|---|---|---|---|---|---|", *rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("../shared/data/dev"),
                        help="the dev folder (Set5/, Set14/, DIP/)")
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--methods", nargs="+", default=default_methods())
    parser.add_argument("--network", nargs="+", default=["gatedunet"],
                        help="the networks whose holes the depth table scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crop", type=int, default=256,
                        help="score the centre crop of this size of each image (0: whole images, ~4x the time)")
    parser.add_argument("--paper", action="store_true", help="the DIP paper's cases instead of the families")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.paper:
        emit_table(paper_table(args), args.out)
        return
    families, depths = family_tables(args)
    emit_table([*families, *depths], args.out)


if __name__ == "__main__":
    main()
