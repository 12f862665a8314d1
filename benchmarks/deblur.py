"""Deblurring: Deep Image Prior through the blur vs Richardson-Lucy and Wiener (scikit-image).

    OMP_NUM_THREADS=1 python benchmarks/deblur.py ../shared/data/dev/DIP/restoration/kate.png \
        --out benchmarks/results/deblur.md --figure docs/dip_deblur.png

The recipe (seeded): a centred ``--crop`` of the image, blurred by :func:`napari_superres.blur.blur`
(mirrored borders) with each kernel (Gaussian σ = 2; motion of 15 pixels at 30°), Gaussian noise of
std 2.55 (1 % of the range, ``default_rng(0)``), rounded to uint8. Every method gets the true
kernel. PSNR (RGB, 0-255) with ``--shave`` pixels left out on each side, as Wiener's FFT wraps
around the borders. The classical baselines are given their best setting on this very image
(Richardson-Lucy: iterations; Wiener: balance), which favours them; DIP runs its defaults
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

from napari_superres import iter_fit_dip, psnr
from napari_superres.blur import blur, gaussian_kernel, motion_kernel
from napari_superres.io import read_image

KERNELS = {"gaussian sigma 2": gaussian_kernel(2.0), "motion 15 px at 30 deg": motion_kernel(15, 30)}
NOISE_STD = 2.55
RL_ITERATIONS = (5, 10, 20, 50, 100)
WIENER_BALANCES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
ZOOM = 2  # the figure's pixels per image pixel


def degrade(clean, kernel):
    rng = np.random.default_rng(0)
    blurred = blur(clean, kernel, channel_axis=-1) + rng.normal(0, NOISE_STD, clean.shape)
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


def per_channel(restore, image):
    """``restore`` (on a [0, 1] plane) applied to each channel, back to 0-255."""
    planes = [restore(image[..., c] / 255.0) for c in range(image.shape[-1])]
    return np.clip(np.stack(planes, axis=-1), 0, 1) * 255


def best_of(settings, restore, score):
    """``(score, setting, result)`` of the setting that scores best."""
    results = [(score(out), setting, out) for setting in settings for out in [restore(setting)]]
    return max(results, key=lambda entry: entry[0])


def run(clean, kernel, shave, iterations=None):
    """``{method: (PSNR, setting, result, seconds)}`` for one kernel."""
    blurred = degrade(clean, kernel)

    def score(image):
        inner = (slice(shave, -shave), slice(shave, -shave))
        return psnr(clean[inner], np.asarray(image, dtype=np.float64)[inner], data_range=255)

    rows = {"blurred input": (score(blurred), "", blurred, 0.0)}
    for name, settings, restore in (
        ("Richardson-Lucy", RL_ITERATIONS,
         lambda n: per_channel(lambda p: richardson_lucy(p, kernel, num_iter=n, clip=False), blurred)),
        ("Wiener", WIENER_BALANCES, lambda b: per_channel(lambda p: wiener(p, kernel, balance=b), blurred)),
    ):
        start = time.perf_counter()
        value, setting, out = best_of(settings, restore, score)
        rows[name] = (value, f"best of {settings}: {setting}", out, (time.perf_counter() - start) / len(settings))
    start = time.perf_counter()
    out, kept = fit_dip_recording_stop(blurred, kernel, iterations)
    rows["DIP (fast, early stopping)"] = (score(out), kept, out, time.perf_counter() - start)
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
    parser.add_argument("image", type=Path)
    parser.add_argument("--crop", type=int, default=128, help="side of the centred crop")
    parser.add_argument("--shave", type=int, default=12, help="border pixels left out of the PSNR")
    parser.add_argument("--iterations", type=int, default=None, help="DIP's upper bound (default: the task's)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    image = read_image(args.image)[..., :3]
    top, left = ((n - args.crop) // 2 for n in image.shape[:2])
    clean = image[top:top + args.crop, left:left + args.crop].astype(np.float64)
    lines = [f"Image: {args.image.name}, centred {args.crop}² crop; noise std {NOISE_STD}; PSNR (RGB) shaving "
             f"{args.shave} px.", "", "| blur | method | PSNR (dB) | setting | seconds |", "|---|---|---|---|---|"]
    cases = {}
    for kernel_name, kernel in KERNELS.items():
        _, rows = cases[kernel_name] = run(clean, kernel, args.shave, args.iterations)
        for method, (value, setting, _, seconds) in rows.items():
            lines.append(f"| {kernel_name} | {method} | {value:.2f} | {setting} | {seconds:.1f} |")
            print(lines[-1], flush=True)
    emit_table(lines, args.out)
    if args.figure:
        figure(clean, {k: rows for k, (_, rows) in cases.items()}, args.figure, list(next(iter(cases.values()))[1]))


if __name__ == "__main__":
    main()
