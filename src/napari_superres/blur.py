"""Blur kernels (point spread functions) and the blur they make, for deblurring.

The blur is a convolution with mirrored borders (``scipy.ndimage`` ``mode='mirror'``, torch's
``'reflect'`` padding), so that :func:`blur` and the degradation Deep Image Prior fits through
(:func:`napari_superres.dip.fit_dip`, ``task='deblur'``) are the same operator.
"""

from __future__ import annotations

import math

import numpy as np


def gaussian_kernel(sigma, *, radius=None):
    """Normalised isotropic Gaussian kernel.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0.
    radius : int, optional
        Half the side; default ``ceil(3 sigma)``.

    Returns
    -------
    ndarray
        ``(2 radius + 1, 2 radius + 1)`` float64 summing to 1.

    Examples
    --------
    >>> gaussian_kernel(1.0).shape
    (7, 7)
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    radius = math.ceil(3 * sigma) if radius is None else int(radius)
    offsets = np.arange(-radius, radius + 1)
    profile = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def motion_kernel(length, angle=0.0):
    """Normalised linear motion blur: a segment of ``length`` pixels through the centre.

    The segment is sampled every tenth of a pixel and each sample spread over its four
    nearest pixels (bilinear), so that any angle gives a smooth line.

    Parameters
    ----------
    length : float
        Length of the motion in pixels, ≥ 1.
    angle : float
        Direction in degrees, counter-clockwise from the x axis (rows grow downwards).

    Returns
    -------
    ndarray
        Square float64 kernel of odd side summing to 1.

    Examples
    --------
    >>> kernel = motion_kernel(5)  # horizontal: all of it on the middle row
    >>> kernel.shape, round(float(kernel[4].sum()), 6)
    ((9, 9), 1.0)
    """
    if not length >= 1:
        raise ValueError(f"length must be ≥ 1 pixel, got {length!r}")
    radius = math.ceil(length / 2) + 1
    kernel = np.zeros((2 * radius + 1,) * 2)
    steps = np.linspace(-length / 2, length / 2, max(2, int(10 * length) + 1))
    rows = radius - steps * math.sin(math.radians(angle))
    cols = radius + steps * math.cos(math.radians(angle))
    top, left = np.floor(rows).astype(int), np.floor(cols).astype(int)
    down, right = rows - top, cols - left
    for dr, wr in ((0, 1 - down), (1, down)):
        for dc, wc in ((0, 1 - right), (1, right)):
            np.add.at(kernel, (top + dr, left + dc), wr * wc)
    return kernel / kernel.sum()


BLURS = ("gaussian", "motion")


def make_kernel(blur, size, angle=0.0):
    """The kernel of a blur named as the front ends name it.

    Parameters
    ----------
    blur : {'gaussian', 'motion'}
        Out of focus (:func:`gaussian_kernel`) or straight motion (:func:`motion_kernel`).
    size : float
        The Gaussian's sigma or the motion's length, in pixels.
    angle : float
        The motion's direction in degrees (ignored for a Gaussian).

    Examples
    --------
    >>> make_kernel("motion", 5, 90).shape
    (9, 9)
    """
    if blur == "gaussian":
        return gaussian_kernel(size)
    if blur == "motion":
        return motion_kernel(size, angle)
    raise ValueError(f"unknown blur {blur!r}; choose one of {', '.join(BLURS)}")


def check_kernel(kernel):
    """The kernel as float64 normalised to sum 1; refuses what is no 2D odd-sided non-negative kernel."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or not all(n % 2 for n in kernel.shape):
        raise ValueError(f"kernel must be 2D with odd sides (a centre pixel), got shape {kernel.shape}")
    if not np.isfinite(kernel).all() or (kernel < 0).any() or kernel.sum() <= 0:
        raise ValueError("kernel must be finite and non-negative with a positive sum")
    return kernel / kernel.sum()


def blur(image, kernel, *, channel_axis=None):
    """Convolve each plane (and channel) of ``image`` with ``kernel``, mirrored at the borders.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)``, with a colour axis if ``channel_axis`` is given.
    kernel : ndarray
        2D, odd sides, non-negative; normalised to sum 1.
    channel_axis : int, optional
        Colour axis (not blurred across).

    Returns
    -------
    ndarray
        Float (float32 stays float32, else float64) in the image's units, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> point = np.zeros((9, 9)); point[4, 4] = 1
    >>> np.allclose(blur(point, motion_kernel(3))[1:8, 1:8], motion_kernel(3))
    True
    """
    from scipy import ndimage

    kernel = check_kernel(kernel)
    image = np.asarray(image)
    dtype = np.float32 if image.dtype == np.float32 else np.float64
    if any(n <= n_k // 2 for n, n_k in zip(_plane_shape(image, channel_axis), kernel.shape, strict=True)):
        raise ValueError(f"image planes must be larger than the kernel's radius, got {image.shape} "
                         f"and kernel {kernel.shape}")
    moved = np.moveaxis(image, channel_axis, 0) if channel_axis is not None else image[None]
    planes = moved.reshape((-1,) + moved.shape[-2:]).astype(dtype)
    out = np.stack([ndimage.convolve(plane, kernel.astype(dtype), mode="mirror") for plane in planes])
    out = out.reshape(moved.shape)
    return np.moveaxis(out, 0, channel_axis) if channel_axis is not None else out[0]


def _plane_shape(image, channel_axis):
    shape = list(image.shape)
    if channel_axis is not None:
        del shape[channel_axis]
    if len(shape) < 2:
        raise ValueError(f"image must have two spatial axes, got shape {image.shape}")
    return shape[-2:]
