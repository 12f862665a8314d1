"""ITU-R BT.601 YCbCr ("studio swing", Y in 16-235) in the [0, 1] scale.

The colour space of the published super-resolution protocol.
"""

import numpy as np

_RGB_TO_YCBCR = np.array(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]
) / 255.0
_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)


def _unit(rgb):
    rgb = np.asarray(rgb)
    if np.issubdtype(rgb.dtype, np.integer):
        return rgb / np.iinfo(rgb.dtype).max
    return rgb.astype(np.float64)


def rgb_to_ycbcr(rgb):
    """YCbCr in [0, 1] of an RGB image (last axis); integers are scaled by their dtype's max."""
    return _unit(rgb) @ _RGB_TO_YCBCR.T + _OFFSET


def ycbcr_to_rgb(ycbcr):
    """Inverse of :func:`rgb_to_ycbcr`, float RGB in [0, 1] (not clipped)."""
    return (np.asarray(ycbcr, dtype=np.float64) - _OFFSET) @ _YCBCR_TO_RGB.T


def gray_to_luma(gray):
    """Y of a gray pixel seen as R = G = B; maps [0, 1] onto [16, 235] / 255."""
    return _OFFSET[0] + _RGB_TO_YCBCR[0].sum() * gray


def luma_to_gray(y):
    """Gray in [0, 1] of a luma ``y``: the inverse of :func:`gray_to_luma`."""
    return (y - _OFFSET[0]) / _RGB_TO_YCBCR[0].sum()
