"""Denoising quality and speed: Gaussian noise of given σ on a folder of clean images.

    python benchmarks/denoise.py ../shared/data/dev/Set12 --sigmas 15 25 50 \
        --out benchmarks/results/denoise_set12.md

Noise is drawn with a fixed seed per image and σ (grey levels of 0-255), added in
floating point and kept unclipped, as in the DnCNN paper's protocol; every method
gets the true σ. PSNR/SSIM are averaged over the folder, time in seconds per megapixel.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import emit_table

from napari_superres import denoise, psnr, ssim
from napari_superres.denoise import CLASSICAL, FITTED
from napari_superres.io import read_image

# Set12 PSNR published in the DnCNN paper (Zhang et al. 2017, Table 3).
PUBLISHED = {15: {"BM3D": 32.37, "DnCNN-S": 32.86}, 25: {"BM3D": 29.97, "DnCNN-S": 30.44},
             50: {"BM3D": 26.72, "DnCNN-S": 27.18}}


def noisy_pairs(folder, sigma, seed):
    for k, path in enumerate(sorted(Path(folder).glob("*.png"))):
        clean = read_image(path).astype(np.float64)
        clean = clean[..., :3] if clean.ndim == 3 else clean
        rng = np.random.default_rng([seed, sigma, k])
        yield clean, (clean + rng.normal(0, sigma, clean.shape)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[15, 25, 50])
    parser.add_argument("--methods", nargs="+", default=list(CLASSICAL))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = ["| σ | method | PSNR | SSIM | s / MP | published BM3D / DnCNN-S (Set12) |", "|---|---|---|---|---|---|"]
    for sigma in args.sigmas:
        pairs = list(noisy_pairs(args.folder, int(sigma), args.seed))
        published = PUBLISHED.get(int(sigma), {})
        reference = f"{published.get('BM3D', '')} / {published.get('DnCNN-S', '')}" if published else ""
        noisy_scores = [(psnr(c, n, data_range=255), ssim(c, n, data_range=255)) for c, n in pairs]
        rows.append(f"| {sigma:g} | noisy input | {np.mean([p for p, _ in noisy_scores]):.2f} | "
                    f"{np.mean([s for _, s in noisy_scores]):.4f} | | {reference} |")
        for method in args.methods:
            scores, seconds, pixels = [], 0.0, 0
            for clean, noisy in pairs:
                start = time.perf_counter()
                told = ({"sigma": sigma} if method in CLASSICAL else {} if method in FITTED
                        else {"value_range": (0, 255)})
                out = denoise(noisy, method=method, channel_axis=-1 if noisy.ndim == 3 else None, **told)
                seconds += time.perf_counter() - start
                pixels += clean.shape[0] * clean.shape[1]
                out = np.clip(out, 0, 255)
                scores.append((psnr(clean, out, data_range=255), ssim(clean, out, data_range=255)))
            rows.append(f"| {sigma:g} | {method} | {np.mean([p for p, _ in scores]):.2f} | "
                        f"{np.mean([s for _, s in scores]):.4f} | {seconds / pixels * 1e6:.2f} | {reference} |")
            print(rows[-1], flush=True)
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
