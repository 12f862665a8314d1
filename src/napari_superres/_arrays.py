"""Array plumbing shared by every task: input checks, planes, intensity range, dtype restoration."""

from __future__ import annotations

import numpy as np

# A result (plus the float64 working copy of one plane) may use at most this share
# of the memory that is free when the job starts.
MEMORY_SHARE = 0.8


def run_to_end(steps):
    """Exhaust a progress generator and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def check_image(image, channel_axis, task="process"):
    """Refuse, before any work, what no task can process, saying what to do instead."""
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
    if np.issubdtype(image.dtype, np.floating) and isinstance(image, np.ndarray):  # not a pass over lazy data
        bad = np.count_nonzero(~np.isfinite(image))
        if bad:
            raise ValueError(f"the image has {bad} NaN or infinite values; replace them first (np.nan_to_num), "
                             "or fill NaN holes with inpainting")


def spatial_shape(image, channel_axis):
    """The shape of ``image`` without its channel axis."""
    return image.shape if channel_axis is None else tuple(np.delete(image.shape, channel_axis))


def plane_layout(image, channel_axis):
    """``(planes, H, W, channels)``: the shape :func:`to_planes` gives, without touching the data."""
    shape = list(image.shape)
    channels = 1 if channel_axis is None else shape.pop(channel_axis)
    return (int(np.prod(shape[:-2], dtype=np.int64)), shape[-2], shape[-1], channels)


def check_output_fits(shape, dtype):
    """Refuse upfront a result of ``shape`` (planes first) that cannot fit in the memory free now."""
    result = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    plane = int(np.prod(shape[1:], dtype=np.float64)) * 8  # float64 working copy of one plane
    check_memory(result + plane, f"the result {tuple(shape)} ({dtype})")


def check_memory(nbytes, what):
    """Refuse upfront work whose peak, ``nbytes``, cannot fit in the memory free now.

    ``what`` names the work for the message (e.g. ``"the result (1, 512, 512, 3) (uint8)"``);
    every entry point refuses with this one actionable message before building anything.
    """
    import psutil

    free = psutil.virtual_memory().available
    if nbytes > MEMORY_SHARE * free:
        raise MemoryError(f"{what} needs {nbytes / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB of memory is "
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
    """

    def __init__(self, image, clip=True, value_range=None):
        from .lazy import min_max

        self.dtype = image.dtype
        minimum, maximum = min_max(image)
        if value_range is not None:
            self.low, high = check_value_range(value_range)
        elif image.dtype == np.uint8:
            self.low, high = 0.0, 255.0
        else:
            self.low, high = float(minimum), float(maximum)
            if np.issubdtype(image.dtype, np.floating) and self.low >= 0 and high <= 1:
                self.low, high = 0.0, 1.0
        self.span = high - self.low if high > self.low else 1.0
        self.bounds = (minimum, maximum) if clip else None

    def to_unit(self, values):
        return (values.astype(np.float64) - self.low) / self.span

    def restore(self, unit, clip=True):
        values = unit * self.span + self.low
        if clip and self.bounds is not None:
            values = np.clip(values, *self.bounds)
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            values = np.clip(np.round(values), info.min, info.max)
        return values.astype(self.dtype)


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
    """One boolean ``(H, W)`` mask per plane (True: missing) from a mask of the image's spatial shape or its last axes."""
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
