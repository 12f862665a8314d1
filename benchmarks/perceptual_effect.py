"""What the perceptual and adversarial losses change: PSNR-trained vs perceptually trained x4 SR.

    NAPARI_SUPERRES_SQUEEZENET=... python benchmarks/perceptual_effect.py \
        ../shared/data/dev/Set5 ../shared/data/dev/Set14 --methods bicubic edsr srgan \
        --out benchmarks/results/perceptual_effect_x4.md

For every method, averaged over each dataset (``HR/`` + ``LR_bicubic/X4/``):

- PSNR / SSIM (Y, shave 4): what a perceptual loss gives up;
- feature distance: the SqueezeNet perceptual loss (relative L1 of features, see
  :class:`napari_superres.losses.PerceptualLoss`) on the layers the training used
  (fire3, fire5, fire9) and, as a check that does not just echo the training
  objective, on layers it never saw (conv1, fire2, fire4, fire7); lower is closer;
- high-frequency energy ratio: mean squared Laplacian of the result's Y over the
  ground truth's (1 = as much fine detail as the truth, bicubic is far below 1;
  above 1 means invented detail or ringing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _report import emit_table
from scipy import ndimage

from napari_superres import sr_scores, upscale
from napari_superres.color import rgb_to_ycbcr
from napari_superres.io import read_image
from napari_superres.losses.perceptual import PerceptualLoss, perceptual_network

TRAINED_LAYERS = ("fire3", "fire5", "fire9")
UNSEEN_LAYERS = ("conv1", "fire2", "fire4", "fire7")


def feature_distances():
    """``{label: PerceptualLoss}`` on the trained layers and on layers the training never used."""
    return {label: PerceptualLoss(network=perceptual_network(layers=layers))
            for label, layers in (("trained", TRAINED_LAYERS), ("unseen", UNSEEN_LAYERS))}


def high_frequency_energy(y):
    return float(np.mean(ndimage.laplace(y.astype(np.float64)) ** 2))


def luma(image):
    return rgb_to_ycbcr(image)[..., 0] if image.ndim == 3 else image.astype(np.float64)


def to_tensor(image):
    rgb = np.dstack([image] * 3) if image.ndim == 2 else image[..., :3]
    return torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1) / 255.0)[None]


def evaluate(dataset, method, distances, scale=4):
    rows = []
    for hr_path in sorted((dataset / "HR").glob("*.png")):
        hr = read_image(hr_path)
        lr = read_image(dataset / "LR_bicubic" / f"X{scale}" / hr_path.name)
        axis = -1 if lr.ndim == 3 else None
        sr = upscale(lr, scale, method=method, channel_axis=axis)
        hr = hr[: sr.shape[0], : sr.shape[1]]
        psnr, ssim = sr_scores(hr, sr, scale, channel_axis=axis)
        crop = (slice(scale, -scale), slice(scale, -scale))
        with torch.no_grad():
            features = {label: float(loss(to_tensor(sr[crop]), to_tensor(hr[crop])))
                        for label, loss in distances.items()}
        energy = high_frequency_energy(luma(sr)[crop]) / high_frequency_energy(luma(hr)[crop])
        rows.append((psnr, ssim, features["trained"], features["unseen"], energy))
    return np.mean(rows, axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--methods", nargs="+", default=["bicubic", "edsr", "srgan"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    distances = feature_distances()
    lines = ["| dataset | method | PSNR (Y) | SSIM (Y) | feature distance, trained layers | "
             "feature distance, unseen layers | HF energy ratio |", "|---|---|---|---|---|---|---|"]
    for dataset in args.datasets:
        for method in args.methods:
            p, s, trained, unseen, energy = evaluate(dataset, method, distances)
            lines.append(f"| {dataset.name} | {method} | {p:.2f} | {s:.4f} | {trained:.4f} | {unseen:.4f} | "
                         f"{energy:.3f} |")
            print(lines[-1], flush=True)
    emit_table(lines, args.out)


if __name__ == "__main__":
    main()
