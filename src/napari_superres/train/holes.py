"""Hole masks by family (True: missing): what the inpainting network trains on and the benchmark scores.

``method="auto"`` gives the network only large holes (:data:`~napari_superres.inpaint.LARGE_HOLE_DEPTH`
pixels deep or more): brush strokes, boxes, blobs. :func:`large_hole_mask` draws the training masks from
these families, with random counts and sizes; ``benchmarks/inpaint.py`` draws its families from the same
functions at fixed counts.
"""

from __future__ import annotations

import numpy as np

from .degrade import free_form_mask

# Training: the share of masks of each family, and the sizes drawn, as fractions of the crop's side
# (128-pixel crops: strokes 4-28 wide and 8-64 long per segment, boxes 12-64 a side, blobs 8-32 in radius).
LARGE_HOLE_FAMILIES = {"brush strokes": 0.3, "boxes": 0.25, "blobs": 0.25, "free-form": 0.2}
TRAINING_SIZES = {
    "brush strokes": {"count": (1, 9), "width": (4, 29), "length": (0.06, 0.5)},
    "boxes": {"count": (1, 5), "side": (0.1, 0.5)},
    "blobs": {"count": (1, 4), "radius": (0.06, 0.25)},
}
MAX_COVERAGE = 0.6  # a training mask leaves at least this share of the crop known


def describe_training_masks():
    """The training masks in words, for the model card."""
    strokes, box, blob = (TRAINING_SIZES[f] for f in ("brush strokes", "boxes", "blobs"))
    shares = ", ".join(f"{name} {share:.0%}" for name, share in LARGE_HOLE_FAMILIES.items())
    return (f"{shares}: brush strokes {_span(strokes['count'])} polylines {_span(strokes['width'])} px wide, "
            f"segments {_span(strokes['length'], '%')} of the side; boxes {_span(box['count'])}, sides "
            f"{_span(box['side'], '%')}; blobs {_span(blob['count'])}, radius {_span(blob['radius'], '%')} "
            "(wobbling ±30 %); free-form: strokes and boxes over 10-50 % of the pixels")


def _span(bounds, unit=""):
    """``(low, high)`` as text: percentages, or integers with ``high`` excluded (as ``rng.integers``)."""
    if unit == "%":
        return f"{bounds[0]:.0%}-{bounds[1]:.0%}"
    return f"{bounds[0]}-{bounds[1] - 1}"


def brush_strokes(shape, rng, count=10, width=(4, 25), length=(0.05, 0.25)):
    """Polylines of 2-4 segments, each ``length`` (fractions of the longer side) long, ``width`` pixels wide."""
    from PIL import Image, ImageDraw

    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    pen = ImageDraw.Draw(canvas)
    for _ in range(count):
        points = [rng.uniform(0, 1, 2) * (w, h)]
        for _ in range(int(rng.integers(2, 5))):
            angle, stretch = rng.uniform(0, 2 * np.pi), rng.uniform(*length) * max(h, w)
            points.append(points[-1] + stretch * np.array([np.cos(angle), np.sin(angle)]))
        pen.line([tuple(p) for p in points], fill=255, width=int(rng.integers(*width)), joint="curve")
    return np.asarray(canvas) > 0


def boxes(shape, rng, count=4, side=(1 / 12, 1 / 5)):
    """``count`` axis-aligned rectangles, each side a fraction ``side`` of the image's."""
    h, w = shape
    mask = np.zeros(shape, bool)
    for _ in range(count):
        # 1e-9: the default (1/12, 1/5) gives h // 12 to h // 5 exactly
        bh, bw = (int(rng.integers(*(int(n * f + 1e-9) for f in side))) for n in (h, w))
        y, x = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
        mask[y:y + bh, x:x + bw] = True
    return mask


def blobs(shape, rng, count=4, radius=(0.05, 0.15)):
    """Irregular round holes (stains, flaked paint): a radius (fraction of the shorter side) wobbling by up to ±30 %."""
    h, w = shape
    rows, cols = np.mgrid[:h, :w].astype(np.float64)
    mask = np.zeros(shape, bool)
    for _ in range(count):
        cy, cx, mean = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(*radius) * min(h, w)
        angle = np.arctan2(rows - cy, cols - cx)
        wobble = sum(rng.uniform(0, 0.1) * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
        mask |= np.hypot(rows - cy, cols - cx) <= mean * (1 + wobble)
    return mask


def family_mask(family, shape, rng):
    """One training mask of ``family`` (a key of :data:`LARGE_HOLE_FAMILIES`), counts and sizes drawn at random."""
    if family == "free-form":
        return free_form_mask(shape, rng)
    sizes = dict(TRAINING_SIZES[family])
    count = int(rng.integers(*sizes.pop("count")))
    draw = {"brush strokes": brush_strokes, "boxes": boxes, "blobs": blobs}[family]
    return draw(shape, rng, count, **sizes)


def large_hole_mask(shape, rng, families=None):
    """``(family, mask)``: a mask ``method="auto"`` sends to the network, of a family drawn by its share.

    Drawn again until a hole is :data:`~napari_superres.inpaint.LARGE_HOLE_DEPTH` pixels deep or
    more (thin strokes alone go to biharmonic) and at most :data:`MAX_COVERAGE` of the crop is missing.
    """
    from scipy import ndimage

    from ..inpaint import LARGE_HOLE_DEPTH

    families = families or LARGE_HOLE_FAMILIES
    names, shares = list(families), np.array(list(families.values()), dtype=float)
    while True:
        family = names[int(rng.choice(len(names), p=shares / shares.sum()))]
        mask = family_mask(family, shape, rng)
        if mask.mean() <= MAX_COVERAGE and ndimage.distance_transform_edt(mask).max() >= LARGE_HOLE_DEPTH:
            return family, mask
