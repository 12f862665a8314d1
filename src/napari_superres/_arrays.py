"""Array plumbing shared by every task: input checks, planes, intensity range, dtype restoration."""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np

# A job's estimated peak may use at most this share of the memory that is free when it starts.
MEMORY_SHARE = 0.8


def run_to_end(steps):
    """Exhaust a progress generator and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


class ChannelAxisWarning(UserWarning):
    """An image looks like colour (a trailing axis of 3 or 4) but no ``channel_axis`` was given."""


def check_image(image, channel_axis, task="process", *, finite=True):
    """Refuse, before any work, what no task can process, saying what to do instead.

    ``finite=False`` leaves NaN and infinite values to the caller (inpainting: NaN
    may mark the missing pixels; see :func:`check_finite`).

    Warns with :class:`ChannelAxisWarning` when the image looks like colour without a
    ``channel_axis``: a last axis of 3 or 4 after two axes of at least ``COLOUR_SIDE``
    pixels, such as ``(512, 512, 3)``. A stack ``(3, H, W)`` or a plane ``(H, 3)``
    does not warn; nor does a stack of ``(H, 3)`` planes smaller than that.
    """
    if image.dtype == bool or not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
        raise TypeError(f"cannot {task} an image of dtype {image.dtype}; convert it to uint8, uint16 or float "
                        "(for a complex image, take np.abs or the real part first)")
    if channel_axis is not None and not -image.ndim <= channel_axis < image.ndim:
        raise ValueError(f"channel_axis={channel_axis} is not an axis of an image of shape {image.shape}")
    spatial = image.ndim - (channel_axis is not None)
    if spatial < 2:
        raise ValueError(f"need at least two spatial axes, got shape {image.shape} (channel_axis={channel_axis})")
    if image.size == 0:
        raise ValueError(f"the image is empty (shape {image.shape})")
    if finite:
        check_finite(image)
    if channel_axis is None and looks_like_colour(image.shape):
        warnings.warn(f"an image of shape {image.shape} looks like colour: pass channel_axis=-1 to {task} it as "
                      "colour (without it the last axis is an image axis)", ChannelAxisWarning,
                      stacklevel=_caller_level())


def check_finite(image):
    """Refuse a numpy float image with NaN or infinite values, with their count (lazy data: see :func:`min_max`)."""
    if np.issubdtype(image.dtype, np.floating) and isinstance(image, np.ndarray):
        bad = np.count_nonzero(~np.isfinite(image))
        if bad:
            raise non_finite_error(bad)


def _caller_level():
    """The ``stacklevel`` of the first caller outside this package, for a warning that points at the user's code."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


# A last axis of 3 or 4 after two axes at least this long is taken for colour channels.
COLOUR_SIDE = 16


def looks_like_colour(shape):
    """Whether ``shape`` ends like an RGB or RGBA image: ``(..., H, W, 3 or 4)`` with H and W ≥ ``COLOUR_SIDE``."""
    return len(shape) >= 3 and shape[-1] in (3, 4) and min(shape[-3:-1]) >= COLOUR_SIDE


def non_finite_error(count):
    """The error for an image with ``count`` NaN or infinite values (numpy and lazy input alike)."""
    return ValueError(f"the image has {count} NaN or infinite values; replace them first (np.nan_to_num), "
                      "or fill NaN holes with inpainting")


def is_lazy(image):
    """Whether ``image`` is a dask or zarr array (or another array not held in memory by numpy)."""
    return not isinstance(image, np.ndarray) and hasattr(image, "shape") and hasattr(image, "dtype") and (
        hasattr(image, "dask") or type(image).__module__.split(".")[0] == "zarr")


def min_max(image):
    """``(min, max)`` of an array in one pass, lazily computed for dask and zarr arrays.

    Refuses NaN and infinite values with their count, as :func:`check_image`
    does for numpy input: for lazy input, this pass over the data is where they are found.
    """
    floating = np.issubdtype(image.dtype, np.floating)
    if is_lazy(image):
        import dask
        import dask.array as da

        x = da.asarray(image)
        low, high, *bad = dask.compute(x.min(), x.max(), *([(~da.isfinite(x)).sum()] if floating else []))
        low, high = np.asarray(low)[()], np.asarray(high)[()]
    else:
        low, high = np.min(image), np.max(image)
        # NaN spreads to the minimum and an infinity is one of the ends: count only then.
        bad = [np.count_nonzero(~np.isfinite(image))] if floating and not np.isfinite([low, high]).all() else []
    if bad and bad[0]:
        raise non_finite_error(int(bad[0]))
    return low, high


