"""Where to trust a restoration: per-pixel consistency and uncertainty maps, numpy in, numpy out.

- :func:`backprojection_residual`: a super-resolved image shrunk back with the
  MATLAB-exact bicubic that makes low-resolution images
  (:func:`~napari_superres.resize.imresize`) should give its input again; where it
  does not, the result disagrees with the data it was made from.
- :func:`augmentation_spread`: a learned model is not exactly equivariant to flips
  and quarter turns; the spread of its results over the 8 flips and turns of the
  input (each turned back) is large where the model is unsure (test-time
  augmentation; its mean is the "self-ensemble" result).
- :func:`seed_spread`: fits from scratch (Deep Image Prior, Noise2Void) from
  several random seeds disagree where the data leave the result open.
- :func:`sample_upscale`, :func:`sample_spread`: a variational model (``vae_sr``)
  draws its latent map from its prior, one plausible output a seed; the spread of
  several draws is where the input leaves the output open.

``benchmarks/uncertainty.py`` measures how well the maps rank the true error.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._arrays import cast_into, check_image, check_memory, run_to_end, spatial_shape, to_planes

# The dihedral group of the square: quarter turns 0-3, each with and without a flip of X.
TURNS = tuple(itertools.product(range(4), (False, True)))


def backprojection_residual(result, lowres, scale, *, channel_axis=None):
    """``|imresize(result, 1/scale) - lowres|`` per low-resolution pixel: where a result disagrees with its input.

    Parameters
    ----------
    result : ndarray
        The super-resolved image, ``(..., H * scale, W * scale)`` with the layout of
        ``lowres`` (same leading axes and channel axis).
    lowres : ndarray
        The image it was made from, ``(..., H, W)``.
    scale : int
        The enlargement.
    channel_axis : int, optional
        The colour axis of both; the residual is averaged over the channels.

    Returns
    -------
    ndarray
        float64, ``lowres``'s shape without its channel axis, in ``lowres``'s units: on
        the low-resolution grid (it overlays the input, and the result made from it).

    Raises
    ------
    ValueError
        For sides that are not ``scale`` times those of ``lowres``, or NaN or
        infinite values.

    Examples
    --------
    >>> from skimage import data
    >>> from napari_superres import imresize, upscale
    >>> lowres = imresize(data.camera()[:128, :128], 1 / 4)
    >>> residual = backprojection_residual(upscale(lowres, 4, method="bicubic"), lowres, 4)
    >>> residual.shape, bool(residual.mean() < 5)
    ((32, 32), True)
    """
    from .resize import imresize

    result, lowres = np.asarray(result), np.asarray(lowres)
    check_image(result, channel_axis, "measure")
    check_image(lowres, channel_axis, "measure")
    small, big = spatial_shape(lowres, channel_axis), spatial_shape(result, channel_axis)
    if big != small[:-2] + tuple(side * scale for side in small[-2:]):
        raise ValueError(f"the result's spatial shape {big} is not x{scale} that of the input {small}")
    results, _ = to_planes(result, channel_axis)
    inputs, unstack = to_planes(lowres, channel_axis)
    # The residual, and float64 copies of a result plane and of it shrunk.
    check_memory(8 * (inputs[..., 0].size + results[0].size + inputs[0].size),
                 f"the back-projection residual of {result.shape}")
    residual = np.empty(inputs.shape[:-1] + (1,))
    for index, (big_plane, small_plane) in enumerate(zip(results, inputs, strict=True)):
        shrunk = imresize(big_plane.astype(np.float64), output_shape=small_plane.shape[:2], channel_axis=-1)
        residual[index, ..., 0] = np.abs(shrunk - small_plane).mean(axis=-1)
    return unstack(residual) if channel_axis is None else unstack(residual).squeeze(channel_axis)


def augmentation_spread(image, restore, *, channel_axis=None):
    """The mean and per-pixel spread of ``restore`` over the 8 flips and quarter turns of ``image``.

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)``, with an optional colour axis.
    restore : callable
        Takes an image of ``image``'s layout (its H and W swapped by odd turns) and
        returns its restored image (e.g. ``lambda x: upscale(x, 4, method="espcn")``),
        whose last two spatial axes follow the input's turns.
    channel_axis : int, optional
        The colour axis of ``image`` and of the results; the spread is averaged over it.

    Returns
    -------
    mean : ndarray
        The mean of the 8 results turned back, in the results' dtype (the
        self-ensemble).
    spread : ndarray
        float64 standard deviation of the 8 results per pixel, in the results' units,
        without the channel axis.

    Examples
    --------
    >>> from skimage import data
    >>> from napari_superres import denoise
    >>> mean, spread = augmentation_spread(data.camera()[:64, :64], lambda x: denoise(x, method="tv"))
    >>> mean.shape, spread.shape, mean.dtype
    ((64, 64), (64, 64), dtype('uint8'))
    """
    return run_to_end(iter_augmentation_spread(image, lambda turned: _returned(restore(turned)),
                                               channel_axis=channel_axis))


def iter_augmentation_spread(image, iter_restore, *, channel_axis=None):
    """Step-by-step form of :func:`augmentation_spread`: ``iter_restore`` returns a task generator.

    E.g. ``lambda x: iter_upscale(x, 4, method="espcn")``. Yields the fraction done
    (of the 8 runs and within each), returns ``(mean, spread)``.
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "restore")
    axes = _plane_axes(image.ndim, channel_axis)
    return _spread_steps(image, iter_restore, axes, channel_axis)


