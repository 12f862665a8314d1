"""Super-resolution of numpy images: interpolation baselines and learned models."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ._arrays import UnitScale, check_image, check_output_fits, plane_layout, run_to_end, to_planes
from .color import gray_to_luma, luma_to_gray, rgb_to_ycbcr, ycbcr_to_rgb
from .resize import INTERPOLATION_METHODS, imresize

AUTO_TILE = 512


def available_methods():
    """``{method: scales}``: interpolations (``None``: any scale ≥ 1), then learned models."""
    from .models import list_models

    methods = {name: None for name in INTERPOLATION_METHODS}
    for card in list_models().values():
        if card.scale > 1:  # scale-1 cards are denoisers
            methods[card.method] = sorted(set(methods.get(card.method, [])) | {card.scale})
    return methods


def upscaled_geometry(scale, translate, factor):
    """napari ``scale`` and ``translate`` of a layer upscaled ``factor`` times.

    The pixel size shrinks by ``factor`` and the origin shifts so that the new,
    smaller pixels tile the old ones exactly: each old pixel centre stays where it was.

    Examples
    --------
    >>> upscaled_geometry([1.0, 1.0], [0.0, 0.0], 4)
    (array([0.25, 0.25]), array([-0.375, -0.375]))
    """
    scale = np.asarray(scale, dtype=float)
    translate = np.asarray(translate, dtype=float)
    return scale / factor, translate + scale * (1 / factor - 1) / 2


def upscale(image, scale, method="bicubic", *, channel_axis=None, device=None, tile=None, clip=True):
    """Enlarge the two last spatial axes of an image.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``). Leading
        axes (time, depth, ...) are processed plane by plane.
    scale : int or float
        Zoom factor ≥ 1. Learned models take the integer scales they were trained
        for (see :func:`available_methods`); interpolations take any factor.
    method : str
        ``'nearest'``, ``'bilinear'``, ``'bicubic'`` (MATLAB-compatible),
        ``'lanczos'`` (Lanczos-3), or a learned model such as ``'espcn'``.
    channel_axis : int, optional
        Axis of colour channels. Three channels are treated as RGB (learned models
        enhance the luma and interpolate the chroma), a fourth as alpha; other
        counts are processed channel by channel.
    device : str, optional
        Torch device for learned models; by default CUDA, then MPS, then CPU.
    tile : int, optional
        Tile size in input pixels for learned models (bounded memory, no seams).
        By default images larger than 512 pixels a side are tiled.
    clip : bool
        Clip the result to the input's range of values, as scikit-image does.

    Returns
    -------
    ndarray
        Same dtype as ``image``, spatial axes ``ceil(n * scale)`` long.

    Examples
    --------
    >>> from skimage import data
    >>> big = upscale(data.camera()[:64, :64], 2, method="bicubic")
    >>> big.shape, big.dtype
    ((128, 128), dtype('uint8'))
    """
    steps = iter_upscale(image, scale, method, channel_axis=channel_axis, device=device,
                         tile=tile, clip=clip)
    return run_to_end(steps)


def iter_upscale(image, scale, method="bicubic", *, channel_axis=None, device=None, tile=None, clip=True):
    """Step-by-step form of :func:`upscale`: a generator that yields progress in (0, 1] and returns the result.

    The arguments are checked when this is called, before any work, so bad input
    fails here and not in a worker thread. Stopping the iteration between two
    yields (at most one tile of work) cancels the job and leaves nothing behind.
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "upscale")
    plane_fn = _plane_function(method, scale, device, tile)
    count, h, w, channels = plane_layout(image, channel_axis)
    out_hw = (math.ceil(h * scale), math.ceil(w * scale))
    check_output_fits((count,) + out_hw + (channels,), image.dtype)
    return _upscale_steps(image, channel_axis, plane_fn, out_hw, clip)


def _upscale_steps(image, channel_axis, plane_fn, out_hw, clip):
    planes, unstack = to_planes(image, channel_axis)
    values = UnitScale(image, clip)
    out = np.empty((len(planes),) + out_hw + planes.shape[3:], dtype=image.dtype)
    for i, plane in enumerate(planes):
        result = yield from _progress_span(plane_fn(values.to_unit(plane)), i / len(planes), 1 / len(planes))
        out[i] = values.restore(result)
    return unstack(out)


def _plane_function(method, scale, device, tile):
    if not isinstance(scale, Real) or not scale >= 1:
        raise ValueError(f"scale must be a number ≥ 1 (to shrink, use imresize), got {scale!r}")
    if method in INTERPOLATION_METHODS:
        def interpolate(unit):
            result = imresize(unit, scale, method=method, channel_axis=-1)
            yield 1.0
            return result

        return interpolate
    from .models import find_model

    if not float(scale).is_integer():
        raise ValueError(f"learned models need an integer scale, got {scale}")
    card = find_model(method, int(scale))
    return _learned_plane_function(card, device, AUTO_TILE if tile is None else tile)


def _learned_plane_function(card, device, tile):
    import torch

    from .device import select_device
    from .models import load_model
    from .tiling import iter_tiled_adaptive

    device = select_device(device)
    model = load_model(card, device)

    def enhance(array):
        """Model output for an ``(H, W, k)`` array, ``k`` = the model's channels."""
        x = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32))[None]
        with torch.inference_mode():
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            out = yield from iter_tiled_adaptive(model, x, card.scale, tile, model.halo)
        return out[0].float().cpu().numpy().transpose(1, 2, 0).astype(np.float64)

    def enhance_rgb(rgb):
        if card.input == "rgb":
            return (yield from enhance(rgb))
        # Luma models: enhance Y, interpolate the chroma.
        ycc = rgb_to_ycbcr(rgb)
        y = yield from enhance(ycc[..., :1])
        return ycbcr_to_rgb(np.dstack([y, imresize(ycc[..., 1:], card.scale, channel_axis=-1)]))

    def enhance_gray(gray):
        if card.input == "rgb":
            return (yield from enhance(np.dstack([gray] * 3))).mean(axis=-1)
        return luma_to_gray((yield from enhance(gray_to_luma(gray)[..., None]))[..., 0])

    # Luma SR models enhance Y and interpolate the chroma; a luma denoiser (scale 1)
    # would leave the chroma noisy, so it cleans every channel as a gray image.
    luma_denoiser = card.scale == 1 and card.input != "rgb"

    def process(unit):
        channels = unit.shape[-1]
        if channels in (3, 4) and not luma_denoiser:  # RGB, plus alpha interpolated
            rgb = yield from enhance_rgb(unit[..., :3])
            return np.dstack([rgb, imresize(unit[..., 3:], card.scale, channel_axis=-1)]) if channels == 4 else rgb
        planes = []
        for c in range(channels):
            planes.append((yield from _progress_span(enhance_gray(unit[..., c]), c / channels, 1 / channels)))
        return np.stack(planes, axis=-1)

    return process


def _progress_span(steps, start, span):
    """Re-yield the progress of ``steps`` mapped into ``[start, start + span]``."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration as done:
            return done.value
        yield start + span * fraction
