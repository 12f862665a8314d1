"""Side-by-side crops: interpolation baselines against the shipped models.

    python docs/make_comparison.py docs/comparison_x4.png --scale 4

Uses scikit-image's astronaut and camera, which no shipped model was trained on.
Each panel is labelled with its PSNR (Y, shave = scale) on the whole image.
"""

import argparse

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

import napari_superres as sr

CROPS = {"astronaut": (slice(20, 220), slice(120, 320)), "camera": (slice(60, 260), slice(180, 380))}


def panels(name, scale, methods):
    hr = getattr(data, name)()
    axis = -1 if hr.ndim == 3 else None
    lr = sr.imresize(hr, 1 / scale, channel_axis=axis)
    rows, cols = CROPS[name]
    out = [("original", hr[rows, cols])]
    for method in methods:
        result = sr.upscale(lr, scale, method=method, channel_axis=axis)
        psnr = sr.sr_scores(hr, result, scale, channel_axis=axis)[0]
        out.append((f"{method} {psnr:.2f} dB", result[rows, cols]))
    return out


def draw(rows_of_panels, path, size=200, label_height=22):
    n_cols = max(len(r) for r in rows_of_panels)
    canvas = Image.new("RGB", (n_cols * size, len(rows_of_panels) * (size + label_height)), "white")
    pen = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows_of_panels):
        for j, (label, image) in enumerate(row):
            tile = Image.fromarray(np.ascontiguousarray(image)).convert("RGB").resize((size, size), Image.NEAREST)
            top = i * (size + label_height)
            canvas.paste(tile, (j * size, top + label_height))
            pen.text((j * size + 4, top + 4), label, fill="black")
    canvas.save(path, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    available = sr.available_methods()
    methods = ["nearest", "bicubic", "lanczos"] + [
        m for m, scales in available.items() if scales is not None and args.scale in scales
    ]
    draw([panels(name, args.scale, methods) for name in CROPS], args.out)


if __name__ == "__main__":
    main()
