"""Inpainting: fill the missing pixels of an image, keep every other pixel exactly as it was.

The missing pixels come from a mask (True where missing, as in
``skimage.restoration.inpaint_biharmonic``) or from the image itself: NaN, or a
value that marks them (a sensor's dead-pixel code, 0 in a stitched mosaic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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

METHODS = ("auto", "biharmonic", "dip")  # and the trained inpainting networks: available_inpainters()
# auto: a hole whose farthest pixel is at least this far from a known pixel is large (strokes, boxes);
# thinner ones (text, scratches, scattered drops) are filled by biharmonic alone. Measured on the dev
# images (benchmarks/inpaint.py): biharmonic wins within ~4 pixels of the known ones, the network deeper.
LARGE_HOLE_DEPTH = 6.0
# In a large hole auto returns a weighted mean of biharmonic's and the large-hole method's fills: their
# errors are partly independent, and the mean beat either alone on every family of large holes measured.
# The large-hole method's weight grows from the rim (where biharmonic is better) to this deep inside.
LARGE_HOLE_WEIGHTS = (0.3, 0.7)
LARGE_HOLE_RAMP = 10.0
PREFERRED_NETWORK = "gatedunet"
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
AUTO_EXTRA_COPIES = 2  # auto keeps both fills (biharmonic's, the large-hole method's) until it mixes them


def available_inpainters():
    """Method names: biharmonic, DIP, and the trained networks found in the weights (cards of task 'inpaint')."""
    from .models import list_models

    return METHODS + tuple(sorted({c.method for c in list_models().values() if c.task == "inpaint"}))


def default_large_hole_method():
    """What ``method="auto"`` fills large holes with by default: the shipped network, else another, else biharmonic."""
    networks = available_inpainters()[len(METHODS):]
    if PREFERRED_NETWORK in networks:
        return PREFERRED_NETWORK
    return networks[0] if networks else "biharmonic"


@dataclass(frozen=True)
class HolePlan:
    """How ``method="auto"`` fills one plane: its connected holes and the method chosen for each.

    Attributes
    ----------
    labels : ndarray of int
        ``(H, W)``: 0 for known pixels, ``i`` for the pixels of hole ``i`` (8-connected).
    depths : tuple of float
        Per hole: the distance in pixels from its deepest pixel to the nearest known one
        (1 for scattered pixels, the half-width of a stroke, half the short side of a box).
    methods : tuple of str
        Per hole: ``'biharmonic'`` for a thin or scattered hole, the large-hole method
        for a deeper one (its fill is then mixed with biharmonic's, :func:`large_hole_weights`).
    """

    labels: np.ndarray
    depths: tuple
    methods: tuple

    def mask_of(self, method):
        """True on the pixels of the holes given to ``method``."""
        chosen = [i + 1 for i, m in enumerate(self.methods) if m == method]
        return np.isin(self.labels, chosen)


def large_hole_weights(mask):
    """The weight ``method="auto"`` gives the large-hole method's fill at each pixel of ``mask``'s holes.

    ``LARGE_HOLE_WEIGHTS[0]`` next to a known pixel, growing with the distance to the
    nearest one up to ``LARGE_HOLE_WEIGHTS[1]`` at ``LARGE_HOLE_RAMP`` pixels; 0 outside.
    """
    from scipy import ndimage

    rim, deep = LARGE_HOLE_WEIGHTS
    depth = ndimage.distance_transform_edt(np.asarray(mask) != 0)
    return np.where(depth > 0, rim + (deep - rim) * np.clip(depth / LARGE_HOLE_RAMP, 0, 1), 0.0)


def plan_holes(mask, *, large_holes=None):
    """The per-hole choice of ``method="auto"`` for a ``(H, W)`` mask (True where missing).

    A hole whose deepest pixel is :data:`LARGE_HOLE_DEPTH` pixels or more from the known
    ones goes to ``large_holes`` (default :func:`default_large_hole_method`: the trained
    network; ``'dip'`` when time allows); the others to biharmonic.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((64, 64), bool)
    >>> mask[5, :] = True  # a one-pixel scratch
    >>> mask[20:50, 20:50] = True  # a box
    >>> plan_holes(mask, large_holes="dip").methods
    ('biharmonic', 'dip')
    """
    from scipy import ndimage

    mask = np.asarray(mask) != 0
    large_holes = large_holes or default_large_hole_method()
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    depths = ndimage.maximum(ndimage.distance_transform_edt(mask), labels, np.arange(1, count + 1))
    depths = tuple(float(d) for d in np.atleast_1d(depths)) if count else ()
    methods = tuple(large_holes if d >= LARGE_HOLE_DEPTH else "biharmonic" for d in depths)
    return HolePlan(labels, depths, methods)


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
        restores texture), a trained inpainting network from the weights folder
        (:func:`available_inpainters`, e.g. a gated-convolution U-Net), or 'auto':
        per connected hole (:func:`plan_holes`), biharmonic for thin or scattered
        holes, and for large ones a weighted mean of biharmonic's fill and that of
        ``large_holes`` (:func:`large_hole_weights`; measured best on every mask
        family of ``benchmarks/inpaint.py``).
    channel_axis : int, optional
        Axis of colour channels.
    missing_value : float
        What marks a missing pixel in the image when no mask is given; any NaN
        (``np.nan``, ``np.float32("nan")``) means NaN pixels.
    **options
        Settings of 'dip' (iterations, network, device, seed, preview_every...);
        ``device`` for a trained network. 'auto' takes ``large_holes`` (default
        :func:`default_large_hole_method`: the trained network; 'dip' when there is
        time, or 'biharmonic') and that method's settings.

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

    'biharmonic' and the networks yield the fraction of planes done; 'dip' yields a
    :class:`~napari_superres._fitting.FitStep` per iteration, with previews; 'auto'
    yields biharmonic's fractions, then those of its large-hole method.
    The arguments are checked when this is called, before any work.
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "inpaint", finite=False)  # NaN may mark the missing pixels
    _check_memory(image, channel_axis, method)  # before the models are listed: that loads torch
    if method not in METHODS and method not in available_inpainters():
        raise ValueError(f"unknown inpainting method {method!r}; choose one of {', '.join(available_inpainters())}")
    large = None
    if method == "auto":
        large = options.pop("large_holes", None) or default_large_hole_method()
        if large == "biharmonic":
            options.pop("device", None)  # no network to place (a caller may pass it for any method)
    if large is not None and (large == "auto" or large not in available_inpainters()):
        raise ValueError(f"unknown large-hole method {large!r}; choose one of "
                         f"{', '.join(m for m in available_inpainters() if m != 'auto')}")
    filler = large or method  # the method whose options apply
    _check_options(filler, options)
    card = None
    if filler not in METHODS:
        from .models import find_model

        card = find_model(filler, 1)
        _check_memory(image, channel_axis, method, card)
    if mask is None:
        mask = missing_mask(image, missing_value, channel_axis=channel_axis)
        if not mask.any():
            marker = "NaN" if _is_nan(missing_value) else f"equal to {missing_value!r}"
            raise ValueError(f"nothing to inpaint: no mask was given and no pixel is {marker}; "
                             "give a mask (True where missing) or the value that marks missing pixels")
    count = plane_layout(image, channel_axis)[0]
    masks = plane_masks(mask, image, channel_axis, count)
    if method in ("biharmonic", "auto"):
        _check_memory(image, channel_axis, method, card, missing=max(np.count_nonzero(m) for m in masks))
    filled = _fill(image, masks, channel_axis)
    check_finite(filled)  # NaN or infinity among the known pixels
    if method != "auto":
        return _method_steps(filled, masks, channel_axis, method, card, options)
    large_masks = [plan_holes(m, large_holes=large).mask_of(large) for m in masks]
    if large == "biharmonic" or not any(m.any() for m in large_masks):
        return _biharmonic_steps(filled, masks, channel_axis)
    # The large-hole method sees every hole as missing (as when run alone), on the planes with a large one.
    masks_there = [m if deep.any() else np.zeros_like(m) for m, deep in zip(masks, large_masks, strict=True)]
    deep_steps = _method_steps(filled, masks_there, channel_axis, large, card, options)
    return _auto_steps(filled, masks, large_masks, channel_axis, deep_steps, share=0.0 if large == "dip" else 0.5)


def _check_options(method, options):
    """Only DIP takes settings; a network only ``device``; biharmonic none."""
    if method == "dip":
        return
    allowed = set() if method == "biharmonic" else {"device"}
    unknown = set(options) - allowed
    if unknown and allowed:
        raise TypeError(f"{method} takes only device, not {sorted(unknown)}")
    if unknown:
        raise TypeError(f"biharmonic takes no options {sorted(unknown)}; only dip does")


def _method_steps(filled, masks, channel_axis, method, card, options):
    """The progress generator of one method (not auto) on ``filled``, whose ``masks`` mark the holes."""
    if method == "dip":
        from .dip import iter_fit_dip

        return iter_fit_dip(filled, "inpaint", mask=np.stack(masks).reshape(spatial_shape(filled, channel_axis)),
                            channel_axis=channel_axis, **options)
    if card is not None:
        return _network_steps(filled, masks, channel_axis, card, options.get("device"))
    return _biharmonic_steps(filled, masks, channel_axis)


def _auto_steps(image, masks, large_masks, channel_axis, deep_steps, share):
    """Biharmonic everywhere, then in the large holes its fill mixed with ``deep_steps``' (:func:`large_hole_weights`).

    Progress: biharmonic's fractions map to [0, share], the large-hole method's to [share, 1]
    (a DIP fit's steps pass unchanged).
    """
    smooth = yield from _scaled(_biharmonic_steps(image, masks, channel_axis), 0.0, share)
    deep = yield from _scaled(deep_steps, share, 1.0)
    values = UnitScale(image)
    smooth_planes, unstack = to_planes(smooth, channel_axis)
    deep_planes, _ = to_planes(deep, channel_axis)
    out = smooth_planes.copy()
    for i, large in enumerate(large_masks):
        if large.any():
            weight = large_hole_weights(masks[i])[..., None]
            smooth_unit = values.to_unit(smooth_planes[i])
            mean = smooth_unit + weight * (values.to_unit(deep_planes[i]) - smooth_unit)
            out[i] = keep_known(values.restore(mean), smooth_planes[i], large)
    return unstack(out)


def _scaled(steps, start, stop):
    """Relay ``steps``, mapping its fractions of work done to [start, stop]; other steps pass as they are."""
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        yield start + (stop - start) * step if isinstance(step, (int, float)) else step


def _check_memory(image, channel_axis, method, card=None, missing=0):
    """Refuse upfront, before a pass over the data or a model, what cannot fit (see IMAGE_COPIES).

    Called as soon as each part of the peak is known: a network's ``card`` (its activations), and
    ``missing``, the most missing pixels of a plane (biharmonic's solve grows with it).
    """
    _, h, w, channels = plane_layout(image, channel_axis)
    pixels = math.prod(spatial_shape(image, channel_axis))
    copies = IMAGE_COPIES + (AUTO_EXTRA_COPIES if method == "auto" else 0)
    total = copies * image.nbytes + MASK_BYTES_PER_PIXEL * pixels
    if method in ("biharmonic", "auto"):
        total += BIHARMONIC_COPIES * 8 * h * w * channels + BIHARMONIC_BYTES_PER_MISSING * missing
    if card is not None:  # DIP checks its own fit
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
