"""Image quality metrics, including the published super-resolution protocol.

The protocol: PSNR and SSIM on the Y channel of BT.601 YCbCr with a border of ``scale`` pixels
shaved off each side.
"""

from __future__ import annotations

import numpy as np

from .color import rgb_to_ycbcr


def _prepare(image, crop_border, y_channel, channel_axis):
    image = np.asarray(image)
    if y_channel and channel_axis is not None:
        rgb = np.moveaxis(image, channel_axis, -1)[..., :3]
        # Y in the 0-255 scale, whatever the input dtype.
        image = rgb_to_ycbcr(rgb)[..., 0] * 255
        channel_axis = None
    image = image.astype(np.float64)
    if crop_border:
        spatial = [a for a in range(image.ndim) if channel_axis is None or a != channel_axis % image.ndim]
        index = [slice(None)] * image.ndim
        for a in spatial[-2:]:
            index[a] = slice(crop_border, image.shape[a] - crop_border)
        image = image[tuple(index)]
    return image, channel_axis


def _data_range(reference, data_range, y_channel):
    if data_range is not None:
        return data_range
    if y_channel:
        return 255.0
    reference = np.asarray(reference)
    if np.issubdtype(reference.dtype, np.integer):
        info = np.iinfo(reference.dtype)
        return float(info.max - info.min)
    return 1.0


def psnr(reference, image, *, data_range=None, crop_border=0, y_channel=False, channel_axis=None):
    """Peak signal-to-noise ratio in dB.

    Parameters
    ----------
    reference, image : ndarray
        Ground truth and the image to score, of equal shape.
    data_range : float, optional
        Peak value; by default the dtype's range for integers, 1 for floats and
        255 on the Y channel.
    crop_border : int
        Pixels shaved off each side of the two spatial axes (the SR protocol
        shaves ``scale`` pixels).
    y_channel : bool
        Score the BT.601 luma (0-255 scale) of RGB images (needs ``channel_axis``).
    channel_axis : int, optional
        Axis of colour channels.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8)); b = a + 0.1
    >>> round(psnr(a, b), 2)
    20.0
    """
    peak = _data_range(reference, data_range, y_channel)
    ref, _ = _prepare(reference, crop_border, y_channel, channel_axis)
    img, _ = _prepare(image, crop_border, y_channel, channel_axis)
    if ref.shape != img.shape:
        raise ValueError(f"shapes differ: {ref.shape} and {img.shape}")
    mse = np.mean((ref - img) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


def ssim(reference, image, *, data_range=None, crop_border=0, y_channel=False, channel_axis=None):
    """Structural similarity as in Wang et al. (2004): Gaussian window, σ = 1.5.

    Same arguments as :func:`psnr`.
    """
    from skimage.metrics import structural_similarity

    peak = _data_range(reference, data_range, y_channel)
    ref, axis = _prepare(reference, crop_border, y_channel, channel_axis)
    img, _ = _prepare(image, crop_border, y_channel, channel_axis)
    return float(
        structural_similarity(
            ref, img, data_range=peak, channel_axis=axis,
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        )
    )


def sr_scores(hr, sr, scale, *, channel_axis=None):
    """``(psnr, ssim)`` by the published SR protocol: Y channel (for RGB), shave ``scale``.

    Images are ``(H, W)`` or channels-last ``(H, W, C)``; ``hr`` is cropped to
    ``sr``'s size ("modcrop").
    """
    if channel_axis not in (None, -1, 2):
        raise ValueError("sr_scores takes channels-last images")
    sr = np.asarray(sr)
    hr = np.asarray(hr)[: sr.shape[0], : sr.shape[1]]
    rgb = channel_axis is not None
    kwargs = dict(crop_border=scale, y_channel=rgb, channel_axis=channel_axis)
    return psnr(hr, sr, **kwargs), ssim(hr, sr, **kwargs)


def temporal_flicker(stack, *, static=None, channel_axis=None):
    """Mean absolute difference between consecutive frames, over the pixels that should not change.

    Parameters
    ----------
    stack : ndarray
        ``(T, H, W)`` or ``(T, H, W, C)`` with ``channel_axis``.
    static : ndarray of bool, optional
        ``(H, W)``: the pixels where the scene does not move (all by default), so
        that every difference left there is flicker.
    channel_axis : int, optional
        Colour axis; differences are averaged over channels.

    Returns
    -------
    float
        In the stack's units.

    Examples
    --------
    >>> import numpy as np
    >>> temporal_flicker(np.array([[[0.0]], [[1.0]], [[0.5]]]))
    0.75
    """
    stack = np.asarray(stack, dtype=np.float64)
    if channel_axis is not None:
        stack = np.moveaxis(stack, channel_axis, -1).mean(axis=-1)
    difference = np.abs(np.diff(stack, axis=0))
    if static is not None:
        difference = difference[:, np.asarray(static, bool)]
    return float(difference.mean())
