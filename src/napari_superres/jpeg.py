"""Removal of JPEG compression artefacts (blocks, ringing) from numpy images."""

from __future__ import annotations

from ._arrays import run_to_end
from ._deprecation import method_by_keyword
from ._restorers import iter_apply_restorer, trained_methods

FITTED = ("dip",)


def available_jpeg_methods():
    """Method names: the trained JPEG artefact removers in the weights folders, then Deep Image Prior."""
    return trained_methods("jpeg") + FITTED


@method_by_keyword
def remove_jpeg_artifacts(image, *, method="dncnn_jpeg", channel_axis=None, **options):
    """Remove the blocking and ringing of JPEG compression from a decoded image.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``), as
        decoded from the JPEG file; leading axes are processed plane by plane. dtype
        and range are kept.
    method : str
        One of :func:`available_jpeg_methods`: a trained artefact remover (e.g.
        'dncnn_jpeg', blind: qualities 10-90; each colour channel is cleaned as a
        gray plane), or 'dip', Deep Image Prior with early stopping
        (:func:`~napari_superres.dip.iter_fit_dip`, task 'jpeg'; slow).
    channel_axis : int, optional
        Axis of colour channels.
    **options
        A trained model: device, tile, value_range, precision, threads (see
        :func:`~napari_superres.upscale`); 'dip': its settings (iterations, device, seed, ...).

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skimage import data
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(data.camera()[:64, :64]).save(buffer, format="JPEG", quality=20)
    >>> decoded = np.asarray(Image.open(buffer))
    >>> remove_jpeg_artifacts(decoded, method="dncnn_jpeg").dtype
    dtype('uint8')
    """
    return run_to_end(iter_remove_jpeg_artifacts(image, method=method, channel_axis=channel_axis, **options))


@method_by_keyword
def iter_remove_jpeg_artifacts(image, *, method="dncnn_jpeg", channel_axis=None, **options):
    """Step-by-step form of :func:`remove_jpeg_artifacts`: a generator yielding progress, returning the result.

    A trained model yields the fraction of blocks done; 'dip' a
    :class:`~napari_superres._fitting.FitStep` per iteration. The arguments are
    checked when this is called, before any work.
    """
    if method == "dip":
        from .dip import iter_fit_dip

        return iter_fit_dip(image, "jpeg", channel_axis=channel_axis, **options)
    if method not in trained_methods("jpeg"):
        raise ValueError(f"unknown JPEG artefact removal method {method!r}; choose one of "
                         f"{', '.join(available_jpeg_methods())}")
    return iter_apply_restorer(image, method, "jpeg", "remove JPEG artefacts from", channel_axis, **options)
