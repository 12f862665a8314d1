"""Running a loaded model on numpy images: the device, the dtype and the layout that every task shares.

The task cores (:mod:`~napari_superres.upscale` and the denoisers it serves,
:mod:`~napari_superres.colorize`, :mod:`~napari_superres.inpaint`) load a card's
model with :func:`load_on` and cross between numpy ``(H, W, C)`` float64 images
and ``(1, C, H, W)`` float32 tensors with :func:`to_batch` and :func:`to_image`.
"""

import numpy as np


def load_on(card, device):
    """``(model, device)``: the shared model of ``card`` on the torch device that ``device`` selects.

    ``device`` is what :func:`napari_superres.select_device` takes (None: the best available).
    """
    from ..device import select_device
    from .registry import load_model

    device = select_device(device)
    return load_model(card, device), device


def to_batch(array, device, channels_last=False):
    """An ``(H, W)`` or ``(H, W, C)`` array as a ``(1, C, H, W)`` float32 tensor on ``device``.

    ``channels_last``: in NHWC memory, which the loaded models use (faster convolutions on CPU).
    """
    import torch

    array = array[..., None] if array.ndim == 2 else array
    batch = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))[None].to(device)
    return batch.contiguous(memory_format=torch.channels_last) if channels_last else batch


def to_image(batch):
    """The first image of an ``(N, C, H, W)`` tensor as an ``(H, W, C)`` float64 array."""
    return batch[0].float().cpu().numpy().transpose(1, 2, 0).astype(np.float64)
