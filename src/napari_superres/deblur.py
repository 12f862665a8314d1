"""Deblurring of numpy images, one call for all methods.

With a known blur kernel (point spread function, see :mod:`napari_superres.blur`):
Wiener and Richardson-Lucy deconvolution (scikit-image) and Deep Image Prior fitted
through the blur. Without one: a trained blind deblurrer (Gaussian and motion blur),
when its weights are installed.
"""

from __future__ import annotations

import numpy as np

from ._arrays import UnitScale, check_image, check_memory, plane_layout, run_to_end
from ._deprecation import method_by_keyword
from ._restorers import iter_apply_restorer, trained_methods
from .blur import check_kernel
from .lazy import iter_map_planes

CLASSICAL = ("richardson-lucy", "wiener")
FITTED = ("dip",)
CLASSICAL_DEFAULTS = {"richardson-lucy": {"iterations": 30}, "wiener": {"balance": 0.03}}
# float64 copies of a channel at the peak of a deconvolution, measured (tracemalloc) on 256²-768²:
# Richardson-Lucy 7.4-8.1, Wiener 5.0; the plane's unit copy and result add two per channel.
WORKING_COPIES = 9


def available_deblurrers():
    """Method names: the classical deconvolutions, the trained blind deblurrers in the weights, Deep Image Prior."""
    return CLASSICAL + trained_methods("deblur") + FITTED


@method_by_keyword
def deblur(image, *, method="richardson-lucy", kernel=None, channel_axis=None, **options):
    """Remove blur from an image.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``); leading
        axes are deblurred plane by plane. dtype and range are kept.
    method : str
        One of :func:`available_deblurrers`: 'richardson-lucy' or 'wiener'
        (deconvolution by ``kernel``, each channel on its own); a trained blind
        deblurrer (e.g. 'dncnn_deblur', for Gaussian and motion blur: no kernel);
        'dip', Deep Image Prior fitted through ``kernel``
        (:func:`~napari_superres.dip.iter_fit_dip`, task 'deblur').
    kernel : ndarray, optional
        The blur's point spread function, 2D with odd sides (normalised to sum 1):
        :func:`~napari_superres.blur.make_kernel`. Needed by all but the blind methods.
    channel_axis : int, optional
        Axis of colour channels.
    **options
        'richardson-lucy': ``iterations`` (30); 'wiener': ``balance`` (0.03, the
        regularisation: higher is smoother); 'dip': its settings (iterations, device,
        seed, ...); a trained model: device, tile, value_range, precision, threads
        (see :func:`~napari_superres.upscale`).

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from napari_superres.blur import blur, gaussian_kernel
    >>> kernel = gaussian_kernel(1.5)
    >>> blurred = np.round(blur(data.camera()[:64, :64], kernel)).astype(np.uint8)
    >>> deblur(blurred, method="wiener", kernel=kernel).dtype
    dtype('uint8')
    """
    return run_to_end(iter_deblur(image, method=method, kernel=kernel, channel_axis=channel_axis, **options))


@method_by_keyword
def iter_deblur(image, *, method="richardson-lucy", kernel=None, channel_axis=None, **options):
    """Step-by-step form of :func:`deblur`: a generator yielding progress, returning the result.

    The classical and trained methods yield the fraction of blocks done; 'dip'
    yields a :class:`~napari_superres._fitting.FitStep` per iteration. The
    arguments are checked when this is called, before any work.
    """
    if method not in CLASSICAL + FITTED:
        if method not in trained_methods("deblur"):
            raise ValueError(f"unknown deblurring method {method!r}; choose one of "
                             f"{', '.join(available_deblurrers())}")
        if kernel is not None:
            raise TypeError(f"{method} is a blind deblurrer: it takes no kernel (use 'wiener', 'richardson-lucy' "
                            "or 'dip' for a known one)")
        return iter_apply_restorer(image, method, "deblur", "deblur", channel_axis, **options)
    if kernel is None:
        raise ValueError(f"{method} needs the blur's kernel (napari_superres.blur.make_kernel); "
                         f"the trained blind deblurrers ({', '.join(trained_methods('deblur')) or 'none installed'})"
                         " do not")
    if method == "dip":
        from .dip import iter_fit_dip

        return iter_fit_dip(image, "deblur", kernel=kernel, channel_axis=channel_axis, **options)
    return _classical_steps(image, method, check_kernel(kernel), channel_axis, options)


def _classical_steps(image, method, kernel, channel_axis, options):
    unknown = set(options) - set(CLASSICAL_DEFAULTS[method])
    if unknown:
        raise TypeError(f"{method} takes only {', '.join(CLASSICAL_DEFAULTS[method])}, not {sorted(unknown)}")
    settings = {**CLASSICAL_DEFAULTS[method], **options}
    image = np.asarray(image)
    check_image(image, channel_axis, "deblur")
    count, h, w, channels = plane_layout(image, channel_axis)
    if min(h, w) <= max(kernel.shape) // 2:
        raise ValueError(f"image planes must be larger than the kernel's radius, got {h}x{w} and kernel "
                         f"{kernel.shape}")
    check_memory(image.nbytes + (WORKING_COPIES + 2 * channels) * 8 * h * w,
                 f"{method} deblurring of {image.shape} ({image.dtype})")
    return _deconvolution_steps(image, method, kernel, channel_axis, settings, block=max(h, w))


def _deconvolution_steps(image, method, kernel, channel_axis, settings, block):
    values = UnitScale(image)

    def process(plane):
        unit = values.to_unit(plane)
        channels_out = [_deconvolve(unit[..., c], kernel, method, settings) for c in range(unit.shape[-1])]
        return values.restore(np.stack(channels_out, axis=-1))

    return (yield from iter_map_planes(process, image, scale=1, halo=0, channel_axis=channel_axis, block=block))


def _deconvolve(channel, kernel, method, settings):
    """One ``(H, W)`` channel in [0, 1] deconvolved by ``kernel``."""
    from skimage import restoration

    if method == "wiener":
        return restoration.wiener(channel, kernel, balance=settings["balance"], clip=False)
    return restoration.richardson_lucy(channel, kernel, num_iter=int(settings["iterations"]), clip=False)