def _spread_steps(image, iter_restore, axes, channel_axis):
    def turned_back(turns, flip):
        def back(result):
            back = np.rot90(result, -turns, axes)
            return np.flip(back, axes[1]) if flip else back

        turned = np.rot90(np.flip(image, axes[1]) if flip else image, turns, axes)
        return iter_restore(np.ascontiguousarray(turned)), back

    return (yield from _mean_and_spread((turned_back(*turn) for turn in TURNS), len(TURNS), channel_axis))


def _mean_and_spread(runs, count, channel_axis):
    """Mean and spread of ``count`` runs: ``runs`` yields ``(task generator, map of its result)`` one at a time."""
    mean = squares = dtype = None
    for done, (steps, back) in enumerate(runs):
        while True:
            try:
                step = next(steps)
            except StopIteration as finished:
                result = np.asarray(finished.value)
                break
            yield (done + getattr(step, "fraction", step)) / count
        value = np.asarray(back(result), dtype=np.float64)
        if mean is None:
            dtype, mean, squares = result.dtype, np.zeros_like(value), np.zeros_like(value)
        # Welford's running mean and sum of squared deviations: no cancellation where results agree.
        deviation = value - mean
        mean += deviation / (done + 1)
        squares += deviation * (value - mean)
    spread = np.sqrt(squares / count)
    return cast_into(mean, dtype), spread if channel_axis is None else spread.mean(axis=channel_axis)


def seed_spread(image, fit, *, seeds=4, channel_axis=None):
    """The mean and per-pixel spread of a fit from scratch (Deep Image Prior, Noise2Void) over several seeds.

    A network fitted to one image from different random starts agrees where the
    data decide the result and disagrees where they do not: the spread of ``seeds``
    fits is a map of where to trust one.

    Parameters
    ----------
    image : ndarray
        The image the fits restore, ``(..., H, W)``, with an optional colour axis.
    fit : callable
        ``fit(image, seed)`` returns the restored image, e.g.
        ``lambda x, seed: fit_dip(x, seed=seed, iterations=500)``.
    seeds : int
        How many fits (seeds 0 to ``seeds - 1``); at least 2.
    channel_axis : int, optional
        The colour axis of the results; the spread is averaged over it.

    Returns
    -------
    mean : ndarray
        The mean of the fits, in their dtype (an ensemble, better than one fit).
    spread : ndarray
        float64 standard deviation of the fits per pixel, in the results' units,
        without the channel axis.

    Examples
    --------
    >>> from skimage import data
    >>> from napari_superres import fit_noise2void
    >>> noisy = data.camera()[:32, :32]
    >>> mean, spread = seed_spread(noisy, lambda x, seed: fit_noise2void(x, seed=seed, iterations=2), seeds=2)
    >>> mean.shape, spread.shape
    ((32, 32), (32, 32))
    """
    return run_to_end(iter_seed_spread(image, lambda x, seed: _returned(fit(x, seed)), seeds=seeds,
                                       channel_axis=channel_axis))


