"""Compiled kernels for whole-number enlargements and the colour conversion after them.

Imported by ``resize`` when numba is installed. The numpy passes of ``resize`` sweep the whole
output once per tap, once more to round and again to interleave the channels. Here each output
row is summed, rounded and stored in one sweep: the same float32 sums in the same order, so the
bytes are those of the numpy path (and, for integers whose float32 sums
``resize._sums_exact_in_float32`` finds exact, MATLAB's). :func:`ycbcr_to_levels` does the same
for a luma model's output: YCbCr to RGB, back to the image's values, rounded and stored, in one
sweep where numpy makes some twenty.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import float32, prange

TAPS = 4  # kernels of up to 4 taps a phase (bicubic, bilinear, nearest); fewer are padded with zero weights

# numba's default threading layer aborts when two threads launch a parallel kernel at once
# (napari workers, dask's threaded scheduler): one launch at a time, each using every core.
_LAUNCH = threading.Lock()


@numba.njit(inline="always")
def _rounded(s, lo, hi, signed, rounding):
    # MATLAB rounds halves away from zero, then saturates to the integer type; floats stay as summed.
    if not rounding:
        return s
    v = np.copysign(np.floor(np.abs(s) + float32(0.5)), s) if signed else np.floor(s + float32(0.5))
    v = v if v > lo else lo
    return v if v < hi else hi


@numba.njit(parallel=True, cache=True, boundscheck=False, error_model="numpy")
def _first_axis(source, rows, weights, starts, out, lo, hi, signed, rounding):
    """``out[c, m*P + p, x] = round(sum_k weights[p, k] * source[rows[starts[p] + m + k], x*C + c])``."""
    periods = weights.shape[0]
    channels, width = out.shape[0], out.shape[2]
    w = weights
    for t in prange(out.shape[1]):
        m, p = t // periods, t % periods
        b = starts[p] + m
        r0, r1, r2, r3 = source[rows[b]], source[rows[b + 1]], source[rows[b + 2]], source[rows[b + 3]]
        line = np.empty(width * channels, np.float32)
        for q in range(line.size):
            s = w[p, 0] * float32(r0[q]) + w[p, 1] * float32(r1[q])
            s = s + w[p, 2] * float32(r2[q])
            s = s + w[p, 3] * float32(r3[q])
            line[q] = _rounded(s, lo, hi, signed, rounding)
        for c in range(channels):
            for x in range(width):
                out[c, t, x] = line[x * channels + c]


@numba.njit(parallel=True, cache=True, boundscheck=False, error_model="numpy")
def _second_axis(source, columns, weights, starts, out, lo, hi, signed, rounding):
    """``out[h, m*P + p, c] = round(sum_k weights[p, k] * source[c, h, columns[starts[p] + m + k]])``."""
    periods = weights.shape[0]
    channels, height = source.shape[0], source.shape[1]
    steps = out.shape[1] // periods
    w = weights
    for t in prange(channels * height):
        c, h = t // height, t % height
        row = source[c, h]
        padded = np.empty(columns.size, np.float32)
        for x in range(columns.size):
            padded[x] = row[columns[x]]
        flat = out[h].ravel()
        line = np.empty(steps, np.float32)
        for p in range(periods):
            r = padded[starts[p]:]
            for m in range(steps):
                s = w[p, 0] * r[m] + w[p, 1] * r[m + 1]
                s = s + w[p, 2] * r[m + 2]
                s = s + w[p, 3] * r[m + 3]
                line[m] = _rounded(s, lo, hi, signed, rounding)
            for m in range(steps):
                flat[(m * periods + p) * channels + c] = line[m]


def enlarge(image, rows, columns, out_dtype):
    """``image`` ``(H, W, C)`` enlarged along H then W; integers rounded after each axis as MATLAB does.

    ``rows`` and ``columns`` are ``(weights (P, 4) float32, starts (P,), source index of each
    padded position)`` of each axis (see ``resize._integer_enlargement``).
    """
    height, width, channels = image.shape
    rounding = np.issubdtype(out_dtype, np.integer)
    info = np.iinfo(out_dtype) if rounding else np.finfo(np.float32)
    lo, hi, signed = np.float32(info.min), np.float32(info.max), info.min < 0
    (h_weights, h_starts, h_index), (w_weights, w_starts, w_index) = rows, columns
    middle = np.empty((channels, height * len(h_weights), width), np.float32)
    out = np.empty((middle.shape[1], width * len(w_weights), channels), out_dtype)
    with _LAUNCH:
        _first_axis(image.reshape(height, width * channels), h_index, h_weights, h_starts, middle, lo, hi, signed,
                    rounding)
        _second_axis(middle, w_index, w_weights, w_starts, out, lo, hi, signed, rounding)
    return out


@numba.njit(parallel=True, cache=True, boundscheck=False, error_model="numpy")
def _ycbcr_sweep(y, chroma, matrix, offsets, span, shift, lo, hi, rounding, out):
    """``out[h, w, r] = clip(round((sum_c matrix[r, c] * ycc[c] + offsets[r]) * span + shift), lo, hi)``.

    Each product and sum a separate float32 operation, in ``color._mix``'s and
    ``UnitScale.restore``'s order (numba does not fuse them without fastmath).
    """
    for h in prange(out.shape[0]):
        for w in range(out.shape[1]):
            c0, c1, c2 = y[h, w], chroma[h, w, 0], chroma[h, w, 1]
            for r in range(3):
                v = c0 * matrix[r, 0]
                v = v + c1 * matrix[r, 1]
                v = v + c2 * matrix[r, 2]
                v = v + offsets[r]
                v = v * span
                if shift != 0:  # as restore: adding 0 would turn -0.0 into 0.0
                    v = v + shift
                if rounding:
                    v = np.rint(v)  # halves to even, as np.round
                v = v if v > lo else lo
                out[h, w, r] = v if v < hi else hi


def ycbcr_to_levels(y, chroma, matrix, offsets, restore):
    """RGB in the image's values of float32 luma ``y`` ``(H, W)`` and chroma ``(H, W, 2)``.

    ``restore`` is ``(span, shift, low, high, dtype)``: values are ``rgb * span + shift``,
    rounded for an integer ``dtype``, inside ``[low, high]``.
    """
    span, shift, low, high, dtype = restore
    out = np.empty((*y.shape, 3), dtype)
    f32 = np.float32
    with _LAUNCH:
        _ycbcr_sweep(y, chroma, matrix.astype(f32), offsets.astype(f32), f32(span), f32(shift), f32(low), f32(high),
                     np.issubdtype(dtype, np.integer), out)
    return out
