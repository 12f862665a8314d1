"""Running a loaded model on numpy images: the device, the dtype and the layout that every task shares.

The task cores (:mod:`~napari_superres.upscale` and the denoisers it serves,
:mod:`~napari_superres.colorize`, :mod:`~napari_superres.inpaint`) load a card's
model with :func:`load_on` and cross between numpy ``(H, W, C)`` float64 images
and ``(1, C, H, W)`` float32 tensors with :func:`to_batch` and :func:`to_image`,
and call it through :func:`on_grid`, which gives it the input sides its contract
asks for (a multiple of the contract's ``size_multiple``). Architectures never pad
inside ``forward``: training feeds them crops already on the grid.
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


def to_image(batch, dtype=np.float64):
    """The first image of an ``(N, C, H, W)`` tensor as an ``(H, W, C)`` array of ``dtype``."""
    return batch[0].float().cpu().numpy().transpose(1, 2, 0).astype(dtype)


def on_grid(model, multiple, scale=1):
    """A forward function: ``model`` on inputs of any size, padded to sides that are multiples of ``multiple``.

    H and W of ``(N, C, H, W)`` or ``(N, C, D, H, W)`` are extended by repeating
    their last row and column (the extension is cropped off the output, ``scale``
    times as large), so every output pixel depends on the image only, never on zeros.
    """
    if multiple == 1:
        return model
    from torch.nn import functional as F

    def forward(x):
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % multiple, -w % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h) + (0, 0) * (x.ndim - 4), mode="replicate")
        return model(x)[..., : h * scale, : w * scale]

    return forward
