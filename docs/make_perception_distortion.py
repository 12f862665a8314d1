"""The perception-distortion plane of the SR models: PSNR across, perceptual distance up.

    python docs/make_perception_distortion.py benchmarks/results/perception_distortion_x4.md \
        docs/perception_distortion.png

Reads the table of benchmarks/perception_distortion.py (one panel per dataset, one point per
method). Drawn with Pillow so that the docs need no plotting library.
"""

import sys
from pathlib import Path

from PIL import Image, ImageDraw

PANEL, MARGIN, FONT = 560, 80, 16


def read_table(path):
    """``{dataset: {method: (psnr, distance)}}`` from the Markdown table."""
    rows = [line.strip("|").split("|") for line in Path(path).read_text().splitlines()[2:] if line.strip()]
    table = {}
    for dataset, method, psnr, _ssim, distance, *_ in ([cell.strip() for cell in row] for row in rows):
        table.setdefault(dataset, {})[method] = (float(psnr), float(distance))
    return table


def panel(title, points):
    image = Image.new("RGB", (PANEL, PANEL), "white")
    pen = ImageDraw.Draw(image)
    psnrs, distances = zip(*points.values(), strict=True)
    x_low, x_high = min(psnrs) - 0.5, max(psnrs) + 0.5
    y_low, y_high = min(distances) - 0.03, max(distances) + 0.03

    def at(psnr, distance):
        inner = PANEL - 2 * MARGIN
        return (MARGIN + inner * (psnr - x_low) / (x_high - x_low),
                PANEL - MARGIN - inner * (distance - y_low) / (y_high - y_low))

    pen.rectangle([MARGIN, MARGIN, PANEL - MARGIN, PANEL - MARGIN], outline="black")
    for value in _ticks(x_low, x_high, 1.0):
        x, _ = at(value, y_low)
        pen.line([(x, PANEL - MARGIN), (x, PANEL - MARGIN + 5)], fill="black")
        pen.text((x - 10, PANEL - MARGIN + 8), f"{value:g}", fill="black", font_size=FONT - 2)
    for value in _ticks(y_low, y_high, 0.05):
        _, y = at(x_low, value)
        pen.line([(MARGIN - 5, y), (MARGIN, y)], fill="black")
        pen.text((MARGIN - 45, y - 8), f"{value:.2f}", fill="black", font_size=FONT - 2)
    placed = []  # label boxes drawn so far
    for method, (psnr, distance) in sorted(points.items(), key=lambda item: -item[1][1]):  # top down
        x, y = at(psnr, distance)
        colour = "gray" if method == "bicubic" else "navy"
        pen.ellipse([x - 5, y - 5, x + 5, y + 5], fill=colour)
        box = pen.textbbox((x + 8, y - 18), method, font_size=FONT, anchor="lt")
        shifted = False
        while any(_overlap(box, other) for other in placed):  # models a hair apart: stack their labels
            box, shifted = (box[0], box[1] + FONT + 2, box[2], box[3] + FONT + 2), True
        if shifted:
            pen.line([(x + 4, y + 4), (box[0], box[1] + FONT // 2)], fill=colour)
        pen.text(box[:2], method, fill=colour, font_size=FONT, anchor="lt")
        placed.append(box)
    pen.text((MARGIN, 20), title, fill="black", font_size=FONT + 4)
    pen.text((MARGIN, PANEL - 35), "PSNR on Y (dB), higher is closer", fill="black", font_size=FONT)
    pen.text((8, MARGIN - 30), "perceptual distance (SqueezeNet, LPIPS-style), lower is closer", fill="black",
             font_size=FONT)
    return image


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ticks(low, high, step):
    first = int(low / step + 1) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step) + 1)]


def main(table_path, out_path):
    table = read_table(table_path)
    scale = "x" + Path(table_path).stem.rsplit("_x", 1)[-1] if "_x" in Path(table_path).stem else ""
    panels = [panel(f"{dataset} {scale}".strip(), points) for dataset, points in table.items()]
    figure = Image.new("RGB", (PANEL * len(panels), PANEL), "white")
    for i, image in enumerate(panels):
        figure.paste(image, (PANEL * i, 0))
    figure.save(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:3])
