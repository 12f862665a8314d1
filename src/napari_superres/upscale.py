"""Super-resolution of numpy images: interpolation baselines and learned models."""

from __future__ import annotations

import contextlib
import math
from numbers import Integral, Real

import numpy as np

from ._arrays import (
    UnitScale,
    check_blocks_fit,
    check_image,
    check_memory,
    check_value_range,
    plane_layout,
    run_to_end,
    scaled_side,
)
from ._deprecation import method_by_keyword
from .color import gray_to_luma, join_channels, luma_chroma_to_rgb, luma_to_gray, rgb_to_ycbcr
from .device import check_precision, check_threads, model_precision, torch_threads
from .heap import reused_heap
from .lazy import is_lazy, iter_blocks, iter_map_planes
from .resize import INTERPOLATION_METHODS, imresize, resize_axis

# Side of the blocks processed at a time, in input pixels: x4 of a 512² RGB block is a
# 200 MB float64 working copy, a few of them while the block is resized or converted.
AUTO_TILE = 512
INTERPOLATION_HALO = 3  # Lanczos-3 reaches 3 input pixels; bicubic 2
MIN_BLOCK = 16  # smallest tile: smaller ones are mostly halo, recomputed by their neighbours


def available_methods():
    """``{method: scales}``: interpolations (``None``: any scale ≥ 1), then learned models."""
    from .models import list_models

    methods = {name: None for name in INTERPOLATION_METHODS}
    for card in list_models().values():
        if card.task == "upscale":
            methods[card.method] = sorted(set(methods.get(card.method, [])) | {card.scale})
    return methods


