"""Do the uncertainty maps point at the errors? Spearman rank correlation of each map with the true |error|.

    python benchmarks/uncertainty.py ../shared/data/dev/Set5 --out benchmarks/results/uncertainty.md
    python benchmarks/uncertainty.py --no-sr --seeds 4 --out benchmarks/results/uncertainty_seeds.md
    python benchmarks/uncertainty.py --no-sr --seeds 4 --seed-side 256 --seed-methods n2v \
        --out benchmarks/results/uncertainty_seeds_n2v256.md

Super-resolution x4 on Set5 (HR crops to a multiple of 4, low resolution by the
MATLAB-exact bicubic, RGB in and out, errors on the Y channel as in the published
protocol):

- back-projection residual ``|imresize(SR_Y, 1/4) - LR_Y|`` on the low-resolution
  grid, against the mean |error| of each 4x4 block of the result (one LR pixel
  shaved at the border);
- spread of the 8 flips and quarter turns (test-time augmentation, RGB channels
  averaged), against the |error| per pixel (4 pixels shaved), for learned models.

With ``--microscopy``: Noise2Void trained on one synthetic fluorescence stack
(``denoise_microscopy.py``'s scene, 2D planes) and saved, then applied to a new
stack with the flips and turns: the spread against the |error| per pixel.
With ``--seeds K``: Deep Image Prior (its defaults) and Noise2Void (its quick preset) each fitted
K times from different seeds to one synthetic plane: the spread of the fits
against the |error| of their mean.
Correlations are per image; the table gives their mean and range.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from scipy.stats import spearmanr

from napari_superres import imresize, upscale
from napari_superres.color import rgb_to_ycbcr
from napari_superres.io import read_image
from napari_superres.uncertainty import augmentation_spread, backprojection_residual, seed_spread

SCALE = 4


def luma(rgb):
    """BT.601 Y in 8-bit levels (16-235)."""
    return 255 * rgb_to_ycbcr(rgb)[..., 0]


def block_mean(error, scale):
    h, w = error.shape[0] // scale, error.shape[1] // scale
    return error[: h * scale, : w * scale].reshape(h, scale, w, scale).mean(axis=(1, 3))


def rank_correlation(uncertainty, error):
    return float(spearmanr(uncertainty.ravel(), error.ravel()).statistic)


def sr_correlations(folder, method, augment):
    """Per image ``(residual ρ, spread ρ or None, PSNR of the method, seconds)``."""
    rows = []
    for path in sorted((Path(folder) / "HR").glob("*.png")):
        hr = read_image(path)
        hr = hr[: hr.shape[0] // SCALE * SCALE, : hr.shape[1] // SCALE * SCALE]
        lowres = imresize(hr, 1 / SCALE, channel_axis=-1)
        start = time.perf_counter()
        result = upscale(lowres, SCALE, method=method, channel_axis=-1)
        error = np.abs(luma(result) - luma(hr))
        residual = backprojection_residual(luma(result), luma(lowres), SCALE)
        residual_rho = rank_correlation(residual[1:-1, 1:-1], block_mean(error, SCALE)[1:-1, 1:-1])
        spread_rho = None
        if augment:
            _, spread = augmentation_spread(
                lowres, lambda x: upscale(x, SCALE, method=method, channel_axis=-1), channel_axis=-1)
            spread_rho = rank_correlation(spread[SCALE:-SCALE, SCALE:-SCALE], error[SCALE:-SCALE, SCALE:-SCALE])
        mse = np.mean(error[SCALE:-SCALE, SCALE:-SCALE] ** 2)
        rows.append((residual_rho, spread_rho, 10 * np.log10(255**2 / mse), time.perf_counter() - start))
    return rows


def summary(values):
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.3f} ({min(values):.3f} to {max(values):.3f})" if values else "—"


def microscopy_rows(iterations):
    """Noise2Void saved on one stack, applied with flips and turns to another: spread ρ with |error|."""
    from denoise_microscopy import OFFSET, camera_image, synthetic_truth

    from napari_superres.noise2void import apply_noise2void, fit_noise2void

    shape = (8, 64, 64)
    stacks = [(synthetic_truth(shape, 30.0, seed) + OFFSET) for seed in (0, 1)]
    noisy = [camera_image(truth - OFFSET, 3.0, seed) for seed, truth in zip((0, 1), stacks, strict=True)]
    with tempfile.TemporaryDirectory() as folder:
        fit_noise2void(noisy[0], iterations=iterations, preview_every=0, save_to=Path(folder) / "model")
        mean, spread = augmentation_spread(noisy[1], lambda x: apply_noise2void(x, Path(folder) / "model"))
    error = np.abs(mean.astype(np.float64) - stacks[1])
    rhos = [rank_correlation(s, e) for s, e in zip(spread, error, strict=True)]
    return [f"| Noise2Void 2D ({iterations} it.), synthetic stack {'x'.join(map(str, shape))}, per plane | "
            f"flips/turns spread vs abs. error | {summary(rhos)} |"]


def seed_rows(seeds, iterations, side=64, methods=("dip", "n2v")):
    """DIP and Noise2Void fitted ``seeds`` times to one synthetic fluorescence plane: spread ρ with |error|."""
    from denoise_microscopy import OFFSET, camera_image, synthetic_truth

    from napari_superres import fit_dip, fit_noise2void
    from napari_superres.metrics import psnr
    from napari_superres.noise2void import QUICK

    truth = synthetic_truth((side, side), 30.0, 0)
    clean, noisy = truth + OFFSET, camera_image(truth, 3.0, 0)
    fits = {("dip", "DIP (its defaults)"): lambda x, seed: fit_dip(x, seed=seed, preview_every=0),
            ("n2v", f"Noise2Void 2D (quick preset, {iterations} it.)"):
                lambda x, seed: fit_noise2void(x, seed=seed, preview_every=0, **{**QUICK, "iterations": iterations})}
    fits = {name: fit for (key, name), fit in fits.items() if key in methods}
    data_range = float(clean.max() - clean.min())
    rows = []
    for name, fit in fits.items():
        start = time.perf_counter()
        single = fit(noisy, 0)  # what one fit gives, and its time
        seconds = time.perf_counter() - start
        mean, spread = seed_spread(noisy, fit, seeds=seeds)
        error = np.abs(mean.astype(np.float64) - clean)
        one = psnr(clean, single.astype(np.float64), data_range=data_range)
        blocks = rank_correlation(block_mean(spread, 4), block_mean(error, 4))
        rows.append(f"| {name}, synthetic plane {side}² | {seeds} seeds' spread vs abs. error of "
                    f"their mean | {rank_correlation(spread, error):.3f} | {blocks:.3f} | {one:.2f} → "
                    f"{psnr(clean, mean.astype(np.float64), data_range=data_range):.2f} | {seconds:.0f} |")
        print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=None,
                        help="a dataset folder with HR/*.png (e.g. ../shared/data/dev/Set5); not with --no-sr")
    parser.add_argument("--methods", nargs="+", default=["bicubic", "espcn", "fsrcnn", "edsr"])
    parser.add_argument("--microscopy", type=int, default=0, help="Noise2Void training iterations (0: not run)")
    parser.add_argument("--seeds", type=int, default=0,
                        help="DIP and Noise2Void fits per seed on a synthetic plane (0: not run)")
    parser.add_argument("--seed-iterations", type=int, default=600, help="iterations of each Noise2Void fit")
    parser.add_argument("--seed-side", type=int, default=64, help="side of the synthetic plane of those fits")
    parser.add_argument("--seed-methods", nargs="+", choices=["dip", "n2v"], default=["dip", "n2v"])
    parser.add_argument("--no-sr", action="store_true", help="skip the super-resolution rows")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = [] if args.no_sr else [
        f"Spearman ρ between each map and the true |error| ({args.folder.name} x{SCALE}, Y channel): "
        "mean over the images (min to max)", "",
        "| method | Y PSNR | back-projection residual ρ (LR grid) | flips/turns spread ρ | s / image |",
        "|---|---|---|---|---|"]
    for method in [] if args.no_sr else args.methods:
        per_image = sr_correlations(args.folder, method, augment=method not in ("bicubic", "lanczos"))
        columns = list(zip(*per_image, strict=True))
        rows.append(f"| {method} | {np.mean(columns[2]):.2f} | {summary(columns[0])} | {summary(columns[1])} | "
                    f"{np.mean(columns[3]):.1f} |")
        print(rows[-1], flush=True)
    if args.microscopy:
        rows += ["", "| model | map | ρ |", "|---|---|---|", *microscopy_rows(args.microscopy)]
    if args.seeds:
        rows += [""] * bool(rows) + [
                 "Fits from K seeds to one synthetic fluorescence plane (denoise_microscopy.py's scene: peak 30 "
                 "photons, read noise 3 ADU, seed 0); Spearman ρ of their spread with the |error| of their mean", "",
                 "| fit | map | ρ per pixel | ρ of 4x4 block means | PSNR one fit → mean of the seeds | s / fit |",
                 "|---|---|---|---|---|---|",
                 *seed_rows(args.seeds, args.seed_iterations, args.seed_side, args.seed_methods)]
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
