"""Denoising of numpy images, one call for all methods.

Classical baselines from scikit-image work on the image scaled to [0, 1] (see
:class:`UnitScale`) with the noise level ``sigma`` given in the image's own units,
or estimated from it. The per-image fitting methods, Noise2Void and Deep Image
Prior, need no noise level: they learn from the image itself.
"""

from __future__ import annotations

import math

import numpy as np

from ._arrays import UnitScale, check_image, check_memory, plane_layout, run_to_end, to_planes
from ._deprecation import method_by_keyword
from .lazy import channels_last, is_lazy, iter_map_planes

CLASSICAL = ("nlm", "tv", "wavelet", "bilateral")
# Context each output pixel of a classical method depends on (search window plus
# patch radius; the bilateral window); TV and BayesShrink are global: whole planes.
CLASSICAL_HALO = {"nlm": 6 + 2, "bilateral": 5, "tv": None, "wavelet": None}
CLASSICAL_BLOCK = 1024
# float64 copies of a block (per channel) each classical method holds at its peak, measured on 256² and 768² planes.
WORKING_COPIES = {"nlm": 8, "tv": 14, "wavelet": 7, "bilateral": 6}
ESTIMATE_COPIES = 3  # float64 copies of a channel the noise estimate holds (the channel and its wavelet bands)
MIN_SIDE = 5  # non-local means compares 5x5 patches: smaller planes are mirrored up to this size
FITTED = ("n2v", "dip")  # trained on the image itself: slow, yield FitSteps with previews


def available_denoisers():
    """Method names: the classical ones, the trained blind denoisers found in the weights, the fitted ones, saved ones.

    A trained denoiser is a model card of scale 1 (e.g. ``dncnn``); a saved one, a
    Noise2Void model saved in a weights folder (``fit_noise2void(..., save_to=...)``).
    """
    from .models.registry import saved_fits

    taken = CLASSICAL + _learned_denoisers() + FITTED
    return taken + tuple(sorted(set(saved_fits("noise2void")) - set(taken)))


def _learned_denoisers():
    from .models import list_models

    return tuple(sorted({card.method for card in list_models().values() if card.task == "denoise"}))


def estimate_noise(image, *, channel_axis=None):
    """Standard deviation of Gaussian noise in ``image``, in the image's units.

    The wavelet-based robust estimator of Donoho and Johnstone
    (``skimage.restoration.estimate_sigma``), averaged over channels and planes.
    A flat channel (one value throughout, such as a black frame in a stack or an
    empty colour channel) has no noise to measure and is left out of the mean; an
    image flat throughout has σ 0. For a dask or zarr array, the estimate is that of
    its first plane that is not flat (not a pass over all the data).

    Examples
    --------
    >>> import numpy as np
    >>> noisy = np.random.default_rng(0).normal(100, 10, (2, 256, 256))
    >>> noisy[1] = 0  # a black frame
    >>> round(estimate_noise(noisy))
    10
    >>> estimate_noise(np.zeros((8, 8)))
    0.0
    """
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "estimate the noise of")
    return _estimate_noise(image, channel_axis)


def _estimate_noise(image, channel_axis):
    """:func:`estimate_noise` of an image already checked by :func:`check_image`."""
    _, h, w, channels = plane_layout(image, channel_axis)
    plane_bytes = h * w * channels * image.dtype.itemsize if is_lazy(image) else 0  # a lazy plane is computed
    check_memory(plane_bytes + ESTIMATE_COPIES * 8 * h * w, f"estimating the noise of {h}x{w} planes")
    planes = _lazy_planes(image, channel_axis) if is_lazy(image) else to_planes(image, channel_axis)[0]
    sigmas = []
    for plane in planes:
        sigmas += [sigma for sigma in map(_channel_noise, np.moveaxis(plane, -1, 0)) if sigma is not None]
        if sigmas and is_lazy(image):
            break
    return float(np.mean(sigmas)) if sigmas else 0.0


def _channel_noise(channel):
    """σ of one ``(H, W)`` channel, or None when it is flat: no noise to measure."""
    from skimage.restoration import estimate_sigma

    if channel.min() == channel.max():
        return None
    sigma = estimate_sigma(channel.astype(np.float64))
    return sigma if np.isfinite(sigma) else None  # no non-zero wavelet detail: nothing to measure either


