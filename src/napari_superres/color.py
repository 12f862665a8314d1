"""ITU-R BT.601 YCbCr ("studio swing", Y in 16-235) in the [0, 1] scale.

The colour space of the published super-resolution protocol.
"""

import numpy as np

_RGB_TO_YCBCR = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]
) / 255.0
_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)
_YCBCR_TO_RGB_OFFSET = -_YCBCR_TO_RGB @ _OFFSET  # float32 conversions: rgb = matrix @ ycbcr + this


def _unit(rgb):
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        return rgb / np.iinfo(rgb.dtype).max
    return rgb.astype(np.float64)


def rgb_to_ycbcr(rgb):
    """YCbCr in [0, 1] of an RGB image (last axis); integers are scaled by their dtype's max.

    float32 in, float32 out; anything else in float64.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype == np.float32:
        return _mix(rgb, _RGB_TO_YCBCR, _OFFSET)
    return _unit(rgb) @ _RGB_TO_YCBCR.T + _OFFSET


def ycbcr_to_rgb(ycbcr):
    """Inverse of :func:`rgb_to_ycbcr`, float RGB in [0, 1] (not clipped); float32 stays float32."""
    ycbcr = np.asarray(ycbcr)
    if ycbcr.dtype == np.float32:
        return _mix(ycbcr, _YCBCR_TO_RGB, _YCBCR_TO_RGB_OFFSET)
    return (np.asarray(ycbcr, dtype=np.float64) - _OFFSET) @ _YCBCR_TO_RGB.T


def _mix(pixels, matrix, offset):
    """``pixels @ matrix.T + offset`` in float32, channel by channel.

    Elementwise, so that a pixel's value never depends on how many pixels are
    converted with it (a matrix product's blocking may round differently).
    """
    matrix, offset = matrix.astype(np.float32), offset.astype(np.float32)
    channels = [pixels[..., c] for c in range(3)]
    out = np.empty((3, *pixels.shape[:-1]), np.float32)  # a contiguous plane per channel
    for row in range(3):
        mixed = np.multiply(channels[0], matrix[row, 0], out=out[row])
        for c in (1, 2):
            mixed += channels[c] * matrix[row, c]
        mixed += offset[row]
    return np.moveaxis(out, 0, -1)


def luma_chroma_to_rgb(y, chroma, values=None):
    """RGB of luma ``y`` ``(H, W, 1)`` and chroma ``(H, W, 2)``, both in [0, 1].

    ``values``: a :class:`~napari_superres._arrays.UnitScale`; the RGB comes back in the
    image's values and dtype, as ``values.restore(rgb)`` would give it, byte for byte. Where
    the compiled kernels are loaded that is one sweep instead of some twenty numpy passes.
    """
    from .resize import loaded_kernels

    kernels = loaded_kernels()
    restore = None if values is None else values.float32_restore()
    if kernels is not None and restore is not None and y.dtype == chroma.dtype == np.float32:
        return kernels.ycbcr_to_levels(y[..., 0], chroma, _YCBCR_TO_RGB, _YCBCR_TO_RGB_OFFSET, restore)
    rgb = ycbcr_to_rgb(join_channels(y, chroma))
    return rgb if values is None else values.restore(rgb)


def join_channels(*parts):
    """``np.dstack(parts)`` of ``(H, W, k)`` arrays, stored channel by channel.

    The result is the same ``(H, W, C)`` array, but each of its channels is one
    contiguous plane, which per-channel arithmetic (:func:`ycbcr_to_rgb`) runs through
    several times faster than through pixels interleaved.
    """
    planes = [part[..., c] for part in parts for c in range(part.shape[-1])]
    out = np.empty((len(planes), *planes[0].shape), np.result_type(*parts))
    for channel, plane in zip(out, planes, strict=True):
        channel[...] = plane
    return np.moveaxis(out, 0, -1)


def gray_to_luma(gray):
    """Y of a gray pixel seen as R = G = B; maps [0, 1] onto [16, 235] / 255."""
    return _OFFSET[0] + _RGB_TO_YCBCR[0].sum() * gray


def luma_to_gray(y):
    """Gray in [0, 1] of a luma ``y``: the inverse of :func:`gray_to_luma`."""
    return (y - _OFFSET[0]) / _RGB_TO_YCBCR[0].sum()
