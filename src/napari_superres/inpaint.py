"""Inpainting: fill the missing pixels of an image, keep every other pixel exactly as it was.

The missing pixels come from a mask (True where missing, as in
``skimage.restoration.inpaint_biharmonic``) or from the image itself: NaN, or a
value that marks them (a sensor's dead-pixel code, 0 in a stitched mosaic).
"""

from __future__ import annotations

import math

import numpy as np

from ._arrays import (
    UnitScale,
    check_finite,
    check_image,
    check_memory,
    keep_known,
    plane_layout,
    plane_masks,
    run_to_end,
    spatial_shape,
    to_planes,
)
from ._deprecation import method_by_keyword

METHODS = ("biharmonic", "dip")  # and the trained inpainting networks: available_inpainters()
# Peak memory, measured on 512² to 2048² planes: the filled copy, the planes and the result (three
# copies of the image), the masks (2 bytes a pixel), and for one plane: biharmonic's float64 copies
# (about 5 a channel) and its sparse solve (4-5 KiB a missing pixel), or a trained network's
# activations (about 64 bytes a pixel per feature of its card: 1050 at 16) and its input copies.
IMAGE_COPIES = 3
MASK_BYTES_PER_PIXEL = 2
BIHARMONIC_COPIES = 5
BIHARMONIC_BYTES_PER_MISSING = 6144
NETWORK_BYTES_PER_FEATURE = 64
NETWORK_INPUT_BYTES_PER_PIXEL = 100


def available_inpainters():
    """Method names: biharmonic, DIP, and the trained networks found in the weights (cards of task 'inpaint')."""
    from .models import list_models

    return METHODS + tuple(sorted({c.method for c in list_models().values() if c.task == "inpaint"}))


def missing_mask(image, value=np.nan, *, channel_axis=None):
    """True where a pixel is missing: NaN (or equal to ``value``) in any of its channels.

    Examples
    --------
    >>> import numpy as np
    >>> missing_mask(np.array([[1.0, np.nan], [0.0, 2.0]])).tolist()
    [[False, True], [False, False]]
    >>> int(missing_mask(np.array([[1, 0], [0, 2]]), value=0).sum())
    2
    """
    image = np.asarray(image)
    if _is_nan(value):
        missing = np.isnan(image) if np.issubdtype(image.dtype, np.floating) else np.zeros(image.shape, bool)
    else:
        missing = image == value
    return missing.any(axis=channel_axis) if channel_axis is not None else missing


@method_by_keyword
def inpaint(image, mask=None, *, method="biharmonic", channel_axis=None, missing_value=np.nan, **options):
    """Fill missing pixels; the others are returned exactly as they were.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``); leading
        axes are inpainted plane by plane. dtype and range are kept.
    mask : ndarray of bool, optional
        True (non-zero) where pixels are missing; shape ``(H, W)`` (every plane) or
        the image's shape without the channel axis. By default the pixels equal
        to ``missing_value`` (NaN) in any channel.
    method : str
        Biharmonic interpolation ('biharmonic', scikit-image; fast, smooth), Deep
        Image Prior ('dip', :func:`~napari_superres.dip.iter_fit_dip`; slow,
        restores texture), or a trained inpainting network from the weights
        folder (:func:`available_inpainters`, e.g. a gated-convolution U-Net).
    channel_axis : int, optional
        Axis of colour channels.
    missing_value : float
        What marks a missing pixel in the image when no mask is given; any NaN
        (``np.nan``, ``np.float32("nan")``) means NaN pixels.
    **options
        Settings of 'dip' (iterations, network, device, seed, preview_every...);
        ``device`` for a trained network.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``, with no missing pixel left.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> image = data.camera()[:64, :64].astype(float)
    >>> image[20:30, 20:30] = np.nan
    >>> filled = inpaint(image)
    >>> bool(np.isfinite(filled).all())
    True
    """
    return run_to_end(iter_inpaint(image, mask, method=method, channel_axis=channel_axis, missing_value=missing_value,
                                   **options))


