"""MATLAB-compatible separable image resizing (``imresize``).

Published super-resolution tables make their low-resolution inputs with MATLAB's
``imresize(hr, 1/s, 'bicubic')``: a cubic kernel with ``a = -0.5`` that is widened
by ``1/s`` when shrinking (antialiasing). Reproducing it exactly is what makes our
PSNR figures comparable with the literature, so every interpolation method of the
plugin runs through this one implementation.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from ._arrays import cast_into, check_memory, scaled_side

__all__ = ["imresize", "resize_axis", "resize_matrix", "INTERPOLATION_METHODS"]


def _box(x):
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _triangle(x):
    x = np.abs(x)
    return np.where(x <= 1, 1 - x, 0.0)


def _cubic(x):
    # Keys' cubic convolution kernel with a = -0.5, as in MATLAB.
    x = np.abs(x)
    x2, x3 = x * x, x * x * x
    inner = 1.5 * x3 - 2.5 * x2 + 1
    outer = -0.5 * x3 + 2.5 * x2 - 4 * x + 2
    return np.where(x <= 1, inner, np.where(x <= 2, outer, 0.0))


def _lanczos3(x):
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


# name -> (kernel, support width in input pixels at scale 1)
_KERNELS = {
    "nearest": (_box, 1.0),
    "bilinear": (_triangle, 2.0),
    "bicubic": (_cubic, 4.0),
    "lanczos": (_lanczos3, 6.0),
}
INTERPOLATION_METHODS = tuple(_KERNELS)


def _contributions(in_len, out_len, scale, method, antialiasing, padding):
    """Weights ``(out_len, P)`` and source indices ``(out_len, P)`` for one axis.

    ``padding=None``: the indices before a padding maps them into the image (they
    may then be negative or past the end).
    """
    kernel, width = _KERNELS[method]
    if scale < 1 and antialiasing and method != "nearest":
        # Stretch the kernel so that it low-passes before decimation.
        def weight_fn(x):
            return scale * kernel(scale * x)

        width = width / scale
    else:
        weight_fn = kernel
    # Output pixel centre x (1-based) maps to input coordinate u.
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = weight_fn(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    indices = indices.astype(np.int64) - 1
    if padding is not None:
        indices = _inside(indices, in_len, padding)
    used = np.any(weights != 0, axis=0)
    return weights[:, used], indices[:, used]


def _inside(indices, length, padding):
    """The pixels that positions before or past an axis of ``length`` stand for."""
    if padding == "symmetric":
        period = np.concatenate([np.arange(length), np.arange(length)[::-1]])
        return period[np.mod(indices, 2 * length)]
    return np.clip(indices, 0, length - 1)  # replicate the edge pixels


def resize_axis(array, axis, out_len, scale, method="bicubic", antialiasing=True, padding="replicate"):
    """Resize one axis of a float array to ``out_len`` like :func:`imresize`, without rounding.

    float32 in, float32 out (the working precision of the task cores); anything
    else is computed and returned in float64. Each output value is the same sum, in
    the same order, whatever the rest of the array: a block resized with its halo
    equals the same pixels of the whole array resized.
    """
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    weights, indices = _contributions(array.shape[axis], out_len, scale, method, antialiasing, None)
    period, step = _period(indices, scale)
    if period is None:
        weights, indices = _contributions(array.shape[axis], out_len, scale, method, antialiasing, padding)
        return _gather_taps(array, axis, out_len, weights.astype(dtype), indices, dtype)
    return _strided_taps(array, axis, out_len, weights.astype(dtype), indices, period, step, padding, dtype)


def _period(indices, scale):
    """``(P, S)``: output pixel ``j + P`` reads ``S`` input pixels past ``j``'s for all ``j``, else ``(None, None)``.

    True of every rational scale ``P / S`` (e.g. 4, 1/4, 3/2), checked on the indices.
    """
    ratio = Fraction(float(scale)).limit_denominator(MAX_PERIOD)
    period, step = ratio.numerator, ratio.denominator
    if period > MAX_PERIOD:
        return None, None
    j = np.arange(len(indices))
    expected = indices[j % period] + ((j // period) * step)[:, None]
    return (period, step) if np.array_equal(indices, expected) else (None, None)


MAX_PERIOD = 256  # output pixels per repeat of the kernel's phases; beyond, one gather per tap


def _strided_taps(array, axis, out_len, weights, indices, period, step, padding, dtype):
    """The resize as ``P`` phases times ``taps`` strided products of the padded input, no gathered copies."""
    low, high = max(0, -int(indices.min())), max(0, int(indices.max()) - (array.shape[axis] - 1))
    source = array.astype(dtype, copy=False)
    if low or high:
        pad = [(0, 0)] * array.ndim
        pad[axis] = (low, high)
        # numpy's symmetric padding mirrors again past a whole length: MATLAB's period of 2n.
        source = np.pad(source, pad, mode="symmetric" if padding == "symmetric" else "edge")
    shape = list(array.shape)
    shape[axis] = out_len
    out = np.empty(shape, dtype)
    along = (slice(None),) * (axis % array.ndim)
    broadcast = [1] * array.ndim
    for phase in range(min(period, out_len)):
        rows = out[along + (slice(phase, None, period),)]
        broadcast[axis] = rows.shape[axis]
        total = product = None
        for tap in range(weights.shape[1]):
            if not weights[phase::period, tap].any():
                continue  # adds +0 to every sum of this phase: no change to skip
            start = int(indices[phase, tap]) + low
            taken = source[along + (slice(start, start + step * (rows.shape[axis] - 1) + 1, step),)]
            weight = weights[phase::period, tap].reshape(broadcast)
            # The first tap is written, the next ones added: the same sums as _gather_taps,
            # in a contiguous buffer (strided writes at every tap cost more than one copy).
            if total is None:
                total, product = np.multiply(weight, taken), np.empty(rows.shape, dtype)
            else:
                np.add(total, np.multiply(weight, taken, out=product), out=total)
        rows[...] = total
    return out


def _gather_taps(array, axis, out_len, weights, indices, dtype):
    """The resize as one gathered copy of the input per tap (any scale, any padding)."""
    moved = np.moveaxis(array, axis, 0)
    shape = (-1,) + (1,) * (moved.ndim - 1)
    out = np.zeros((out_len,) + moved.shape[1:], dtype=dtype)
    # One tap at a time keeps memory at the size of the output.
    for tap in range(weights.shape[1]):
        out += weights[:, tap].reshape(shape) * moved[indices[:, tap]].astype(dtype, copy=False)
    return np.moveaxis(out, 0, axis)


def imresize(
    image,
    scale=None,
    *,
    output_shape=None,
    method="bicubic",
    antialiasing=True,
    channel_axis=None,
    padding="replicate",
    round_intermediate=True,
):
    """Resize the two spatial axes of an image as MATLAB's ``imresize`` does.

    Parameters
    ----------
    image : ndarray
        2D image, or 3D with a channel axis.
    scale : float or tuple of 2 floats, optional
        Zoom factor (``> 1`` enlarges). Either ``scale`` or ``output_shape``. A
        scale that shrinks a side below one pixel is refused (MATLAB would widen
        its kernel to far beyond the image for one pixel of edge replicas).
    output_shape : tuple of 2 ints, optional
        Output rows and columns; the scale is then ``output / input`` per axis.
    method : {'nearest', 'bilinear', 'bicubic', 'lanczos'}
        Interpolation kernel. ``bicubic`` is Keys' kernel with ``a = -0.5``.
    antialiasing : bool
        Widen the kernel when shrinking, as MATLAB does by default.
    channel_axis : int, optional
        Axis of colour channels, which is not resized.
    padding : {'replicate', 'symmetric'}
        How pixels beyond the border are extended.
    round_intermediate : bool
        For integer input, round to the input dtype after the first axis, as
        MATLAB does. With this default, ``imresize(hr, 1/4)`` reproduces the
        published Set5/Set14 low-resolution files bit for bit.

    Returns
    -------
    ndarray
        Resized image. Integer inputs are rounded and clipped to their dtype;
        float inputs come back in their dtype, unclipped (float32 is computed in float32, the rest in float64).

    Raises
    ------
    MemoryError
        Before any work, when the float working copies cannot fit in the memory free.

    Examples
    --------
    >>> from skimage import data
    >>> small = imresize(data.camera(), 0.25)
    >>> small.shape, small.dtype
    ((128, 128), dtype('uint8'))
    """
    if method not in _KERNELS:
        raise ValueError(f"method must be one of {INTERPOLATION_METHODS}, got {method!r}")
    image = np.asarray(image)
    spatial = [a for a in range(image.ndim) if channel_axis is None or a != channel_axis % image.ndim]
    if len(spatial) != 2:
        raise ValueError(
            f"imresize expects a 2D image (plus an optional channel axis), got shape {image.shape}"
        )
    in_shape = [image.shape[a] for a in spatial]
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale and output_shape")
    out_shape, scales = _output_shape(in_shape, scale, output_shape)
    _check_resize_memory(image, spatial, out_shape, scales, itemsize=4)  # before the weights of a huge output
    integer = np.issubdtype(image.dtype, np.integer)
    # float32 stays float32; the rest is resized in float64 (MATLAB's double), or in float32 where
    # that gives MATLAB's double sums exactly. Channels go first in memory, so that each pass
    # runs along long rows of one channel.
    exact32 = integer and round_intermediate and all(
        _sums_exact_in_float32(image.dtype, image.shape[a], n, s, method, antialiasing)
        for a, n, s in zip(spatial, out_shape, scales, strict=True))
    if (exact32 or image.dtype == np.float32) and scales[0] <= scales[1]:  # MATLAB's order: rows first
        enlarged = _compiled_enlargement(image, channel_axis, out_shape, scales, method, antialiasing, padding)
        if enlarged is not None:
            return enlarged
    work = np.float32 if image.dtype == np.float32 or exact32 else np.float64
    if work == np.float64:
        _check_resize_memory(image, spatial, out_shape, scales, itemsize=8)
    if channel_axis is not None:
        out = np.moveaxis(image, channel_axis, 0).astype(work, order="C")
        spatial = [1, 2]
    else:
        out = image.astype(work)
    # Shrink along the axis with the stronger reduction first, as MATLAB does.
    for k in np.argsort(scales, kind="stable"):
        out = resize_axis(out, spatial[k], out_shape[k], scales[k], method, antialiasing, padding)
        if integer and round_intermediate:
            out = _round_inplace(out, image.dtype)
    if channel_axis is not None:
        out = np.moveaxis(out, 0, channel_axis)
    if integer:
        out = _round_inplace(out, image.dtype)
        # 64-bit ends are beyond float64's integers: cast_into keeps them from wrapping.
        return out.astype(image.dtype) if image.dtype.itemsize < 8 else cast_into(out, image.dtype, overwrite=True)
    return out.astype(image.dtype, copy=False) if np.issubdtype(image.dtype, np.floating) else out


def _compiled_enlargement(image, channel_axis, out_shape, scales, method, antialiasing, padding):
    """The image enlarged by the compiled kernels, or None where they do not apply.

    They apply, when numba is installed, to whole-number enlargements of at most 4 taps a
    phase, of integers whose float32 sums are exact or of float32 images; their bytes are
    then the numpy path's.
    """
    channels = 1 if channel_axis is None else image.shape[channel_axis]
    kernels = _compiled_kernels(math.prod(out_shape) * channels)
    if kernels is None:
        return None
    planar = image if channel_axis is None else np.moveaxis(image, channel_axis, -1)
    integer = np.issubdtype(image.dtype, np.integer)
    plans = [_kernel_plan(n, m, s, method, antialiasing, padding, integer)
             for n, m, s in zip(planar.shape[:2], out_shape, scales, strict=True)]
    if None in plans:
        return None
    source = np.ascontiguousarray(planar if channel_axis is not None else planar[..., None])
    out = kernels.enlarge(source, *plans, image.dtype)
    return out[..., 0] if channel_axis is None else np.moveaxis(out, -1, channel_axis)


def _compiled_kernels(values):
    """The kernels module, once this process has resized ``COMPILE_AFTER`` values in numpy, else None.

    Loading numba and the compiled kernels takes about a second, what the numpy passes spend
    on some 10**8 values: a process pays it once it has spent as much, as a JIT tiers up.
    """
    global _numpy_values
    if _numpy_values < COMPILE_AFTER:
        _numpy_values += values
        return None
    return _load_kernels()


_numpy_values = 0
COMPILE_AFTER = 2**26


def loaded_kernels():
    """The compiled kernels module where this process has tiered up to it (see ``_compiled_kernels``), else None."""
    return _compiled_kernels(0)


@functools.cache
def _load_kernels():
    try:
        from . import _resize_kernels
    except ImportError:  # numba is optional (the `fast` extra)
        return None
    return _resize_kernels


def _kernel_plan(in_len, out_len, scale, method, antialiasing, padding, integer):
    """An axis enlarged by a whole number P in the kernels' form, or None for any other resize.

    ``(weights (P, 4) float32, each phase's first tap (P,), source pixel of each padded position)``.
    """
    weights, indices = _contributions(in_len, out_len, scale, method, antialiasing, None)
    period, step = _period(indices, scale)
    taps = weights.shape[1]
    if step != 1 or out_len != period * in_len or taps > TAPS:
        return None
    if not integer and (taps < TAPS or not weights.all()):
        return None  # floats: a zero weight's product with inf would be NaN where numpy skips the tap
    if not np.array_equal(weights, np.tile(weights[:period], (in_len, 1))):
        return None  # phases whose weights differ in their last bits: the numpy path keeps each
    phases = np.zeros((period, TAPS), np.float32)
    phases[:, :taps] = weights[:period]
    low = max(0, -int(indices[:, 0].min()))
    positions = np.arange(int(indices[:period, 0].max()) + low + in_len - 1 + TAPS) - low
    return phases, indices[:period, 0] + low, _inside(positions, in_len, padding)


TAPS = 4  # taps a phase the compiled kernels sum


def _output_shape(in_shape, scale, output_shape):
    """``(output sides, scales)`` of the two spatial axes, or a ValueError for sides that cannot be."""
    if scale is not None:
        scales = np.broadcast_to(np.asarray(scale, dtype=np.float64), (2,))
        if not np.all(scales > 0):
            raise ValueError(f"scale must be positive, got {scale}")
        for n, s in zip(in_shape, scales, strict=True):
            if 0 < n * s < 1:  # the kernel would then span many times the image, for one pixel
                raise ValueError(f"scale {s:g} shrinks a side of {n} pixels below one pixel; the smallest "
                                 f"scale for it is 1/{n} (or give output_shape)")
        return [scaled_side(n, s) for n, s in zip(in_shape, scales, strict=True)], scales
    out_shape = [int(n) for n in output_shape]
    if len(out_shape) != 2 or min(out_shape) < 1:
        raise ValueError(f"output_shape must be two sides ≥ 1 pixel, got {output_shape}")
    return out_shape, np.array([o / i for o, i in zip(out_shape, in_shape, strict=True)])


def _check_resize_memory(image, spatial, out_shape, scales, itemsize):
    """Refuse upfront a resize whose float working copies cannot fit in the memory free now."""
    others = math.prod(n for a, n in enumerate(image.shape) if a not in spatial)  # channels
    first = int(np.argsort(scales, kind="stable")[0])
    middle = out_shape[first] * image.shape[spatial[1 - first]]
    # The input in float64, the first axis's result, then the second's with its two temporaries
    # (a tap's product and the sum) and a rounded copy.
    nbytes = itemsize * others * (image.size // others + middle + 4 * math.prod(out_shape))
    if nbytes > SMALL_WORK:
        check_memory(nbytes, f"resizing to {tuple(out_shape)}")


SMALL_WORK = 2**27  # bytes of working memory below which imresize does not ask how much is free


def _round_inplace(array, dtype):
    """``array`` (a result of ours) rounded as MATLAB rounds to ``dtype``, clipped to its range; still float."""
    info = np.iinfo(dtype)
    # MATLAB rounds halves away from zero; np.round would round them to even. Below zero
    # an unsigned result is clipped to 0 anyway, so it needs no sign.
    if info.min == 0:
        np.floor(np.add(array, 0.5, out=array), out=array)
    else:
        np.copysign(np.floor(np.abs(array) + 0.5), array, out=array)
    return np.clip(array, info.min, info.max, out=array)


def _sums_exact_in_float32(dtype, in_len, out_len, scale, method, antialiasing):
    """Whether float32 sums of integers of ``dtype`` with this axis's weights are exact (as in float64).

    True when every weight is a multiple of a power of two ``2**-q`` (bicubic at x2, x4,
    x8, 1/2, 1/4, ...): each product and partial sum is then an integer count of ``2**-q``,
    exact while it stays below float32's 2**24. Any summation order then gives MATLAB's sum.
    """
    weights, _ = _contributions(in_len, out_len, scale, method, antialiasing, None)
    info = np.iinfo(dtype)
    largest = max(abs(int(info.min)), int(info.max)) * np.abs(weights).sum(axis=1).max()
    for q in range(MAX_WEIGHT_BITS + 1):
        steps = weights * 2.0**q
        if np.array_equal(steps, np.round(steps)):
            return (largest + 1) * 2.0**q <= 2**24  # + 1: the half added when rounding
    return False


MAX_WEIGHT_BITS = 16  # finer binary weights than 2**-16 are not worth checking: they cannot fit uint8 sums


def resize_matrix(in_len, out_len, *, method="bicubic", antialiasing=True, padding="replicate"):
    """Dense ``(out_len, in_len)`` matrix that resizes one axis like :func:`imresize`.

    ``M @ column`` resizes a column; batched matrix products with it resize many
    small patches at once (training degradations, Deep Image Prior's operator).
    """
    weights, indices = _contributions(in_len, out_len, out_len / in_len, method, antialiasing, padding)
    matrix = np.zeros((out_len, in_len))
    rows = np.repeat(np.arange(out_len), weights.shape[1])
    np.add.at(matrix, (rows, indices.ravel()), weights.ravel())
    return matrix