def scaled_side(length, scale):
    """``ceil(length * scale)``, or a ValueError when no array can have a side that long."""
    side = length * float(scale)
    if not side <= sys.maxsize:  # also inf and NaN
        raise ValueError(f"scale {float(scale):g} makes a side of {length} pixels {side:.3g} pixels long; no array "
                         f"can be that large (at most {sys.maxsize} elements)")
    return math.ceil(side)


def spatial_shape(image, channel_axis):
    """The shape of ``image`` without its channel axis."""
    return image.shape if channel_axis is None else tuple(np.delete(image.shape, channel_axis))


def plane_layout(image, channel_axis):
    """``(planes, H, W, channels)``: the shape :func:`to_planes` gives, without touching the data."""
    shape = list(image.shape)
    channels = 1 if channel_axis is None else shape.pop(channel_axis)
    return (int(np.prod(shape[:-2], dtype=np.int64)), shape[-2], shape[-1], channels)


# One block's output values held at once beside the result, in copies of the working dtype: its
# float64 and float32 copies on the way out of a model or an interpolation, the colour conversions
# and the cast back (fitted to the peaks that benchmarks/memory_peak.py measures: 7-10 bytes a value
# in float32; tests/test_memory_estimate.py checks the estimate against measured peaks).
BLOCK_COPIES = 2.5
# A lazy result's blocks are computed one after the other with dask, whose threads (the pass over
# the data, the reads) leave the memory of one block's copies in the allocator's per-thread pools:
# its peak is as if two blocks' copies were held (measured: with MALLOC_ARENA_MAX=1, one).
LAZY_BLOCK_COPIES = 2 * BLOCK_COPIES


def blocks_peak_bytes(layout, out_sides, dtype, *, block, halo, network_per_pixel=0, result=True):
    """What a block-by-block job holds at its peak beyond its input.

    The result (``result=True``, a numpy result) or else one block's (a lazy result,
    written or drawn block by block), one block's working copies, and the network's
    activations on one tile (``network_per_pixel`` bytes per input pixel; 0 for an
    interpolation or a network on an accelerator). ``layout`` is ``(planes, H, W,
    channels)`` (see :func:`plane_layout`), ``out_sides`` the result's ``(H, W)``.
    """
    count, h, w, channels = layout
    # The last block of a row or column takes in a remainder shorter than the halo.
    tile = [min(block + 3 * halo, n) for n in (h, w)]
    block_values = math.prod(math.ceil(t * o / n) for t, o, n in zip(tile, out_sides, (h, w), strict=True)) * channels
    held = count * math.prod(out_sides) * channels if result else block_values
    copies = BLOCK_COPIES if result else LAZY_BLOCK_COPIES
    return int(held * np.dtype(dtype).itemsize + copies * _working_itemsize(dtype) * block_values
               + network_per_pixel * math.prod(tile))


def _working_itemsize(dtype):
    """Bytes of a value in the dtype the work is done in: float32 for small integers and floats, else float64."""
    dtype = np.dtype(dtype)
    small = (dtype.kind in "iu" and dtype.itemsize <= 2) or dtype in (np.float16, np.float32)
    return 4 if small else 8


def check_blocks_fit(layout, out_sides, dtype, **blocks):
    """Refuse upfront a block-by-block job whose peak (see :func:`blocks_peak_bytes`) cannot fit in memory."""
    shape = (layout[0], *out_sides, layout[3])
    what = "the result" if blocks.get("result", True) else "one block of the result"
    check_memory(blocks_peak_bytes(layout, out_sides, dtype, **blocks), f"{what} {shape} ({np.dtype(dtype)})")


