"""JPEG artefact removal: the trained model (and Deep Image Prior on a few crops) vs the JPEG it is given.

    OMP_NUM_THREADS=1 python benchmarks/jpeg.py ../shared/data/dev/Set5/HR ../shared/data/dev/Set14/HR \
        --out benchmarks/results/jpeg.md

The recipe (deterministic): each image's gray version (ITU-R BT.601 weights on RGB, full range, rounded to
uint8; the gray images of Set12 as they are), compressed by Pillow at each ``--qualities`` (default 10, 20,
30, 40, the published tables' qualities, and 60-90; standard IJG tables) and decoded. PSNR and SSIM
(``napari_superres.metrics``, data range 255) of the whole gray image against the uncompressed gray.
``--dip-crops N``: Deep Image Prior (task 'jpeg', ``fast`` network, early stopping) on the centred
``--dip-crop``² crop of the first N images per set, the trained model and the JPEG scored on the same
crops (DIP costs minutes a crop).

Published figures, for scale only (other images: LIVE1 or Classic5, and MATLAB's JPEG encoder), from the
DnCNN paper's JPEG deblocking table (Zhang et al. 2017) as recalled, not re-checked against the paper
here; PSNR at quality 10/20/30/40:
LIVE1 JPEG 27.77/30.07/31.41/32.35, AR-CNN 28.96/31.29/32.67/33.63, DnCNN-3 29.19/31.59/32.98/33.96;
Classic5 JPEG 27.82/30.12/31.48/32.43, AR-CNN 29.03/31.15/32.51/33.34, DnCNN-3 29.40/31.63/32.91/33.77.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from PIL import Image

from napari_superres import psnr, remove_jpeg_artifacts, ssim
from napari_superres.io import read_image


def gray(image):
    if image.ndim == 2:
        return image
    weights = np.array([0.299, 0.587, 0.114])
    return np.clip(np.floor(image[..., :3].astype(np.float64) @ weights + 0.5), 0, 255).astype(np.uint8)


def jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("L"))


def centred(image, side):
    top, left = ((n - min(n, side)) // 2 for n in image.shape)
    return image[top:top + side, left:left + side]


def scores(clean, image):
    return psnr(clean, image, data_range=255), ssim(clean, image, data_range=255)


def run_set(folder, qualities, method, dip_crops, dip_crop):
    """``{(quality, row name): [(psnr, ssim, seconds) per image]}`` for one folder of images."""
    images = [gray(read_image(path)) for path in sorted(Path(folder).glob("*.png"))]
    rows = {}
    for quality in qualities:
        for k, clean in enumerate(images):
            decoded = jpeg(clean, quality)
            start = time.perf_counter()
            restored = remove_jpeg_artifacts(decoded, method=method, device="cpu")
            seconds = time.perf_counter() - start
            rows.setdefault((quality, "JPEG"), []).append((*scores(clean, decoded), 0.0))
            rows.setdefault((quality, method), []).append((*scores(clean, restored), seconds))
            if k < dip_crops:
                crop, crop_jpeg = centred(clean, dip_crop), jpeg(centred(clean, dip_crop), quality)
                start = time.perf_counter()
                fitted = remove_jpeg_artifacts(crop_jpeg, method="dip", device="cpu", seed=0, preview_every=0)
                rows.setdefault((quality, f"DIP, {dip_crop}² crops"), []).append(
                    (*scores(crop, fitted), time.perf_counter() - start))
                rows.setdefault((quality, f"{method}, same crops"), []).append(
                    (*scores(crop, remove_jpeg_artifacts(crop_jpeg, method=method, device="cpu")), 0.0))
                rows.setdefault((quality, "JPEG, same crops"), []).append((*scores(crop, crop_jpeg), 0.0))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="folders of test images (PNG)")
    parser.add_argument("--qualities", type=int, nargs="+", default=[10, 20, 30, 40, 60, 70, 80, 90])
    parser.add_argument("--method", default="dncnn_jpeg", help="the trained model")
    parser.add_argument("--dip-crops", type=int, default=0, help="images per set that DIP also restores")
    parser.add_argument("--dip-crop", type=int, default=96, help="side of DIP's centred crops")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--update-card", action="store_true",
                        help="write the model's and the JPEG's mean PSNR/SSIM per set and quality into its card")
    args = parser.parse_args()
    metrics = {}
    lines = ["Gray images JPEG-compressed by Pillow; PSNR (dB) / SSIM of the whole gray image; seconds per image.",
             "", "| set | quality | method | images | PSNR | SSIM | gain over JPEG (dB) | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for folder in args.folders:
        rows = run_set(folder, args.qualities, args.method, args.dip_crops, args.dip_crop)
        name = folder.name if folder.name != "HR" else folder.parent.name
        for (quality, method), values in rows.items():
            mean = np.mean(values, axis=0)
            if method in (args.method, "JPEG"):
                key = "psnr" if method == args.method else "jpeg_psnr"
                entry = metrics.setdefault(name, {}).setdefault(f"quality {quality}", {})
                entry.update({key: round(mean[0], 2), key.replace("psnr", "ssim"): round(mean[1], 4)})
            baseline = "JPEG, same crops" if "crops" in method else "JPEG"
            gain = mean[0] - np.mean(rows[(quality, baseline)], axis=0)[0]
            lines.append(f"| {name} | {quality} | {method} | {len(values)} | {mean[0]:.2f} | {mean[1]:.4f} | "
                         f"{gain:+.2f} | {mean[2]:.1f} |")
            print(lines[-1], flush=True)
    emit_table(lines, args.out)
    if args.update_card:
        update_card(args.method, metrics)


def update_card(method, metrics):
    """Write ``metrics`` (per set and quality) into the card of ``method`` in weights/."""
    import json

    from napari_superres.models import find_model

    path = find_model(method, 1).weights.with_suffix(".json")
    card = json.loads(path.read_text())
    card["metrics"] = {"benchmark": "benchmarks/jpeg.py: gray images, Pillow JPEG, PSNR/SSIM of the whole image",
                       **metrics}
    path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"updated {path}")


if __name__ == "__main__":
    main()
