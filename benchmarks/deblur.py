"""Deblurring: the trained blind deblurrer and Deep Image Prior through the blur vs Richardson-Lucy and Wiener.

    OMP_NUM_THREADS=1 python benchmarks/deblur.py ../shared/data/dev/DIP/restoration/kate.png \
        --out benchmarks/results/deblur.md --figure docs/dip_deblur.png
    OMP_NUM_THREADS=1 python benchmarks/deblur.py ../shared/data/dev/Set5/HR ../shared/data/dev/Set14/HR \
        --gray --no-dip --out benchmarks/results/deblur_sets.md

The recipe (seeded): a centred ``--crop`` of the image, blurred by :func:`napari_superres.blur.blur`
(mirrored borders) with each kernel (Gaussian σ = 2; motion of 15 pixels at 30°), Gaussian noise of
std 2.55 (1 % of the range, ``default_rng(0)``), rounded to uint8. Every method gets the true
kernel except the trained blind deblurrer (``--blind``, default ``dncnn_deblur``), which gets none.
PSNR (RGB, 0-255) with ``--shave`` pixels left out on each side, as Wiener's FFT wraps around the
borders. Given folders, every PNG in them is scored whole instead of a crop; ``--gray`` takes each
image's gray version first (BT.601 weights, full range, rounded to uint8), where SSIM is reported
too. The classical baselines are given their best setting on each image (Richardson-Lucy:
iterations; Wiener: balance), which favours them; DIP runs its defaults
(``fast`` network, early stopping, at most ``TASK_DEFAULTS['deblur']`` iterations). The figure
shows each result at twice its size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from skimage.restoration import richardson_lucy, wiener

from napari_superres import deblur, iter_fit_dip, psnr, ssim
from napari_superres.blur import blur, gaussian_kernel, motion_kernel
from napari_superres.io import read_image

KERNELS = {"gaussian sigma 2": gaussian_kernel(2.0), "motion 15 px at 30 deg": motion_kernel(15, 30)}
NOISE_STD = 2.55
RL_ITERATIONS = (5, 10, 20, 50, 100)
WIENER_BALANCES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
ZOOM = 2  # the figure's pixels per image pixel


def degrade(clean, kernel):
    rng = np.random.default_rng(0)
    axis = -1 if clean.ndim == 3 else None
    blurred = blur(clean, kernel, channel_axis=axis) + rng.normal(0, NOISE_STD, clean.shape)
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


def per_channel(restore, image):
    """``restore`` (on a [0, 1] plane) applied to each channel, back to 0-255."""
    if image.ndim == 2:
        return per_channel(restore, image[..., None])[..., 0]
    planes = [restore(image[..., c] / 255.0) for c in range(image.shape[-1])]
    return np.clip(np.stack(planes, axis=-1), 0, 1) * 255


def best_of(settings, restore, score):
    """``(score, setting, result)`` of the setting that scores best."""
    results = [(score(out), setting, out) for setting in settings for out in [restore(setting)]]
    return max(results, key=lambda entry: entry[0])


def run(clean, kernel, shave, iterations=None, blind=None, dip=True):
    """``{method: (PSNR, setting, result, seconds, SSIM)}`` for one kernel (SSIM of gray images only, else nan)."""
    blurred = degrade(clean, kernel)
    inner = (slice(shave, -shave), slice(shave, -shave))

    def score(image):
        return psnr(clean[inner], np.asarray(image, dtype=np.float64)[inner], data_range=255)

    def structure(image):
        if clean.ndim == 3:
            return float("nan")
        return ssim(clean[inner], np.asarray(image, dtype=np.float64)[inner], data_range=255)

    rows = {"blurred input": (score(blurred), "", blurred, 0.0)}
    for name, settings, restore in (
        ("Richardson-Lucy", RL_ITERATIONS,
         lambda n: per_channel(lambda p: richardson_lucy(p, kernel, num_iter=n, clip=False), blurred)),
        ("Wiener", WIENER_BALANCES, lambda b: per_channel(lambda p: wiener(p, kernel, balance=b), blurred)),
    ):
        start = time.perf_counter()
        value, setting, out = best_of(settings, restore, score)
        rows[name] = (value, f"best of {settings}: {setting}", out, (time.perf_counter() - start) / len(settings))
    if blind:
        start = time.perf_counter()
        out = deblur(blurred, method=blind, channel_axis=-1 if clean.ndim == 3 else None, device="cpu")
        rows[f"{blind} (blind: no kernel)"] = (score(out), "", out, time.perf_counter() - start)
    if dip:
        start = time.perf_counter()
        out, kept = fit_dip_recording_stop(blurred, kernel, iterations)
        rows["DIP (fast, early stopping)"] = (score(out), kept, out, time.perf_counter() - start)
    rows = {name: (*row, structure(row[2])) for name, row in rows.items()}
    return blurred, rows


def fit_dip_recording_stop(blurred, kernel, iterations):
    """DIP's result and where early stopping took it (or that it ran every iteration)."""
    steps = iter_fit_dip(blurred, "deblur", kernel=kernel, channel_axis=-1, iterations=iterations,
                         preview_every=0)
    kept, last = None, 0
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            text = f"kept iteration {kept} (stopped)" if kept else f"ran all {last} iterations"
            return done.value, text
        last = max(last, step.iteration)
        kept = step.iteration if step.stopped else kept


