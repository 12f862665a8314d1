"""Super-resolution quality and speed on benchmark folders (published protocol).

Each dataset folder holds ``HR/*.png`` and ``LR_bicubic/X{s}/*.png`` with the same
names (the layout of ``../shared/data/dev/Set5``). Every method is scored by PSNR
and SSIM on the Y channel with ``scale`` pixels shaved, and timed in seconds per
output megapixel on this machine.

    python benchmarks/sr_quality.py ../shared/data/dev/Set5 ../shared/data/dev/Set14 \
        --scales 2 3 4 --out benchmarks/results/sr_quality.md --update-cards
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from napari_superres import available_methods, sr_scores, upscale
from napari_superres.io import read_image
from napari_superres.models import find_model

# Published Y-channel PSNR of bicubic and VDSR (Kim et al. 2016, Table 3).
PUBLISHED = {
    ("Set5", 2): {"bicubic": 33.66, "VDSR": 37.53},
    ("Set5", 3): {"bicubic": 30.39, "VDSR": 33.66},
    ("Set5", 4): {"bicubic": 28.42, "VDSR": 31.35},
    ("Set14", 2): {"bicubic": 30.24, "VDSR": 33.03},
    ("Set14", 3): {"bicubic": 27.55, "VDSR": 29.77},
    ("Set14", 4): {"bicubic": 26.00, "VDSR": 28.01},
}


def opencv_upscaler(models_dir, name, scale):
    """A peer: OpenCV dnn_superres (``pip install opencv-contrib-python-headless``)."""
    import cv2

    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(Path(models_dir) / f"{name.upper().replace('-SMALL', '-small')}_x{scale}.pb"))
    sr.setModel(name.split("-")[0], scale)

    def run(lr, scale, method=None, channel_axis=None):
        bgr = lr[..., ::-1] if lr.ndim == 3 else np.dstack([lr] * 3)
        out = sr.upsample(np.ascontiguousarray(bgr))[..., ::-1]
        return out if lr.ndim == 3 else out[..., 0]

    return run


def evaluate(dataset, method, scale, upscaler=upscale):
    """Mean PSNR, mean SSIM and seconds per output megapixel over a dataset."""
    scores, seconds, pixels = [], 0.0, 0
    for hr_path in sorted((dataset / "HR").glob("*.png")):
        hr = read_image(hr_path)
        lr = read_image(dataset / "LR_bicubic" / f"X{scale}" / hr_path.name)
        axis = -1 if lr.ndim == 3 else None
        start = time.perf_counter()
        sr = upscaler(lr, scale, method=method, channel_axis=axis)
        seconds += time.perf_counter() - start
        pixels += sr.shape[0] * sr.shape[1]
        scores.append(sr_scores(hr, sr, scale, channel_axis=axis))
    psnr, ssim = np.mean(scores, axis=0)
    return float(psnr), float(ssim), seconds / (pixels / 1e6)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--methods", nargs="*", default=None, help="default: all")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--update-cards", action="store_true", help="store the scores in the model cards")
    parser.add_argument("--opencv-models", type=Path, default=None,
                        help="folder of OpenCV dnn_superres .pb models: adds them as peers")
    args = parser.parse_args()

    methods = available_methods()
    names = args.methods or list(methods)
    rows = ["| dataset | scale | method | PSNR (Y) | SSIM (Y) | s / MP | published bicubic / VDSR |",
            "|---|---|---|---|---|---|---|"]
    for dataset in args.datasets:
        for scale in args.scales:
            published = PUBLISHED.get((dataset.name, scale), {})
            reference = " / ".join(f"{v:.2f}" for v in published.values())
            candidates = [(name, name, upscale) for name in names
                          if methods[name] is None or scale in methods[name]]
            for peer in ("espcn", "fsrcnn", "fsrcnn-small") if args.opencv_models else ():
                candidates.append((f"OpenCV {peer} (peer)", peer, opencv_upscaler(args.opencv_models, peer, scale)))
            for label, method, upscaler in candidates:
                psnr, ssim, speed = evaluate(dataset, method, scale, upscaler)
                rows.append(f"| {dataset.name} | x{scale} | {label} | {psnr:.2f} | {ssim:.4f} | {speed:.3f} | {reference} |")
                print(rows[-1], flush=True)
                if args.update_cards and methods.get(label) is not None:
                    card_path = find_model(method, scale).weights.with_suffix(".json")
                    card = json.loads(card_path.read_text())
                    card.setdefault("metrics", {})[dataset.name] = {
                        "psnr_y": round(psnr, 2), "ssim_y": round(ssim, 4),
                        "protocol": f"MATLAB bicubic LR, Y channel BT.601, shave {scale}",
                    }
                    card_path.write_text(json.dumps(card, indent=2) + "\n")
    table = "\n".join(rows) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
