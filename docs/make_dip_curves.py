"""Chart of a DIP run: PSNR against the ground truth and the moving variance, with the stopping point.

    python docs/make_dip_curves.py benchmarks/results/dip_curves.json docs/dip_early_stopping.png

Reads the ``--curves`` JSON of benchmarks/dip.py (one chart per run, stacked).
Drawn with Pillow so that the docs need no plotting library.
"""

import json
import math
import sys

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 900, 320, 60


def chart(run):
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    curve = run["curve"]
    last = curve[-1][0]
    psnrs = [p for _, p, _ in curve]
    low, high = min(psnrs[len(psnrs) // 10:]) - 1, max(psnrs) + 0.5
    variances = [(i, math.log10(v)) for i, _, v in curve if v]
    v_low, v_high = min(v for _, v in variances), max(v for _, v in variances)

    def x(iteration):
        return MARGIN + (WIDTH - 2 * MARGIN) * iteration / last

    def y(value, lo, hi):
        value = min(max(value, lo), hi)
        return HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (value - lo) / (hi - lo)

    draw.rectangle([MARGIN, MARGIN, WIDTH - MARGIN, HEIGHT - MARGIN], outline="black")
    draw.line([(x(i), y(p, low, high)) for i, p, _ in curve], fill="navy", width=2)
    draw.line([(x(i), y(v, v_low, v_high)) for i, v in variances], fill="darkorange", width=2)
    marks = [("best", run["best_iteration"], "green"), ("kept", run["chosen_iteration"], "red")]
    if run["stop_iteration"]:
        marks.append(("stopped", run["stop_iteration"], "gray"))
    for k, (label, iteration, colour) in enumerate(marks):
        draw.line([(x(iteration), MARGIN), (x(iteration), HEIGHT - MARGIN)], fill=colour, width=1)
        draw.text((x(iteration) + 3, MARGIN + 4 + 12 * k), f"{label} @ {iteration}", fill=colour)
    draw.text((MARGIN, 8), f"{run['case']}, DIP {run['network']}: PSNR (blue, {low:.0f}-{high:.0f} dB) and "
              f"moving variance of the outputs (orange, log scale). Kept {run['stopped_psnr']:.2f} dB, "
              f"best on the path "
              f"{run['best_psnr']:.2f} dB.", fill="black")
    for value in range(int(low) + 1, int(high) + 1):
        draw.text((8, y(value, low, high) - 6), f"{value} dB", fill="navy")
    draw.text((WIDTH / 2 - 30, HEIGHT - MARGIN + 10), f"iteration (0-{last})", fill="black")
    return image


def main(curves_path, out_path):
    charts = [chart(run) for run in json.loads(open(curves_path).read())]
    sheet = Image.new("RGB", (WIDTH, HEIGHT * len(charts)), "white")
    for k, image in enumerate(charts):
        sheet.paste(image, (0, HEIGHT * k))
    sheet.save(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:3])