def check_memory(nbytes, what):
    """Refuse upfront work whose peak, ``nbytes``, cannot fit in the memory free now.

    ``what`` names the work for the message (e.g. ``"the result (1, 512, 512, 3) (uint8)"``);
    every entry point refuses with this one actionable message before building anything.
    """
    import psutil

    free = psutil.virtual_memory().available
    if nbytes > MEMORY_SHARE * free:
        needed = f"{nbytes / 2**30:.1f}" if nbytes < 2**70 else f"{nbytes // 2**30:.3g}"
        raise MemoryError(f"{what} needs {needed} GiB but only {free / 2**30:.1f} GiB of memory is "
                          "free; process a crop or fewer planes at a time")


def to_planes(image, channel_axis):
    """``(N, H, W, C)`` view of ``image`` and a function that puts results back in its layout."""
    if channel_axis is None:
        stacked = image[..., None]
    else:
        stacked = np.moveaxis(image, channel_axis, -1)
    lead = stacked.shape[:-3]
    planes = stacked.reshape((-1,) + stacked.shape[-3:])

    def unstack(out):
        out = out.reshape(lead + out.shape[1:])
        return out[..., 0] if channel_axis is None else np.moveaxis(out, -1, channel_axis)

    return planes, unstack


class UnitScale:
    """The map between an image's values and the [0, 1] range every task works in.

    uint8 maps 0-255, floats already in [0, 1] stay as they are, anything else maps
    its own minimum and maximum, unless ``value_range`` says which values are black
    and white (e.g. ``(0, 255)`` for noisy floats that stray outside the signal's
    range). :meth:`restore` maps back, rounds and casts to the image's dtype and,
    with ``clip``, keeps results inside the image's range of values.

    Building it is a pass over the data (lazily computed for dask and zarr), which
    refuses NaN and infinite values as :func:`check_image` does. Any finite range
    works, up to float64's ±1.8e308 and int64's and uint64's full range, without
    overflow or wrap-around. The work is in float64, which holds integers exactly
    only up to 2**53: beyond, int64/uint64 values come back to within float64's
    resolution (e.g. ±1024 near 2**63), except the image's minimum and maximum
    (and the dtype's limits), which come back exactly.
    """

    def __init__(self, image, clip=True, value_range=None):
        self.dtype = image.dtype
        minimum, maximum = min_max(image)
        if value_range is not None:
            low, high = check_value_range(value_range)
        elif image.dtype == np.uint8:
            low, high = 0.0, 255.0
        else:
            low, high = float(minimum), float(maximum)
            if np.issubdtype(image.dtype, np.floating) and low >= 0 and high <= 1:
                low, high = 0.0, 1.0
        self.low = low
        # Values are divided by this before they are shifted, so that high - low cannot
        # overflow float64 (finite values near ±1.8e308); 1 for any usual range.
        self._factor = 1.0 if np.isfinite(high - low) else 2.0
        self._offset = low / self._factor
        self._span = high / self._factor - self._offset if high > low else 1.0
        self.bounds = (minimum, maximum) if clip else None

    @property
    def span(self):
        """Image units per unit: ``high - low`` (may be inf for a float64 range wider than 1.8e308)."""
        return self._span * self._factor

    def to_unit_length(self, amount):
        """A length in image units (e.g. a noise level σ) in unit units, without overflow."""
        return amount / self._factor / self._span

    @property
    def working_dtype(self):
        """float32 where it holds the image's values to well within one level, else float64.

        Integers of up to 16 bits and float16/float32 images of a moderate range: the
        learned models compute in float32 anyway, and float32 halves the memory and
        the time of the plumbing around them (colours, interpolation, rounding).
        """
        small = (np.issubdtype(self.dtype, np.integer) and self.dtype.itemsize <= 2) or self.dtype in (
            np.float16, np.float32)
        return np.dtype(np.float32 if small and self._factor == 1 and abs(self.low) + self.span < 2**64
                        else np.float64)

    def to_unit(self, values, dtype=np.float64):
        """``values`` in [0, 1] (the image's range), as ``dtype``."""
        values = values.astype(dtype)
        if self._factor != 1:
            values = values / self._factor
        return (values - self._offset) / self._span

    def float32_restore(self, clip=True):
        """:meth:`restore` of float32 units as ``(span, shift, low, high, dtype)``, or None where it is not that.

        For images that work in float32 (:attr:`working_dtype`), except float16:
        values are ``unit * span + shift``, rounded (halves to even) for integers,
        then kept inside ``[low, high]``. What a compiled kernel needs to restore
        with :meth:`restore`'s bytes.
        """
        if self.working_dtype != np.float32 or self.dtype == np.float16:
            return None
        bounds = self.bounds if clip else None
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            low, high = (info.min, info.max) if bounds is None else bounds
        else:
            low, high = (np.finfo(self.dtype).min, np.finfo(self.dtype).max) if bounds is None else bounds
        return self._span, self._offset, float(low), float(high), self.dtype

    def restore(self, unit, clip=True):
        with np.errstate(over="ignore"):  # beyond float64 (only past the range): clipped below
            values = unit * self._span  # the one copy: the steps below work in it
            if self._offset:
                values += self._offset
            if self._factor != 1:
                values *= self._factor
        bounds = self.bounds if clip else None
        if bounds is not None and not np.issubdtype(self.dtype, np.integer):  # cast_into clips integers
            values = np.clip(values, *bounds, out=values)
        return cast_into(values, self.dtype, bounds, overwrite=True)