def upscaled_geometry(scale, translate, factor):
    """The napari ``scale`` and ``translate`` of a layer upscaled ``factor`` times.

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


@method_by_keyword
def upscale_axes(image, factors, *, method="bicubic", channel_axis=None, clip=True, block=None):
    """Enlarge the spatial axes of an image each by its own factor, e.g. Z only for isotropic voxels.

    Parameters
    ----------
    image : ndarray
        Any number of spatial axes, plus an optional colour axis (``channel_axis``).
        A dask or zarr array is loaded into memory (the result is numpy).
    factors : sequence of float
        One zoom factor ≥ 1 per spatial axis (the axes of ``image`` without the
        channel axis), 1 for an axis left as it is.
    method : str
        An interpolation (``'nearest'``, ``'bilinear'``, ``'bicubic'``,
        ``'lanczos'``), applied separably along each enlarged axis. A learned
        model, which enlarges planes, takes two axes with the same integer factor
        (its planes are then those two axes).
    clip : bool
        Keep the result inside the input's range of values.
    block : int, optional
        Rows processed at a time by an interpolation, along an axis that the step
        leaves as it is (memory: one block's float64 working copy). By default as
        many as make about ``AXES_BLOCK_VALUES`` output values, a fraction of a
        second of work. A learned model goes tile by tile, as :func:`upscale` does.

    Returns
    -------
    ndarray
        Same dtype; each spatial axis ``ceil(n * factor)`` long.

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.zeros((5, 64, 64), np.uint16)  # Z steps 4x coarser than the pixels
    >>> upscale_axes(stack, (4, 1, 1)).shape
    (20, 64, 64)
    """
    return run_to_end(iter_upscale_axes(image, factors, method=method, channel_axis=channel_axis, clip=clip,
                                        block=block))


# Output values per block of upscale_axes: a float64 working copy of 16 MiB, some 0.1 s of work.
AXES_BLOCK_VALUES = 2**21


@method_by_keyword
def iter_upscale_axes(image, factors, *, method="bicubic", channel_axis=None, clip=True, block=None):
    """Step-by-step form of :func:`upscale_axes`: a generator that yields progress in (0, 1] and returns the result.

    The arguments are checked when this is called, before any work; a dask or zarr
    image is loaded in the iteration (the worker). Each step is one block, so that
    stopping the iteration cancels the job within a block.
    """
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "upscale")
    spatial = [a for a in range(image.ndim) if channel_axis is None or a != channel_axis % image.ndim]
    factors = _check_factors(factors, spatial, image.shape, channel_axis)
    if block is not None and (isinstance(block, bool) or not isinstance(block, Integral) or block < 1):
        raise ValueError(f"block must be a number of rows ≥ 1, got {block!r}")
    enlarged = [a for a, f in zip(spatial, factors, strict=True) if f != 1]
    out_shape = list(image.shape)
    for axis, factor in zip(spatial, factors, strict=True):
        out_shape[axis] = scaled_side(image.shape[axis], factor)
    if method not in INTERPOLATION_METHODS:
        return _iter_upscale_plane_axes(image, factors, spatial, enlarged, method, channel_axis, clip)
    passes = _axes_passes(image.shape, out_shape, enlarged)
    _check_axes_memory(image, out_shape, passes, block)
    resize = {a: (factors[spatial.index(a)], method) for a in enlarged}
    return _upscale_axes_steps(image, passes, resize, clip, block)


def _check_factors(factors, spatial, shape, channel_axis):
    """The factors as floats, or a ValueError unless there is one finite number ≥ 1 per spatial axis."""
    factors = list(factors)
    if len(factors) != len(spatial) or not all(
            isinstance(f, Real) and not isinstance(f, bool) and math.isfinite(f) and f >= 1 for f in factors):
        raise ValueError(f"give one factor ≥ 1 per spatial axis ({len(spatial)} for shape {shape}, "
                         f"channel_axis={channel_axis}), got {tuple(factors)}")
    return [float(f) for f in factors]


def _check_axes_memory(image, out_shape, passes, block):
    """Refuse upfront what cannot fit: the result, a lazy image loaded, the float64 between passes, a block's copies."""
    loaded = image.nbytes if is_lazy(image) else 0
    between = math.prod(passes[0][2]) * 8 if len(passes) > 1 else 0
    blocks = 4 * 8 * max(min(_slab_rows(shape, slab, block), shape[slab]) * math.prod(shape) // shape[slab]
                         for _, slab, shape in passes)
    check_memory(math.prod(out_shape) * image.dtype.itemsize + loaded + between + blocks,
                 f"the result {tuple(out_shape)} ({image.dtype})")


def _axes_passes(shape, out_shape, enlarged):
    """``[(axes to enlarge, slab axis, shape after the pass)]``: the image is cut in slabs along an axis a pass keeps.

    One pass when an axis is left as it is and slabs of it are small; else (e.g. Z, Y
    and X enlarged, or only colours kept) the first enlarged axis waits for a second pass.
    """
    kept = [a for a in range(len(shape)) if a not in enlarged]
    if kept:
        slab = max(kept, key=lambda a: shape[a])
        if len(enlarged) < 2 or math.prod(out_shape) // out_shape[slab] <= AXES_BLOCK_VALUES:
            return [(enlarged, slab, tuple(out_shape))]
    first, rest = enlarged[0], enlarged[1:]
    middle = tuple(out_shape[a] if a in rest else shape[a] for a in range(len(shape)))
    slab = max((a for a in range(len(shape)) if a != first), key=lambda a: out_shape[a])
    return [(rest, first, middle), ([first], slab, tuple(out_shape))]


def _upscale_axes_steps(image, passes, resize, clip, block):
    counts = [math.ceil(shape[slab] / _slab_rows(shape, slab, block)) for _, slab, shape in passes]
    total, done = sum(counts), 0
    if is_lazy(image):  # loaded here, in the worker, block by block
        import dask.array as da

        lazy = da.asarray(image)
        done = math.prod(lazy.numblocks)
        total += done
        image = yield from _scaled(iter_blocks(lazy), done / total)
    values = UnitScale(image, clip)  # refuses NaN of a lazy image, now loaded
    source = image
    for number, (axes, slab, shape) in enumerate(passes):
        last = number == len(passes) - 1
        out = np.empty(shape, image.dtype if last else np.float64)
        rows = _slab_rows(shape, slab, block)
        for start in range(0, shape[slab], rows):
            where = [slice(None)] * image.ndim
            where[slab] = slice(start, start + rows)
            piece = source[tuple(where)]
            unit = values.to_unit(piece) if number == 0 else piece
            for axis in axes:
                factor, method = resize[axis]
                unit = resize_axis(unit, axis, shape[axis], factor, method)
            out[tuple(where)] = values.restore(unit) if last else unit
            done += 1
            yield done / total
        source = out
    return source


def _scaled(steps, share):
    """``steps`` with its progress scaled to ``(0, share]``; returns its result."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration as finished:
            return finished.value
        yield fraction * share


def _slab_rows(shape, slab, block):
    """Rows of ``slab`` per block: ``block``, or as many as make about ``AXES_BLOCK_VALUES`` output values."""
    if block is not None:
        return block
    return max(1, AXES_BLOCK_VALUES // max(1, math.prod(shape) // shape[slab]))


def _iter_upscale_plane_axes(image, factors, spatial, enlarged, method, channel_axis, clip):
    """A learned model on the planes of the two enlarged axes (same integer factor), block by block."""
    pair = [factors[spatial.index(a)] for a in enlarged]
    if len(enlarged) != 2 or pair[0] != pair[1]:
        raise ValueError(f"{method} enlarges planes: give the same factor to exactly two axes, or use an "
                         f"interpolation ({', '.join(INTERPOLATION_METHODS)}) for {tuple(factors)}")
    if is_lazy(image):
        import dask.array as da

        image = da.asarray(image)
    colour = channel_axis is not None
    if colour:  # colours last: the spatial axes keep their order before it
        image = np.moveaxis(image, channel_axis, -1)
    enlarged = [spatial.index(a) for a in enlarged]
    last = (-3, -2) if colour else (-2, -1)
    steps = iter_upscale(np.moveaxis(image, enlarged, last), pair[0], method=method,
                         channel_axis=-1 if colour else None, clip=clip)
    return _axes_back(steps, last, enlarged, channel_axis)


def _axes_back(steps, last, enlarged, channel_axis):
    result = yield from steps
    if is_lazy(result):  # a lazy image's result, computed here block by block
        result = yield from iter_blocks(result)
    result = np.moveaxis(result, last, enlarged)
    return np.moveaxis(result, -1, channel_axis) if channel_axis is not None else result


@method_by_keyword
def upscale(image, scale, *, method="bicubic", channel_axis=None, device=None, tile=None, clip=True,
            value_range=None, precision="auto", threads=None):
    """Enlarge the two last spatial axes of an image.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``). Leading
        axes (time, depth, ...) are processed plane by plane.
    scale : int or float
        Zoom factor ≥ 1. Learned models take the integer scales they were trained
        for (see :func:`available_methods`); interpolations take any finite factor.
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
        Side, in input pixels, of the blocks processed one at a time (bounded
        memory, no seams: each block is cut with the context its pixels need).
        By default 512; at least 16, and at least a learned model's halo (the
        context its pixels need, e.g. 37 for EDSR).
    clip : bool
        Clip the result to the input's range of values, as scikit-image does.
    value_range : (float, float), optional
        The values a learned model should see as black and white. By default the
        dtype's range for uint8, [0, 1] for floats inside it, else the image's own
        minimum and maximum; give it for data whose extremes are not the signal's,
        such as noisy floats that stray outside ``(0, 255)``.
    precision : {'auto', 'fp32', 'bf16'}
        Arithmetic of a learned model: ``'auto'`` is bf16 (autocast) where the
        device computes it fast (CUDA, CPUs with AVX512-BF16 or AMX), fp32
        elsewhere. bf16 keeps the first and last layers in fp32 and changes
        uint8 results by at most one level.
    threads : int, optional
        CPU threads for a learned model (torch); by default all cores.

    Returns
    -------
    ndarray
        Same dtype as ``image``, spatial axes ``ceil(n * scale)`` long. For a
        dask or zarr ``image`` a dask array, computed block by block on demand.

    Warns
    -----
    ChannelAxisWarning
        For an image that looks like colour, ``(..., H, W, 3 or 4)``, without
        ``channel_axis``: its last axis is then enlarged as an image axis.

    Examples
    --------
    >>> from skimage import data
    >>> big = upscale(data.camera()[:64, :64], 2, method="bicubic")
    >>> big.shape, big.dtype
    ((128, 128), dtype('uint8'))
    """
    steps = iter_upscale(image, scale, method=method, channel_axis=channel_axis, device=device, tile=tile, clip=clip,
                         value_range=value_range, precision=precision, threads=threads)
    return run_to_end(steps)


@method_by_keyword
def iter_upscale(image, scale, *, method="bicubic", channel_axis=None, device=None, tile=None, clip=True,
                 value_range=None, precision="auto", threads=None, noise_level=None):
    """Step-by-step form of :func:`upscale`: a generator that yields progress in (0, 1] and returns the result.

    The arguments are checked when this is called, before any work, so bad input
    fails here and not in a worker thread. Stopping the iteration between two
    yields (at most one block of work) cancels the job and leaves nothing behind.
    A dask or zarr input returns its lazy result at once (see :mod:`napari_superres.lazy`).
    ``noise_level``: σ in the image's units, for the models that take a noise level map
    (:func:`~napari_superres.denoise` passes its ``sigma``); they get it in [0, 1] units.
    """
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "upscale")
    check_precision(precision)
    check_threads(threads)
    plane_fn, halo, block = _plane_function(method, scale, device, tile, precision, noise_level is not None)
    if value_range is not None:
        check_value_range(value_range)
    layout = plane_layout(image, channel_axis)
    out_sides = scaled_side(layout[1], scale), scaled_side(layout[2], scale)
    if not float(scale).is_integer():
        block = max(layout[1:3])  # one block a plane: output blocks must have whole-pixel sides
    check_blocks_fit(layout, out_sides, image.dtype, block=block, halo=halo, result=not is_lazy(image),
                     network_per_pixel=getattr(plane_fn, "network_bytes_per_pixel", 0))
    # Integers are interpolated as they are, as MATLAB's imresize does (the published tables' bicubic);
    # 64-bit ones go through the unit range, as float64 cannot hold their ends.
    native = method in INTERPOLATION_METHODS and np.issubdtype(image.dtype, np.integer) and image.dtype.itemsize <= 4
    return upscale_steps(image, plane_fn, clip, value_range, threads, noise_level, native, scale=scale, halo=halo,
                          channel_axis=channel_axis, block=block)


def upscale_steps(image, plane_fn, clip, value_range, threads, noise_level, native, **blocks):
    """The steps of :func:`iter_upscale` once its input is checked: ``plane_fn`` over the blocks of ``image``.

    Also how the other trained image-to-image models (JPEG, deblurring) are run.
    """
    values = UnitScale(image, clip, value_range)  # here, in the worker: on lazy data it is a pass over the data
    working = values.working_dtype
    sigma = () if noise_level is None else (values.to_unit_length(noise_level),)

    def process(plane):
        if native:
            return _clip_inplace(plane_fn(plane), values.bounds)
        with torch_threads(threads):
            return plane_fn(values.to_unit(plane, working), *sigma, values=values)

    return (yield from iter_map_planes(process, image, **blocks))


def _restored(unit, values):
    """``unit`` restored to the image's values by ``values`` (a UnitScale), or as it is where ``values`` is None."""
    return unit if values is None else values.restore(unit)


