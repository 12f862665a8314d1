"""The variational SR model's draws: their PSNR, the PSNR of their mean, and their spread, beside the other models.

For each image of the dataset folders (``HR/`` and ``LR_bicubic/X{s}/``, as for
``sr_quality.py``), ``--samples`` outputs of the VAE are drawn (latent maps from the
N(0, I) prior, seeds 0, 1, ...: :func:`napari_superres.uncertainty.sample_upscale`)
and scored on Y (shave ``scale``); the table gives their mean PSNR / SSIM, the PSNR of
their pixel-wise mean, and the mean per-pixel standard deviation of their luma in
grey levels (0-255), beside the deterministic output (latent 0) and the other methods.
``--figure`` draws the LR's bicubic enlargement, the deterministic output, three draws
and the draws' per-pixel standard deviation on one crop.

    python benchmarks/vae_spread.py ../shared/data/dev/Set5 ../shared/data/dev/Set14 \
        --out benchmarks/results/vae_spread_x4.md --update-card \
        --figure docs/vae_sr_spread.png --figure-sample chelsea

The figure's image is a scikit-image sample (its LR made with our MATLAB-bicubic ``imresize``),
so that no dataset image goes into the repository; ``--figure-image`` takes a dataset's HR file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _report import emit_table
from PIL import Image, ImageDraw

from napari_superres import imresize, sr_scores, upscale
from napari_superres.color import rgb_to_ycbcr
from napari_superres.io import read_image
from napari_superres.models import find_model
from napari_superres.uncertainty import sample_upscale


def luma_255(image):
    """The BT.601 luma of an RGB (or the gray image itself) in 0-255 units, float64."""
    image = np.asarray(image)
    return rgb_to_ycbcr(image)[..., 0] * 255 if image.ndim == 3 else image.astype(np.float64)


def draws_of(lr, scale, method, samples):
    axis = -1 if lr.ndim == 3 else None
    return [sample_upscale(lr, scale, method=method, seed=seed, channel_axis=axis) for seed in range(samples)]


def score_draws(hr, lr, scale, method, samples):
    """``(mean PSNR, mean SSIM, PSNR of the mean, mean per-pixel std of Y)`` of ``samples`` draws."""
    axis = -1 if lr.ndim == 3 else None
    draws = draws_of(lr, scale, method, samples)
    psnr, ssim = np.mean([sr_scores(hr, d, scale, channel_axis=axis) for d in draws], axis=0)
    mean = np.clip(np.rint(np.mean(draws, axis=0)), 0, 255).astype(hr.dtype)
    spread = np.std([luma_255(d) for d in draws], axis=0)[scale:-scale, scale:-scale]
    return psnr, ssim, sr_scores(hr, mean, scale, channel_axis=axis)[0], float(spread.mean())


def dataset_rows(dataset, scale, methods, vae, samples):
    pairs = [(read_image(path), read_image(dataset / "LR_bicubic" / f"X{scale}" / path.name))
             for path in sorted((dataset / "HR").glob("*.png"))]
    rows = []
    for method in [*methods, vae]:
        scores = [sr_scores(hr, upscale(lr, scale, method=method, channel_axis=-1 if lr.ndim == 3 else None),
                            scale, channel_axis=-1 if lr.ndim == 3 else None) for hr, lr in pairs]
        psnr, ssim = np.mean(scores, axis=0)
        label = f"{method} (latent 0)" if method == vae else method
        rows.append(f"| {dataset.name} | {label} | {psnr:.2f} | {ssim:.4f} | — | — |")
    psnr, ssim, psnr_of_mean, spread = np.mean([score_draws(hr, lr, scale, vae, samples) for hr, lr in pairs], axis=0)
    rows.append(f"| {dataset.name} | {vae}: {samples} draws | {psnr:.2f} | {ssim:.4f} | {psnr_of_mean:.2f} | "
                f"{spread:.2f} |")
    summary = {"draws": samples, "mean_psnr_y": round(float(psnr), 2), "mean_ssim_y": round(float(ssim), 4),
               "psnr_y_of_their_mean": round(float(psnr_of_mean), 2), "mean_std_y_grey_levels": round(spread, 2),
               "protocol": f"latents from N(0, I), seeds 0-{samples - 1}; MATLAB bicubic LR, Y, shave {scale}"}
    return rows, summary


def figure_pair(scale, hr_path=None, sample=None):
    """``(hr, lr)``: a dataset's HR file and its LR file, or a scikit-image sample and its MATLAB-bicubic LR."""
    from skimage import data

    hr = read_image(hr_path) if hr_path is not None else getattr(data, sample)()
    hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
    if hr_path is not None:
        return hr, read_image(hr_path.parent.parent / "LR_bicubic" / f"X{scale}" / hr_path.name)
    return hr, imresize(hr, 1 / scale, channel_axis=-1 if hr.ndim == 3 else None)


