"""Perception-distortion plane: every shipped SR model and bicubic, PSNR vs perceptual distance.

    NAPARI_SUPERRES_SQUEEZENET=... python benchmarks/perception_distortion.py \
        ../shared/data/dev/Set5 ../shared/data/dev/Set14 --scale 4 \
        --out benchmarks/results/perception_distortion_x4.md
    python docs/make_perception_distortion.py benchmarks/results/perception_distortion_x4.md \
        docs/perception_distortion.png

Per dataset (``HR/`` + ``LR_bicubic/X{s}/``) and method, averaged over the images: PSNR and
SSIM (Y, shave ``scale``), the perceptual distance
(:func:`napari_superres.metrics.perceptual_distance`, RGB, shaved alike), the same distance on
SqueezeNet layers that no perceptual training loss of ours uses (SRGAN's loss compares fire3,
fire5 and fire9, three of the five default layers: a check that the ranking is not just its
training objective), and the sharpness of the result over the truth's (Laplacian variance).
Blau and Michaeli (2018) showed that distortion and perceptual quality are at odds beyond a
point: the figure drawn from the table shows where each model sits on that plane.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _report import emit_table
from sr_quality import sharpness_ratio

from napari_superres import available_methods, perceptual_distance, sr_scores, upscale
from napari_superres.io import read_image
from napari_superres.losses.perceptual import perceptual_network

UNSEEN_LAYERS = ("conv1", "fire2", "fire4", "fire7")
COLUMNS = ("PSNR (Y)", "SSIM (Y)", "perceptual distance", "distance, unseen layers", "sharpness / truth's")


def shipped_methods(scale):
    """Bicubic and every learned method with weights for ``scale``."""
    return ["bicubic"] + [name for name, scales in available_methods().items() if scales and scale in scales]


def evaluate(dataset, method, scale, unseen):
    """Mean of the ``COLUMNS`` over the dataset's images."""
    rows = []
    for hr_path in sorted((dataset / "HR").glob("*.png")):
        hr = read_image(hr_path)
        lr = read_image(dataset / "LR_bicubic" / f"X{scale}" / hr_path.name)
        axis = -1 if lr.ndim == 3 else None
        sr = upscale(lr, scale, method=method, channel_axis=axis)
        crop = hr[: sr.shape[0], : sr.shape[1]]
        distance_unseen = perceptual_distance(crop, sr, channel_axis=axis, crop_border=scale, network=unseen)
        rows.append((*sr_scores(hr, sr, scale, channel_axis=axis, perceptual=True), distance_unseen,
                     sharpness_ratio(hr, sr, scale, axis)))
    return np.mean(rows, axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--methods", nargs="*", default=None, help="default: bicubic and every shipped model")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    args = parser.parse_args()
    unseen = perceptual_network(layers=UNSEEN_LAYERS)
    lines = ["| dataset | method | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    for dataset in args.datasets:
        for method in args.methods or shipped_methods(args.scale):
            values = evaluate(dataset, method, args.scale, unseen)
            lines.append(f"| {dataset.name} | {method} | {values[0]:.2f} | {values[1]:.4f} | "
                         + " | ".join(f"{v:.3f}" for v in values[2:]) + " |")
            print(lines[-1], flush=True)
    emit_table(lines, args.out)


if __name__ == "__main__":
    main()
