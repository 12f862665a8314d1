"""Degradations that turn clean training crops into model inputs.

For super-resolution, the default is the published protocol alone: MATLAB
bicubic with its uint8 rounding. Blur, noise and JPEG, each drawn per crop from a
range, train models for real-world inputs (Real-ESRGAN-style, one order of
degradations). At scale 1, the same ranges make the inputs of the JPEG artefact
remover and the blind deblurrer (:meth:`Degradation.restoration_input`). For
inpainting, free-form holes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from ..dip import blur_operator
from ..losses.pixel import gaussian_blur
from ..models.common import resize_matrix_tensor


@dataclass
class Degradation:
    """Ranges ``(low, high)`` drawn uniformly per crop; ``(0, 0)`` or ``None`` turns a step off.

    ``blur_sigma`` is a Gaussian blur in HR pixels before shrinking, ``noise_sigma``
    Gaussian noise in grey levels (0-255) after it, ``jpeg_quality`` a JPEG round trip last.
    ``motion_length`` (pixels, at a uniform random angle; scale 1 only) trains deblurrers:
    with ``blur_sigma`` too, half the crops get a Gaussian and half a motion blur.
    """

    blur_sigma: tuple = (0.0, 0.0)
    noise_sigma: tuple = (0.0, 0.0)
    jpeg_quality: tuple | None = None
    motion_length: tuple = (0.0, 0.0)

    @property
    def blurs(self):
        """Whether a blur (Gaussian or motion) is drawn for each crop."""
        return self.blur_sigma[1] > 0 or self.motion_length[1] > 0

    def __call__(self, hr, scale, rng):
        """LR batch (float, 0-255, uint8-rounded) of an HR batch ``(N, 3, H, W)`` in 0-255."""
        if self.motion_length[1] > 0:
            raise ValueError("motion blur trains blind deblurrers (scale 1), not upscalers")
        x = hr
        if self.blur_sigma[1] > 0:
            sigmas = rng.uniform(*self.blur_sigma, size=len(x))
            x = torch.cat([gaussian_blur(x[i : i + 1], s) if s > 0.1 else x[i : i + 1]
                           for i, s in enumerate(sigmas)])
        x = bicubic_shrink(x, scale)
        if self.noise_sigma[1] > 0:
            sigmas = torch.from_numpy(rng.uniform(*self.noise_sigma, size=(len(x), 1, 1, 1))).float()
            noise = torch.from_numpy(rng.standard_normal(x.shape)).float()
            x = _round_to_levels(x + sigmas * noise)
        if self.jpeg_quality:
            qualities = rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1, size=len(x))
            x = torch.stack([jpeg_round_trip(x[i], int(q)) for i, q in enumerate(qualities)])
        return x

    def restoration_input(self, clean, rng):
        """A scale-1 model's input from ``clean`` ``(N, C, H, W)`` in 0-255 (uint8 levels).

        Each crop is blurred by its own random kernel (:func:`random_blur_kernel`, mirrored
        borders as :func:`napari_superres.blur.blur`), given Gaussian noise, rounded to
        uint8 levels, then JPEG-compressed at a random quality, as far as the ranges say.
        """
        x = clean
        if self.blurs:
            x = torch.cat([blur_operator(random_blur_kernel(rng, self.blur_sigma, self.motion_length), "cpu")(
                x[i:i + 1]) for i in range(len(x))])
        if self.noise_sigma[1] > 0:
            sigmas = torch.from_numpy(rng.uniform(*self.noise_sigma, size=(len(x), 1, 1, 1))).float()
            x = x + sigmas * torch.from_numpy(rng.standard_normal(x.shape)).float()
        x = _round_to_levels(x)
        if self.jpeg_quality:
            qualities = rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1, size=len(x))
            x = torch.stack([jpeg_round_trip(x[i], int(q)) for i, q in enumerate(qualities)])
        return x


def random_blur_kernel(rng, sigma_range, length_range):
    """A normalised blur kernel: a Gaussian of σ in ``sigma_range`` or a straight motion of length in ``length_range``.

    Either kind is drawn with probability 1/2 when both ranges are open (upper end > 0);
    a motion's angle is uniform in [0°, 180°).
    """
    from ..blur import gaussian_kernel, motion_kernel

    gaussian = sigma_range[1] > 0 and (length_range[1] <= 0 or rng.random() < 0.5)
    if gaussian:
        return gaussian_kernel(max(rng.uniform(*sigma_range), 0.1))
    return motion_kernel(max(rng.uniform(*length_range), 1.0), rng.uniform(0, 180))


def bicubic_shrink(hr, scale):
    """MATLAB ``imresize(hr, 1/scale)`` of a float batch in 0-255.

    Rows first with uint8 rounding in between, as MATLAB does (bit-exact with
    :func:`napari_superres.imresize`).
    """
    h, w = hr.shape[-2:]
    rows = resize_matrix_tensor(h, h // scale, hr.device, hr.dtype)
    cols = resize_matrix_tensor(w, w // scale, hr.device, hr.dtype)
    return _round_to_levels(_round_to_levels(rows @ hr) @ cols.T)


def _round_to_levels(x):
    """Round halves up and clip to 0-255, as MATLAB's conversion to uint8."""
    return torch.clamp(torch.floor(x + 0.5), 0, 255)


def jpeg_round_trip(image, quality):
    """``(C, H, W)`` uint8 levels (float, 0-255) compressed and decoded by Pillow at ``quality``, in memory.

    One channel is a gray JPEG, three a colour one (Pillow's default 4:2:0 chroma subsampling).
    """
    from PIL import Image

    array = image.permute(1, 2, 0).numpy().astype(np.uint8)
    mode = "L" if array.shape[-1] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(array[..., 0] if mode == "L" else array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert(mode)).reshape(array.shape)
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).float()


def free_form_mask(shape, rng, coverage=(0.1, 0.5)):
    """A random free-form hole mask (True: missing): brush strokes and boxes, as users scribble or sensors fail.

    Strokes are random walks of a round brush 4-24 pixels wide (after Yu et al.
    2019); boxes cover a tenth to a third of a side. Drawn until the hole covers a
    share of the image drawn from ``coverage``.
    """
    h, w = shape
    rows, cols = np.mgrid[:h, :w].astype(np.float64)
    mask = np.zeros(shape, bool)
    target = rng.uniform(*coverage)
    while mask.mean() < target:
        if rng.random() < 0.2:
            bh, bw = (int(rng.integers(n // 10, n // 3 + 1)) for n in shape)
            y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
            mask[y:y + bh, x:x + bw] = True
            continue
        y, x, radius = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 12)
        for _ in range(int(rng.integers(3, 10))):
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(5, max(h, w) / 3)
            y2, x2 = np.clip(y + length * np.sin(angle), 0, h - 1), np.clip(x + length * np.cos(angle), 0, w - 1)
            mask |= _distance_to_segment(rows, cols, (y, x), (y2, x2)) <= radius
            y, x = y2, x2
    return mask


def _distance_to_segment(rows, cols, start, end):
    """Distance of every pixel to the segment from ``start`` to ``end`` (row, col)."""
    dy, dx = end[0] - start[0], end[1] - start[1]
    along = ((rows - start[0]) * dy + (cols - start[1]) * dx) / max(dy * dy + dx * dx, 1e-12)
    along = np.clip(along, 0, 1)
    return np.hypot(rows - start[0] - along * dy, cols - start[1] - along * dx)
