"""Degradations that turn HR training crops into LR inputs.

The default is the published protocol alone: MATLAB bicubic with its uint8
rounding. Blur, noise and JPEG, each drawn per crop from a range, train models
for real-world inputs (Real-ESRGAN-style, one order of degradations).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from .losses.pixel import gaussian_blur
from .models.common import resize_matrix_tensor


@dataclass
class Degradation:
    """Ranges ``(low, high)`` drawn uniformly per crop; ``(0, 0)`` or ``None`` turns a step off.

    ``blur_sigma`` is a Gaussian blur in HR pixels before shrinking, ``noise_sigma``
    Gaussian noise in grey levels (0-255) after it, ``jpeg_quality`` a JPEG round trip last.
    """

    blur_sigma: tuple = (0.0, 0.0)
    noise_sigma: tuple = (0.0, 0.0)
    jpeg_quality: tuple | None = None

    def __call__(self, hr, scale, rng):
        """LR batch (float, 0-255, uint8-rounded) of an HR batch ``(N, 3, H, W)`` in 0-255."""
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
            x = torch.stack([_jpeg(x[i], int(q)) for i, q in enumerate(qualities)])
        return x


def bicubic_shrink(hr, scale):
    """MATLAB ``imresize(hr, 1/scale)`` of a float batch in 0-255, rows first with uint8
    rounding in between, as MATLAB does (bit-exact with :func:`napari_superres.imresize`)."""
    h, w = hr.shape[-2:]
    rows = resize_matrix_tensor(h, h // scale, hr.device, hr.dtype)
    cols = resize_matrix_tensor(w, w // scale, hr.device, hr.dtype)
    return _round_to_levels(_round_to_levels(rows @ hr) @ cols.T)


def _round_to_levels(x):
    """Round halves up and clip to 0-255, as MATLAB's conversion to uint8."""
    return torch.clamp(torch.floor(x + 0.5), 0, 255)


def _jpeg(image, quality):
    from PIL import Image

    array = image.permute(1, 2, 0).numpy().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).float()
