"""Super-resolution quality and speed on benchmark folders (published protocol).

Each dataset folder holds ``HR/*.png`` and ``LR_bicubic/X{s}/*.png`` with the same
names (the layout of ``../shared/data/dev/Set5``). Every method is scored by PSNR
and SSIM on the Y channel with ``scale`` pixels shaved, and timed in seconds per
output megapixel on this machine. With ``--perceptual`` (needs ``$NAPARI_SUPERRES_SQUEEZENET``):
also the perceptual distance (:func:`napari_superres.metrics.perceptual_distance`, RGB, shaved
alike; lower is closer) and the sharpness of the result over the truth's
(:func:`napari_superres.metrics.laplacian_variance`; 1 = as much fine detail).

    python benchmarks/sr_quality.py ../shared/data/dev/Set5 ../shared/data/dev/Set14 \
        --scales 2 3 4 --out benchmarks/results/sr_quality.md --update-cards
    python benchmarks/sr_quality.py /work/ext/x8/Set5 /work/ext/x8/Set14 --scales 8 \
        --out benchmarks/results/sr_quality_x8.md   # LR written by matlab_bicubic.py --write
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _report import emit_table

from napari_superres import available_methods, laplacian_variance, sr_scores, upscale
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
    # x8: bicubic and LapSRN (Lai et al. 2017); our LR: matlab_bicubic.py --scales 8 --write.
    ("Set5", 8): {"bicubic": 24.40, "LapSRN": 26.15},
}

# Published Y-channel PSNR (Set5, Set14) of the architecture each method follows, at the
# paper's size and training: FSRCNN (Dong et al. 2016), ESPCN (Shi et al. 2016, ImageNet
# training), EDSR-baseline and MDSR (Lim et al. 2017), SRGAN (Ledig et al. 2017: the GAN model, not SRResNet),
# LapSRN (Lai et al. 2017), DRCN (Kim et al. 2016).
PUBLISHED_MODELS = {
    ("fsrcnn", 2): ("FSRCNN", 37.00, 32.63), ("fsrcnn", 3): ("FSRCNN", 33.16, 29.43),
    ("fsrcnn", 4): ("FSRCNN", 30.71, 27.59),
    ("espcn", 3): ("ESPCN", 33.13, 29.49), ("espcn", 4): ("ESPCN", 30.90, 27.73),
    ("edsr", 2): ("EDSR-baseline", 37.99, 33.57), ("edsr", 3): ("EDSR-baseline", 34.37, 30.28),
    ("edsr", 4): ("EDSR-baseline", 32.09, 28.58),
    ("srgan", 4): ("SRGAN", 29.40, 26.02),
    ("mdsr", 2): ("MDSR", 38.11, 33.85), ("mdsr", 3): ("MDSR", 34.66, 30.44), ("mdsr", 4): ("MDSR", 32.50, 28.72),
    ("lapsrn", 2): ("LapSRN", 37.52, 33.08), ("lapsrn", 4): ("LapSRN", 31.54, 28.19),
    ("lapsrn", 8): ("LapSRN", 26.15, 24.45),
    ("drcn", 2): ("DRCN", 37.63, 33.04), ("drcn", 3): ("DRCN", 33.82, 29.76), ("drcn", 4): ("DRCN", 31.53, 28.02),
}


def published_model(method, scale, dataset):
    """``'EDSR-baseline 32.09'``: the paper's figure for this method's architecture, if any."""
    entry = PUBLISHED_MODELS.get((method, scale))
    if entry is None or dataset not in ("Set5", "Set14"):
        return ""
    name, set5, set14 = entry
    return f"{name} {set5 if dataset == 'Set5' else set14:.2f}"


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


def evaluate(dataset, method, scale, upscaler=upscale, perceptual=False):
    """Mean PSNR, mean SSIM and seconds per output megapixel over a dataset.

    ``perceptual``: also the mean perceptual distance and the mean sharpness ratio (result / truth).
    """
    scores, seconds, pixels = [], 0.0, 0
    for hr_path in sorted((dataset / "HR").glob("*.png")):
        hr = read_image(hr_path)
        lr = read_image(dataset / "LR_bicubic" / f"X{scale}" / hr_path.name)
        axis = -1 if lr.ndim == 3 else None
        start = time.perf_counter()
        sr = upscaler(lr, scale, method=method, channel_axis=axis)
        seconds += time.perf_counter() - start
        pixels += sr.shape[0] * sr.shape[1]
        scores.append(sr_scores(hr, sr, scale, channel_axis=axis, perceptual=perceptual))
        if perceptual:
            scores[-1] += (sharpness_ratio(hr, sr, scale, axis),)
    psnr, ssim, *extra = np.mean(scores, axis=0)
    return (float(psnr), float(ssim), seconds / (pixels / 1e6), *map(float, extra))


def sharpness_ratio(hr, sr, scale, channel_axis):
    """Laplacian variance of ``sr`` over that of ``hr`` (modcropped), ``scale`` pixels shaved."""
    crop = (slice(scale, sr.shape[0] - scale), slice(scale, sr.shape[1] - scale))
    hr = hr[: sr.shape[0], : sr.shape[1]]
    return laplacian_variance(sr[crop], channel_axis=channel_axis) / laplacian_variance(
        hr[crop], channel_axis=channel_axis)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--methods", nargs="*", default=None, help="default: all")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--update-cards", action="store_true", help="store the scores in the model cards")
    parser.add_argument("--perceptual", action="store_true",
                        help="add the perceptual distance and the sharpness ratio (needs the SqueezeNet weights)")
    parser.add_argument("--opencv-models", type=Path, default=None,
                        help="folder of OpenCV dnn_superres .pb models: adds them as peers")
    args = parser.parse_args()

    methods = available_methods()
    names = args.methods or list(methods)
    extra = " perceptual distance | sharpness / truth's |" if args.perceptual else ""
    rows = ["| dataset | scale | method | PSNR (Y) | SSIM (Y) | s / MP | published bicubic / VDSR (x8: LapSRN) | "
            "published, same architecture |" + extra, "|---|---|---|---|---|---|---|---|" + "---|" * bool(extra) * 2]
    for dataset in args.datasets:
        for scale in args.scales:
            published = PUBLISHED.get((dataset.name, scale), {})
            reference = " / ".join(f"{v:.2f}" for v in published.values())
            candidates = [(name, name, upscale) for name in names
                          if methods[name] is None or scale in methods[name]]
            for peer in ("espcn", "fsrcnn", "fsrcnn-small") if args.opencv_models else ():
                candidates.append((f"OpenCV {peer} (peer)", peer, opencv_upscaler(args.opencv_models, peer, scale)))
            for label, method, upscaler in candidates:
                psnr, ssim, speed, *perceptual = evaluate(dataset, method, scale, upscaler, args.perceptual)
                paper = published_model(method, scale, dataset.name) if methods.get(label) else ""
                rows.append(f"| {dataset.name} | x{scale} | {label} | {psnr:.2f} | {ssim:.4f} | {speed:.3f} | "
                            f"{reference} | {paper} |" + "".join(f" {v:.3f} |" for v in perceptual))
                print(rows[-1], flush=True)
                if args.update_cards and methods.get(label) is not None:
                    card_path = find_model(method, scale).weights.with_suffix(".json")
                    card = json.loads(card_path.read_text())
                    # a card of several scales (MDSR, LapSRN): the other scales' scores beside its own
                    key = dataset.name if scale == card["scale"] else f"{dataset.name} x{scale}"
                    card.setdefault("metrics", {})[key] = {
                        "psnr_y": round(psnr, 2), "ssim_y": round(ssim, 4),
                        **({"perceptual_distance": round(perceptual[0], 3),
                            "sharpness_ratio": round(perceptual[1], 3)} if perceptual else {}),
                        "protocol": f"MATLAB bicubic LR, Y channel BT.601, shave {scale}",
                    }
                    card_path.write_text(json.dumps(card, indent=2) + "\n")
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