def iter_seed_spread(image, iter_fit, *, seeds=4, channel_axis=None):
    """Step-by-step form of :func:`seed_spread`: ``iter_fit(image, seed)`` returns a task generator.

    E.g. ``lambda x, seed: iter_fit_dip(x, seed=seed)``. Yields the fraction done (of
    the fits and within each), returns ``(mean, spread)``.
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "restore")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 2:
        raise ValueError(f"seeds must be an integer of at least 2 (a spread needs two fits), got {seeds!r}")
    runs = ((iter_fit(image, seed), np.asarray) for seed in range(seeds))
    return _mean_and_spread(runs, seeds, channel_axis)


def sample_upscale(image, scale, *, method="vae_sr", seed=0, channel_axis=None, **options):
    """One plausible upscaled image from a variational model, its latent map drawn from the prior with ``seed``.

    ``upscale(image, scale, method="vae_sr")`` gives the deterministic output (the
    latent at the prior's mean, 0); this draws the latent from N(0, I) instead. The
    same seed, image and ``tile`` give the same draw; tiles draw their latents one
    after the other, so a tiled draw differs from an untiled one (both are draws).

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)``, with an optional colour axis (luma models: the chroma is
        interpolated). Lazy (dask) input is computed first.
    scale : int
        The enlargement, one the model was trained for.
    method : str
        A variational model (an architecture that draws latents, e.g. ``'vae_sr'``).
    seed : int
        Seeds the latents' generator.
    channel_axis : int, optional
        The colour axis, as in :func:`~napari_superres.upscale`.
    **options
        ``device``, ``tile``, ``value_range``, ... as in :func:`~napari_superres.upscale`.

    Returns
    -------
    ndarray
        The draw, ``scale`` times larger, in ``image``'s dtype and range.

    Raises
    ------
    ValueError
        For a method whose model draws no latents, and as :func:`~napari_superres.upscale`.

    Examples
    --------
    >>> from skimage import data
    >>> lowres = data.camera()[:32, :32]
    >>> a, b = (sample_upscale(lowres, 4, method="vae_sr", seed=s) for s in (0, 1))
    >>> a.shape, bool((a != b).any())
    ((128, 128), True)
    """
    return run_to_end(iter_sample_upscale(image, scale, method=method, seed=seed, channel_axis=channel_axis,
                                          **options))


def iter_sample_upscale(image, scale, *, method="vae_sr", seed=0, channel_axis=None, **options):
    """Step-by-step form of :func:`sample_upscale`: yields the fraction done, returns the draw."""
    from .models import find_model
    from .models.inference import load_on
    from .upscale import iter_upscale

    card = find_model(method, scale)
    if not card.contract.draws_latents:
        raise ValueError(f"{method} draws no latents (a {card.architecture}); sample a variational model such as "
                         "vae_sr")
    steps = iter_upscale(np.asarray(image), scale, method=method, channel_axis=channel_axis, **options)
    model, _ = load_on(card, options.get("device"))  # the shared model that iter_upscale runs
    return _drawing(steps, model, seed)


def _drawing(steps, model, seed):
    with model.drawing_latents(seed):
        return (yield from steps)


def sample_spread(image, scale, *, method="vae_sr", samples=8, seed=0, channel_axis=None, **options):
    """The mean and per-pixel spread of ``samples`` draws of :func:`sample_upscale` (seeds ``seed``, ``seed + 1``, ...).

    Parameters
    ----------
    image, scale, method, channel_axis, **options
        As in :func:`sample_upscale`.
    samples : int
        How many draws; at least 2.
    seed : int
        The first draw's seed.

    Returns
    -------
    mean : ndarray
        The mean of the draws, in ``image``'s dtype.
    spread : ndarray
        float64 standard deviation of the draws per pixel, in the image's units,
        without the channel axis.

    Examples
    --------
    >>> from skimage import data
    >>> mean, spread = sample_spread(data.camera()[:32, :32], 4, method="vae_sr", samples=2)
    >>> mean.shape, spread.shape
    ((128, 128), (128, 128))
    """
    return run_to_end(iter_sample_spread(image, scale, method=method, samples=samples, seed=seed,
                                         channel_axis=channel_axis, **options))


def iter_sample_spread(image, scale, *, method="vae_sr", samples=8, seed=0, channel_axis=None, **options):
    """Step-by-step form of :func:`sample_spread`: yields the fraction done, returns ``(mean, spread)``."""
    def draw(lowres, index):
        return iter_sample_upscale(lowres, scale, method=method, seed=seed + index, channel_axis=channel_axis,
                                   **options)

    return iter_seed_spread(image, draw, seeds=samples, channel_axis=channel_axis)


def _plane_axes(ndim, channel_axis):
    """The axes of H and W in an array of ``ndim`` axes with this ``channel_axis``."""
    spatial = [axis for axis in range(ndim) if channel_axis is None or axis != channel_axis % ndim]
    return tuple(spatial[-2:])


def _returned(value):
    """A task generator that yields nothing and returns ``value``."""
    return value
    yield  # unreachable: it makes this function a generator
