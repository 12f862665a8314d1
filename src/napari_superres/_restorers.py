"""Trained scale-1 restorers that are no denoisers (JPEG artefact removers, blind deblurrers), run over an image.

They run as the learned upscalers do (:mod:`napari_superres.upscale`): block by
block with the model's halo, on any device, any dtype and range kept; a gray
(1-channel) model cleans each colour channel as a gray plane.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._arrays import check_blocks_fit, check_image, check_value_range, plane_layout
from .device import check_precision, check_threads
from .lazy import is_lazy

OPTIONS = ("device", "tile", "value_range", "precision", "threads")


def trained_methods(task):
    """The methods of the model cards of ``task`` ('jpeg' or 'deblur') in the weights folders, sorted."""
    from .models import list_models

    return tuple(sorted({card.method for card in list_models().values() if card.task == task}))


def iter_apply_restorer(image, method, task, verb, channel_axis=None, **options):
    """A generator of progress in (0, 1] returning ``image`` restored by the trained model ``method`` of ``task``.

    ``options``: device, tile, value_range, precision, threads, as :func:`~napari_superres.upscale`
    takes them. Checked when called, before any work.
    """
    from .models import find_model
    from .upscale import AUTO_TILE, MIN_BLOCK, learned_plane_function, upscale_steps

    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"{method} takes only {', '.join(OPTIONS)}, not {sorted(unknown)}")
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, verb)
    check_precision(options.get("precision", "auto"))
    check_threads(options.get("threads"))
    if options.get("value_range") is not None:
        check_value_range(options["value_range"])
    tile = options.get("tile")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, Integral) or tile < MIN_BLOCK):
        raise ValueError(f"tile must be a whole number of pixels ≥ {MIN_BLOCK}, got {tile!r}")
    card = find_model(method, 1)
    if card.task != task:
        raise ValueError(f"{method} is a {card.task} model, not a {task} one")
    plane_fn, halo, block = learned_plane_function(card, options.get("device"), tile or AUTO_TILE,
                                                    options.get("precision", "auto"))
    layout = plane_layout(image, channel_axis)
    check_blocks_fit(layout, layout[1:3], image.dtype, block=block, halo=halo, result=not is_lazy(image),
                     network_per_pixel=plane_fn.network_bytes_per_pixel)
    return upscale_steps(image, plane_fn, True, options.get("value_range"), options.get("threads"), None, False,
                          scale=1, halo=halo, channel_axis=channel_axis, block=block)