def _clip_inplace(result, bounds):
    """Integer ``result`` inside ``bounds`` (``None``: as it is)."""
    info = np.iinfo(result.dtype)
    if bounds is not None and (bounds[0] > info.min or bounds[1] < info.max):
        np.clip(result, *bounds, out=result)
    return result


def _plane_function(method, scale, device, tile, precision="auto", noise_level=False):
    """``(function of a unit plane, halo, block side)`` for a method.

    The function maps one block (a plane, or a part of one with its halo) in [0, 1]
    to its result, in [0, 1] or, given ``values=`` (the image's
    :class:`~napari_superres._arrays.UnitScale`), restored to the image's values and dtype;
    progress is counted in blocks, by :func:`~napari_superres.lazy.iter_blocks`.
    """
    if isinstance(scale, bool) or not isinstance(scale, Real) or not scale >= 1:
        raise ValueError(f"scale must be a number ≥ 1 (to shrink, use imresize), got {scale!r}")
    if not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number, got {scale!r}")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, Integral) or tile < MIN_BLOCK):
        raise ValueError(f"tile must be a whole number of pixels ≥ {MIN_BLOCK}, got {tile!r}")
    if method in INTERPOLATION_METHODS:
        def interpolate(unit, values=None):
            return _restored(imresize(unit, scale, method=method, channel_axis=-1), values)

        return interpolate, INTERPOLATION_HALO, tile or AUTO_TILE
    from .models import find_model

    if not float(scale).is_integer():
        raise ValueError(f"learned models need an integer scale, got {scale}")
    card = find_model(method, int(scale))
    if card.task not in ("upscale", "denoise"):
        core = {"jpeg": "remove_jpeg_artifacts"}.get(card.task, card.task)
        raise ValueError(f"{method} is a {card.task} model; use {core}()")
    return learned_plane_function(card, device, AUTO_TILE if tile is None else tile, precision, noise_level)