def cast_into(values, dtype, bounds=None, *, overwrite=False):
    """Float ``values`` as ``dtype``, inside ``bounds`` (or the dtype's limits): rounded, never wrapped.

    ``overwrite``: ``values`` may be rounded and clipped in place (a copy the caller made).

    An integer bound that float64 cannot hold (beyond 2**53) comes back exactly for the
    values that reach it: ``2**63 - 1`` rounds to the float ``2**63``, whose cast would
    wrap to ``-2**63``.
    """
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        if bounds is None:
            info = np.finfo(dtype)
            values = np.clip(values, info.min, info.max)  # no inf where the input had none
        return values.astype(dtype)
    if not np.issubdtype(dtype, np.integer):
        return values.astype(dtype)
    info = np.iinfo(dtype)
    low, high = (int(info.min), int(info.max)) if bounds is None else (int(bounds[0]), int(bounds[1]))
    values = np.round(values, out=values if overwrite else None)
    out = np.clip(values, _float_inside(low, lower=True), _float_inside(high, lower=False), out=values).astype(dtype)
    # Where float64 cannot tell the ends from their neighbours, what reaches within its
    # error of an end is that end, exactly.
    error = 4 * np.spacing(max(abs(float(low)), abs(float(high))))
    if error >= 0.5:
        out[values >= float(high) - error] = high
        out[values <= float(low) + error] = low
    return out


def _float_inside(end, lower):
    """The float64 nearest to the integer ``end`` on the range's side of it: casting it back cannot wrap."""
    near = float(end)
    if (near < end) if lower else (near > end):
        near = float(np.nextafter(near, np.inf if lower else -np.inf))
    return near


def check_value_range(value_range):
    """``(low, high)`` as floats, or a ValueError saying why they are no range of values."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be two numbers (low, high), got {value_range!r}") from None
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range!r}")
    return low, high


def plane_masks(mask, image, channel_axis, count):
    """One boolean ``(H, W)`` mask per plane (True: missing).

    From a mask of the image's spatial shape or of its last axes.
    """
    if mask is None:
        raise ValueError("inpaint needs a mask: True where pixels are missing")
    mask = np.asarray(mask) != 0
    spatial = tuple(spatial_shape(image, channel_axis))
    if mask.ndim < 2 or mask.shape != spatial[len(spatial) - mask.ndim:]:
        raise ValueError(f"mask shape {mask.shape} matches neither the image's plane {spatial[-2:]} "
                         f"nor its spatial shape {spatial} (or its last axes, e.g. one volume)")
    if mask.ndim == 2:
        masks = [mask] * count
    else:  # repeated over the leading axes it does not have
        masks = list(np.broadcast_to(mask, spatial).reshape((-1,) + spatial[-2:]).copy())
    if any(m.all() for m in masks):
        raise ValueError("the mask covers every pixel of a plane: there is nothing to inpaint from; "
                         "mark only the missing pixels")
    return masks


def keep_known(estimate, plane, mask):
    """Inpainting returns known pixels exactly as they were (copied, not round-tripped)."""
    if mask is None:
        return estimate
    return np.where(mask[..., None], estimate, plane)