@method_by_keyword
def iter_inpaint(image, mask=None, *, method="biharmonic", channel_axis=None, missing_value=np.nan, **options):
    """Step-by-step form of :func:`inpaint`: a generator yielding progress, returning the result.

    'biharmonic' yields the fraction of planes done; 'dip' yields a
    :class:`~napari_superres._fitting.FitStep` per iteration, with previews.
    The arguments are checked when this is called, before any work.
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "inpaint", finite=False)  # NaN may mark the missing pixels
    _check_memory(image, channel_axis, method)  # before the models are listed: that loads torch
    if method not in METHODS and method not in available_inpainters():
        raise ValueError(f"unknown inpainting method {method!r}; choose one of {', '.join(available_inpainters())}")
    card = None
    if method not in METHODS:
        from .models import find_model

        card = find_model(method, 1)
        _check_memory(image, channel_axis, method, card)
    if mask is None:
        mask = missing_mask(image, missing_value, channel_axis=channel_axis)
        if not mask.any():
            marker = "NaN" if _is_nan(missing_value) else f"equal to {missing_value!r}"
            raise ValueError(f"nothing to inpaint: no mask was given and no pixel is {marker}; "
                             "give a mask (True where missing) or the value that marks missing pixels")
    count = plane_layout(image, channel_axis)[0]
    masks = plane_masks(mask, image, channel_axis, count)
    if method == "biharmonic":
        _check_memory(image, channel_axis, method, card, missing=max(np.count_nonzero(m) for m in masks))
    filled = _fill(image, masks, channel_axis)
    check_finite(filled)  # NaN or infinity among the known pixels
    if method == "dip":
        from .dip import iter_fit_dip

        return iter_fit_dip(filled, "inpaint", mask=np.stack(masks).reshape(spatial_shape(image, channel_axis)),
                            channel_axis=channel_axis, **options)
    if method != "biharmonic":
        unknown = set(options) - {"device"}
        if unknown:
            raise TypeError(f"{method} takes only device, not {sorted(unknown)}")
        return _network_steps(filled, masks, channel_axis, card, options.get("device"))
    if options:
        raise TypeError(f"biharmonic takes no options {sorted(options)}; only dip does")
    return _biharmonic_steps(filled, masks, channel_axis)


def _check_memory(image, channel_axis, method, card=None, missing=0):
    """Refuse upfront, before a pass over the data or a model, what cannot fit (see IMAGE_COPIES).

    Called as soon as each part of the peak is known: a network's ``card`` (its activations), and
    ``missing``, the most missing pixels of a plane (biharmonic's solve grows with it).
    """
    _, h, w, channels = plane_layout(image, channel_axis)
    pixels = math.prod(spatial_shape(image, channel_axis))
    total = IMAGE_COPIES * image.nbytes + MASK_BYTES_PER_PIXEL * pixels
    if method == "biharmonic":
        total += BIHARMONIC_COPIES * 8 * h * w * channels + BIHARMONIC_BYTES_PER_MISSING * missing
    elif card is not None:  # DIP checks its own fit
        features = card.config.get("features", 32)  # 32: the gated U-Net's default
        total += (NETWORK_BYTES_PER_FEATURE * features + NETWORK_INPUT_BYTES_PER_PIXEL) * h * w
    check_memory(total, f"{method} inpainting of {image.shape} ({image.dtype})")


def _biharmonic_steps(image, masks, channel_axis):
    from skimage.restoration import inpaint_biharmonic

    planes, unstack = to_planes(image, channel_axis)
    values = UnitScale(image)
    out = planes.copy()
    for i, plane in enumerate(planes):
        if masks[i].any():
            result = inpaint_biharmonic(values.to_unit(plane), masks[i], channel_axis=-1)
            out[i] = keep_known(values.restore(result), plane, masks[i])
        yield (i + 1) / len(planes)
    return unstack(out)


def _network_steps(image, masks, channel_axis, card, device):
    """A trained inpainting network (RGB) on every plane: gray planes go in as three equal channels."""
    import torch

    from .models.inference import load_on, on_grid, to_batch, to_image

    model, device = load_on(card, device)
    forward = on_grid(model, card.size_multiple)
    planes, unstack = to_planes(image, channel_axis)
    values = UnitScale(image)
    out = planes.copy()
    for i, plane in enumerate(planes):
        if masks[i].any():
            unit = values.to_unit(plane)
            rgb = unit if unit.shape[-1] == 3 else np.repeat(unit.mean(axis=-1, keepdims=True), 3, axis=-1)
            with torch.inference_mode():
                x, hole = to_batch(rgb, device), to_batch(masks[i], device)
                filled = to_image(forward(torch.cat([x * (1 - hole), hole], dim=1)))
            result = filled if unit.shape[-1] == 3 else np.repeat(filled.mean(axis=-1, keepdims=True),
                                                                   unit.shape[-1], axis=-1)
            out[i] = keep_known(values.restore(result), plane, masks[i])
        yield (i + 1) / len(planes)
    return unstack(out)


def _fill(image, masks, channel_axis):
    """A copy with the missing pixels set to the mean of the known ones.

    NaN or sentinel values under the mask would otherwise fail the input checks
    and stretch the intensity range the result is mapped back to.
    """
    planes, unstack = to_planes(image, channel_axis)
    missing = np.stack(masks)[..., None]
    known = planes[~np.broadcast_to(missing, planes.shape)]
    if not np.issubdtype(image.dtype, np.floating) or np.isfinite(known).all():
        fill = known.mean() if known.size else 0
    else:
        fill = 0  # NaN among the known pixels too: the input check will refuse them
    filled = np.where(missing, np.asarray(fill).astype(image.dtype), planes)
    return unstack(filled)


def _is_nan(value):
    """Whether ``value`` is a NaN of any float type (``np.float32("nan")`` too)."""
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))