def learned_plane_function(card, device, block, precision="auto", noise_level=False):
    """``(process, halo, block)``: ``process(unit)``, or ``process(unit, sigma)`` with ``noise_level``.

    ``process(..., values=scale)`` restores its result with that
    :class:`~napari_superres._arrays.UnitScale` (see :func:`_plane_function`).

    A model that takes a noise level (FDnCNN, DRUNet) sees σ, in the [0, 1] units of
    ``unit``, as a constant last input channel; it runs only with ``noise_level``.
    """
    if card.contract.takes_noise_level != noise_level:
        raise ValueError(f"{card.method} takes a noise level: run it with denoise(image, method={card.method!r}, "
                         "sigma=...)" if noise_level is False else f"{card.method} takes no noise level")
    halo = card.halo  # from the card's contract: checked before torch and the weights are loaded
    if halo is None:
        raise ValueError(f"{card.method} is a {card.architecture}, which sees whole planes: it cannot {card.task}")
    if block < halo:  # blocks are cut with this much context from their neighbours
        raise ValueError(f"tile must be at least {card.method}'s halo of {halo} pixels (the context "
                         f"each block needs), got {block}")
    import torch

    from .models.activations import activation_bytes_per_pixel
    from .models.inference import load_on, on_grid, to_batch, to_image
    from .tiling import iter_tiled_adaptive

    model, device = load_on(card, device)
    forward = on_grid(model, card.size_multiple, card.scale)
    model_channels = (3 if card.input == "rgb" else 1) + noise_level

    def enhance(array, sigma=None):
        """Model output for an ``(H, W, k)`` array, ``k`` = the model's channels, then the noise level map."""
        if sigma is not None:
            array = np.dstack([array, np.full(array.shape[:2], sigma, array.dtype)])
        heap = reused_heap() if device.type == "cpu" else contextlib.nullcontext()
        with torch.inference_mode(), model_precision(model, precision, device), heap:
            x = to_batch(array, device, channels_last=True)
            # A block comes with its halo: one tile, unless it runs out of memory.
            out = run_to_end(iter_tiled_adaptive(forward, x, card.scale, block + 2 * halo, halo))
        return to_image(out, array.dtype)

    def enhance_rgb(rgb, sigma, values=None):
        if card.input == "rgb":
            return _restored(enhance(rgb, sigma), values)
        # Luma and gray models: enhance Y, interpolate the chroma.
        ycc = rgb_to_ycbcr(rgb)
        y = enhance(ycc[..., :1], sigma) if card.input == "y" else gray_to_luma(
            enhance_gray(luma_to_gray(ycc[..., 0]), sigma))[..., None]
        return luma_chroma_to_rgb(y, imresize(ycc[..., 1:], card.scale, channel_axis=-1), values)

    def enhance_gray(gray, sigma):
        if card.input == "rgb":
            return enhance(np.dstack([gray] * 3), sigma).mean(axis=-1)
        if card.input == "gray":  # full-range gray models (published gray denoisers)
            return enhance(gray[..., None], sigma)[..., 0]
        return luma_to_gray(enhance(gray_to_luma(gray)[..., None], sigma)[..., 0])

    # Luma SR models enhance Y and interpolate the chroma; a luma denoiser (scale 1)
    # would leave the chroma noisy, so it cleans every channel as a gray image.
    luma_denoiser = card.scale == 1 and card.input != "rgb"

    def process(unit, sigma=None, values=None):
        channels = unit.shape[-1]
        if channels == 3 and not luma_denoiser:
            return enhance_rgb(unit, sigma, values)
        if channels == 4 and not luma_denoiser:  # RGB, plus alpha interpolated
            rgb = enhance_rgb(unit[..., :3], sigma)
            return _restored(join_channels(rgb, imresize(unit[..., 3:], card.scale, channel_axis=-1)), values)
        return _restored(np.stack([enhance_gray(unit[..., c], sigma) for c in range(channels)], axis=-1), values)

    process.network_bytes_per_pixel = activation_bytes_per_pixel(model, model_channels, card.size_multiple, device)
    return process, halo, block