@method_by_keyword
def denoise(image, *, method="nlm", sigma=None, channel_axis=None, **options):
    """Remove noise from an image.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``); leading
        axes are denoised plane by plane. dtype and range are kept.
    method : str or Path
        One of :func:`available_denoisers`: non-local means ('nlm'), total
        variation ('tv', Chambolle), wavelet BayesShrink ('wavelet'), 'bilateral';
        a trained blind denoiser ('dncnn', when its weights are installed); 'n2v',
        Noise2Void self-supervised training on the image
        (:func:`~napari_superres.noise2void.iter_fit_noise2void`, 2D or 3D); Deep
        Image Prior with early stopping (:func:`~napari_superres.dip.iter_fit_dip`);
        a Noise2Void model trained before: the path of its card or its name in a
        weights folder (:func:`~napari_superres.noise2void.apply_noise2void`: no
        training, seconds; ``device`` is its only option).
    sigma : float, optional
        Noise standard deviation in the image's units, for the classical methods
        and the trained denoisers that take a noise level (FDnCNN, DRUNet: they see
        it in the [0, 1] units of the image, so σ 25 of a uint8 image is their 25/255);
        by default :func:`estimate_noise` of the whole image. Flat planes and
        channels (one value throughout) come back unchanged.
    channel_axis : int, optional
        Axis of colour channels, denoised jointly.
    **options
        Settings of 'n2v' or 'dip' (iterations, device, seed, ...), or of a trained
        denoiser (device, tile, value_range, precision, threads: see :func:`~napari_superres.upscale`).

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> clean = data.camera()[:128, :128]
    >>> noisy = np.clip(clean + np.random.default_rng(0).normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    >>> denoise(noisy, method="tv").dtype
    dtype('uint8')
    """
    return run_to_end(iter_denoise(image, method=method, sigma=sigma, channel_axis=channel_axis, **options))


@method_by_keyword
def iter_denoise(image, *, method="nlm", sigma=None, channel_axis=None, **options):
    """Step-by-step form of :func:`denoise`: a generator yielding progress, returning the result.

    Classical methods yield the fraction of planes done; 'n2v' and 'dip' yield a
    :class:`~napari_superres._fitting.FitStep` per iteration, with previews.
    The arguments are checked when this is called, before any work.
    """
    if method not in CLASSICAL + FITTED and method not in _learned_denoisers():  # listing them loads torch
        if _is_saved_noise2void(method):
            return _apply_saved_noise2void(image, method, sigma, channel_axis, options)
        raise ValueError(f"unknown denoising method {method!r}; choose one of {', '.join(available_denoisers())} "
                         "or give the path of a saved Noise2Void model's card")
    if method == "n2v":
        from .noise2void import iter_fit_noise2void

        return iter_fit_noise2void(image, channel_axis=channel_axis, **options)
    if method == "dip":
        from .dip import iter_fit_dip

        return iter_fit_dip(image, "denoise", channel_axis=channel_axis, **options)
    if method not in CLASSICAL:
        # A trained denoiser is a scale-1 model: the SR code path runs it (tiles, devices, dtypes).
        from .upscale import iter_upscale

        unknown = set(options) - {"device", "tile", "value_range", "precision", "threads"}
        if unknown:
            raise TypeError(f"{method} takes only device, tile and value_range (and the speed settings precision "
                            f"and threads), not {sorted(unknown)}")
        return iter_upscale(image, 1, method=method, channel_axis=channel_axis,
                            noise_level=_model_noise_level(image, method, sigma, channel_axis), **options)
    if options:
        raise TypeError(f"{method} takes no options {sorted(options)}; only the trained and fitted methods do")
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "denoise")
    _check_sigma(sigma)
    _, h, w, _ = plane_layout(image, channel_axis)
    local = CLASSICAL_HALO[method] is not None  # else whole planes: one block a plane
    halo, block = (CLASSICAL_HALO[method], CLASSICAL_BLOCK) if local else (0, max(h, w))
    _check_classical_memory(image, method, channel_axis, block + 2 * halo)
    if sigma is None:
        sigma = _estimate_noise(image, channel_axis)
    return _denoise_steps(image, method, float(sigma), scale=1, halo=halo, channel_axis=channel_axis,
                          block=block)


