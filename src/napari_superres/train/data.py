"""Training images: finding and reading them, and the spaces models see them in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..io import read_image
from ..resize import imresize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def list_images(dirs):
    """The image files under the folders ``dirs`` (recursively), sorted folder by folder."""
    files = []
    for d in dirs:
        files += sorted(p for p in Path(d).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return files


def load_hr(path, jpeg_downscale=2, max_side=1600):
    """An HR training image as uint8 RGB; JPEGs are shrunk so their artefacts vanish."""
    image = read_image(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    if image.dtype != np.uint8:
        image = (image / np.iinfo(image.dtype).max * 255).round().astype(np.uint8)
    factor = jpeg_downscale if Path(path).suffix.lower() in {".jpg", ".jpeg"} else 1
    factor = max(factor, max(image.shape[:2]) / max_side)
    if factor > 1:
        image = imresize(image, 1 / factor, channel_axis=-1)
    return image


def central_crop(image, crop, multiple=1):
    """The centre of ``image``, at most ``crop`` a side, each side a multiple of ``multiple`` (validation crops)."""
    h, w = (min(n, crop) // multiple * multiple for n in image.shape[:2])
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top:top + h, left:left + w]


def luma(rgb):
    """Y of BT.601 YCbCr in [0, 1] for a float tensor (..., 3, H, W) in [0, 255]."""
    w = torch.tensor([65.481, 128.553, 24.966], dtype=rgb.dtype, device=rgb.device) / 255.0
    return (16.0 + torch.einsum("...chw,c->...hw", rgb, w)).unsqueeze(-3) / 255.0


def gray_levels(rgb):
    """Full-range gray (ITU-R BT.601 weights, as JPEG's Y) of ``(..., 3, H, W)`` in 0-255, rounded to uint8 levels."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=rgb.dtype, device=rgb.device)
    return torch.clamp(torch.floor(torch.einsum("...chw,c->...hw", rgb, w) + 0.5), 0, 255).unsqueeze(-3)


def model_space(rgb, channels):
    """What a model sees of an RGB batch in 0-255: its luma (1 channel) or the RGB itself, in [0, 1]."""
    return luma(rgb) if channels == 1 else rgb / 255


def cie_lab(rgb):
    """CIE Lab of RGB in [0, 1]."""
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(rgb, dtype=np.float64))
