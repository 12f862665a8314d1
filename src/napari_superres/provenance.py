"""What a result needs to be reproduced: task, method, settings, model weights, device, versions."""

from __future__ import annotations

import platform

import numpy as np


def provenance(task, method, *, scale=1, device=None, **settings):
    """A JSON-able record of how a result was made, for layer metadata and file metadata.

    Learned methods add the model card's name and the SHA-256 of its weights; methods
    that run on torch add the device actually used (``device=None`` resolves to the
    best available one, as the run did).

    Examples
    --------
    >>> record = provenance("upscale", "espcn", scale=2, device="cpu")
    >>> record["model"]["name"], record["device"]
    ('espcn_x2', 'cpu')
    """
    from ._version import __version__

    record = {"task": task, "method": method, "settings": settings, "napari_superres": __version__,
              "python": platform.python_version()}
    if np.any(np.asarray(scale) != 1):
        record["scale"] = scale if np.ndim(scale) == 0 else [float(f) for f in scale]
    card = _model_card(method, scale)
    uses_torch = card is not None or method in ("n2v", "dip", "deep image prior")
    if card is not None:
        record["model"] = {"name": card.name, "architecture": card.architecture, "weights_sha256": card.sha256}
    if uses_torch:
        import torch

        from .device import select_device

        record["device"] = str(select_device(device))
        record["torch"] = torch.__version__
    return record


def _model_card(method, scale):
    from .models import find_model

    if np.ndim(scale) or not float(scale).is_integer():  # per-axis factors: interpolation only
        return None
    try:
        return find_model(method, int(scale))
    except ValueError:  # an interpolation or classical method: no weights
        return None