def _is_saved_noise2void(method):
    from .noise2void import find_saved_model

    try:
        find_saved_model(method)
    except (ValueError, TypeError, OSError):  # TypeError, OSError: not a path at all
        return False
    return True


def _apply_saved_noise2void(image, model, sigma, channel_axis, options):
    from .noise2void import iter_apply_noise2void

    if sigma is not None or set(options) - {"device"}:
        given = sorted(set(options) - {"device"}) + ["sigma"] * (sigma is not None)
        raise TypeError(f"a saved Noise2Void model takes only device, not {given}")
    return iter_apply_noise2void(image, model, channel_axis=channel_axis, **options)


def _model_noise_level(image, method, sigma, channel_axis):
    """σ for a trained denoiser that takes a noise level map: ``sigma``, or the image's estimate; else None."""
    from .models import find_model

    if not find_model(method, 1).contract.takes_noise_level:
        return None
    _check_sigma(sigma)
    if sigma is not None:
        return float(sigma)
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "denoise")
    return _estimate_noise(image, channel_axis)


def _check_sigma(sigma):
    if sigma is not None and not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a noise level ≥ 0 in the image's units, got {sigma!r}")


def _check_classical_memory(image, method, channel_axis, block_side):
    """Refuse upfront what cannot fit: the numpy result and a block's working copies (a whole plane for tv, wavelet)."""
    count, h, w, channels = plane_layout(image, channel_axis)
    result = 0 if is_lazy(image) else math.prod((count, h, w, channels, image.dtype.itemsize))
    working = WORKING_COPIES[method] * 8 * min(h, block_side) * min(w, block_side) * channels
    check_memory(result + working, f"{method} denoising of {image.shape} ({image.dtype})")


def _denoise_steps(image, method, sigma, **blocks):
    values = UnitScale(image)
    unit_sigma = values.to_unit_length(sigma)

    def process(plane):
        unit = values.to_unit(plane)
        if unit_sigma > 0:
            flat = unit.min(axis=(0, 1)) == unit.max(axis=(0, 1))
            # A flat channel has no noise; wavelet's YCbCr would leak the others' into it.
            unit = np.where(flat, unit, _denoise_plane(unit, method, unit_sigma))
        return values.restore(unit)

    return (yield from iter_map_planes(process, image, **blocks))


def _lazy_planes(image, channel_axis):
    """The planes of a lazy stack, one ``(H, W, C)`` numpy array at a time."""
    stacked = channels_last(image, channel_axis)
    for index in np.ndindex(stacked.shape[:-3]):
        yield stacked[index].compute()


def _denoise_plane(unit, method, sigma):
    """Denoise an ``(H, W, C)`` plane in [0, 1] with noise ``sigma`` (same units)."""
    from skimage import restoration

    h, w = unit.shape[:2]
    if min(h, w) < MIN_SIDE:  # skimage's nlm and bilateral need more pixels than that
        pad = ((0, max(MIN_SIDE - h, 0)), (0, max(MIN_SIDE - w, 0)), (0, 0))
        return _denoise_plane(np.pad(unit, pad, mode="symmetric"), method, sigma)[:h, :w]
    color = unit.shape[-1] > 1
    axis = -1 if color else None
    plane = unit if color else unit[..., 0]
    if method == "nlm":
        # h = 0.8 sigma with the sigma-subtracting distance: scikit-image's recommendation.
        result = restoration.denoise_nl_means(plane, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5,
                                              patch_distance=6, channel_axis=axis)
    elif method == "tv":
        result = restoration.denoise_tv_chambolle(plane, weight=sigma, channel_axis=axis)
    elif method == "wavelet":
        result = restoration.denoise_wavelet(plane, sigma=sigma, method="BayesShrink", mode="soft",
                                             rescale_sigma=True, channel_axis=axis,
                                             convert2ycbcr=unit.shape[-1] == 3)
    else:  # bilateral: edges are differences well above the noise
        result = restoration.denoise_bilateral(plane, sigma_color=2 * sigma, sigma_spatial=1.5, channel_axis=axis)
    return result if color else result[..., None]