def figure(path, hr, lr, scale, vae, samples, size=192):
    """Bicubic, latent 0, three draws and the draws' std on the most varied ``size`` crop of ``hr``."""
    axis = -1 if hr.ndim == 3 else None
    draws = draws_of(lr, scale, vae, samples)
    spread = np.std([luma_255(d) for d in draws], axis=0)
    top, left = _busiest(spread, size)
    crop = (slice(top, top + size), slice(left, left + size))
    bicubic = upscale(lr, scale, method="bicubic", channel_axis=axis)
    zero = upscale(lr, scale, method=vae, channel_axis=axis)

    def scored(label, image):
        return f"{label} {sr_scores(hr, image, scale, channel_axis=axis)[0]:.2f} dB", image[crop]

    high = max(float(np.percentile(spread, 99.5)), 1e-6)
    colours = heat(np.clip(spread[crop] / high, 0, 1))
    panels = [("original", hr[crop]), scored("bicubic", bicubic), scored("latent 0", zero),
              *(scored(f"draw {i}", draws[i]) for i in range(3)),
              (f"std of {samples} draws (0-{high:.0f})", colours)]
    canvas = Image.new("RGB", (len(panels) * size, size + 22), "white")
    pen = ImageDraw.Draw(canvas)
    for i, (label, image) in enumerate(panels):
        canvas.paste(Image.fromarray(np.ascontiguousarray(image)).convert("RGB"), (i * size, 22))
        pen.text((i * size + 4, 4), label, fill="black")
    canvas.save(path)
    print(f"wrote {path}")


def heat(values):
    """``values`` in [0, 1] as black-red-yellow-white uint8 RGB (brighter: more spread)."""
    anchors = np.linspace(0, 1, 4)
    ramp = np.array([[0, 0, 0], [190, 30, 0], [255, 200, 0], [255, 255, 255]], dtype=np.float64)
    return np.stack([np.interp(values, anchors, ramp[:, c]) for c in range(3)], axis=-1).astype(np.uint8)


def _busiest(spread, size):
    """The top-left corner of the ``size`` crop (on an 8-pixel grid) where the draws disagree most."""
    best, corner = -1.0, (0, 0)
    for top in range(0, spread.shape[0] - size + 1, 8):
        for left in range(0, spread.shape[1] - size + 1, 8):
            total = spread[top:top + size, left:left + size].sum()
            if total > best:
                best, corner = total, (top, left)
    return corner


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--vae", default="vae_sr", help="the variational model")
    parser.add_argument("--methods", nargs="*", default=["bicubic", "edsr", "autoencoder_sr"],
                        help="the deterministic methods beside it")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    parser.add_argument("--update-card", action="store_true", help="store the draws' figures in the VAE's card")
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--figure-image", type=Path, default=None, help="an HR image of one of the datasets")
    parser.add_argument("--figure-sample", default="chelsea", help="else a scikit-image sample (skimage.data name)")
    args = parser.parse_args()

    rows = ["| dataset | method | PSNR (Y) | SSIM (Y) | PSNR of the draws' mean | per-pixel std of Y (grey levels) |",
            "|---|---|---|---|---|---|"]
    summaries = {}
    for dataset in args.datasets:
        lines, summaries[dataset.name] = dataset_rows(dataset, args.scale, args.methods, args.vae, args.samples)
        rows += lines
        print("\n".join(lines), flush=True)
    emit_table(rows, args.out)
    if args.update_card:
        card_path = find_model(args.vae, args.scale).weights.with_suffix(".json")
        card = json.loads(card_path.read_text())
        card["sampling"] = summaries
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    if args.figure:
        hr, lr = figure_pair(args.scale, args.figure_image, args.figure_sample)
        figure(args.figure, hr, lr, args.scale, args.vae, args.samples)


if __name__ == "__main__":
    main()