def figure(clean, cases, path, labels):
    """One row per kernel: truth, then each method with its PSNR."""
    from PIL import Image, ImageDraw

    h, w = (ZOOM * n for n in clean.shape[:2])
    columns = ["truth"] + labels
    band = 44
    sheet = Image.new("RGB", (w * len(columns), (h + band) * len(cases)), "white")
    pen = ImageDraw.Draw(sheet)
    for row, (kernel_name, rows) in enumerate(cases.items()):
        top = row * (h + band)
        for col, name in enumerate(columns):
            image = np.clip(np.round(clean if name == "truth" else rows[name][2]), 0, 255).astype(np.uint8)
            sheet.paste(Image.fromarray(image.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)), (col * w, top + band))
            text = f"truth\n{kernel_name}" if name == "truth" else f"{name.split(' (')[0]}\n{rows[name][0]:.2f} dB"
            pen.multiline_text((col * w + 6, top + 3), text, fill="black", font_size=16)
    sheet.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", type=Path, nargs="+", help="an image (a centred crop is scored) or folders")
    parser.add_argument("--crop", type=int, default=128, help="side of the centred crop")
    parser.add_argument("--shave", type=int, default=12, help="border pixels left out of the PSNR")
    parser.add_argument("--iterations", type=int, default=None, help="DIP's upper bound (default: the task's)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--blind", default="dncnn_deblur", help="the trained blind deblurrer ('' for none)")
    parser.add_argument("--no-dip", action="store_true", help="leave Deep Image Prior out (minutes an image)")
    parser.add_argument("--gray", action="store_true", help="score the images' gray versions")
    parser.add_argument("--update-card", action="store_true",
                        help="folders: write the blind model's and the blurred input's mean PSNR/SSIM into its card")
    args = parser.parse_args()
    if args.images[0].is_dir():
        return score_sets(args)
    image = read_image(args.images[0])[..., :3]
    top, left = ((n - args.crop) // 2 for n in image.shape[:2])
    clean = image[top:top + args.crop, left:left + args.crop].astype(np.float64)
    lines = [f"Image: {args.images[0].name}, centred {args.crop}² crop; noise std {NOISE_STD}; PSNR (RGB) shaving "
             f"{args.shave} px.", "", "| blur | method | PSNR (dB) | setting | seconds |", "|---|---|---|---|---|"]
    cases = {}
    for kernel_name, kernel in KERNELS.items():
        _, rows = cases[kernel_name] = run(clean, kernel, args.shave, args.iterations, args.blind, not args.no_dip)
        for method, (value, setting, _, seconds, _) in rows.items():
            lines.append(f"| {kernel_name} | {method} | {value:.2f} | {setting} | {seconds:.1f} |")
            print(lines[-1], flush=True)
    emit_table(lines, args.out)
    if args.figure:
        figure(clean, {k: rows for k, (_, rows) in cases.items()}, args.figure, list(next(iter(cases.values()))[1]))


def score_sets(args):
    """Mean PSNR/SSIM per set, kernel and method over whole images (the classical ones at their best setting each)."""
    lines = [f"Whole images{', gray' if args.gray else ' (RGB)'}; noise std {NOISE_STD}; PSNR and SSIM shaving "
             f"{args.shave} px; Wiener and Richardson-Lucy at their best setting per image.", "",
             "| set | blur | method | images | PSNR (dB) | SSIM | seconds |", "|---|---|---|---|---|---|---|"]
    metrics = {}
    for folder in args.images:
        name = folder.name if folder.name != "HR" else folder.parent.name
        images = [read_image(path) for path in sorted(folder.glob("*.png"))]
        images = [image if image.ndim == 2 else image[..., :3] for image in images]
        images = [to_gray(image) if args.gray else image for image in images]
        for kernel_name, kernel in KERNELS.items():
            per_method = {}
            for clean in images:
                _, rows = run(clean.astype(np.float64), kernel, args.shave, args.iterations, args.blind,
                              not args.no_dip)
                for method, (value, _, _, seconds, structure) in rows.items():
                    per_method.setdefault(method, []).append((value, structure, seconds))
            for method, values in per_method.items():
                mean = np.mean(values, axis=0)
                if method == "blurred input" or method.startswith(f"{args.blind} "):
                    key = "blurred_" if method == "blurred input" else ""
                    metrics.setdefault(name, {}).setdefault(kernel_name, {}).update(
                        {f"{key}psnr": round(mean[0], 2), f"{key}ssim": round(mean[1], 4)})
                lines.append(f"| {name} | {kernel_name} | {method} | {len(values)} | {mean[0]:.2f} | {mean[1]:.4f} | "
                             f"{mean[2]:.1f} |")
                print(lines[-1], flush=True)
    emit_table(lines, args.out)
    if args.update_card and args.blind:
        update_card(args.blind, metrics, gray=args.gray, shave=args.shave)


def update_card(method, metrics, gray, shave):
    """Write ``metrics`` (per set and kernel) into the card of ``method``."""
    import json

    from napari_superres.models import find_model

    path = find_model(method, 1).weights.with_suffix(".json")
    card = json.loads(path.read_text())
    card["metrics"] = {"benchmark": f"benchmarks/deblur.py: whole {'gray ' if gray else ''}images blurred by each "
                                    f"kernel plus noise std {NOISE_STD} (default_rng(0)), PSNR/SSIM shaving {shave} px",
                       **metrics}
    path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"updated {path}")


def to_gray(image):
    """Gray (BT.601 weights, full range) rounded to uint8 levels; gray images as they are."""
    if image.ndim == 2:
        return image
    return np.clip(np.floor(image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) + 0.5), 0, 255)


if __name__ == "__main__":
    main()
