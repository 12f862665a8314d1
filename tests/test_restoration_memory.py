"""The upfront memory estimates of denoise, colorize and inpaint cover what the work then allocates.

Only numpy's allocations are traced (tracemalloc): the estimates also count torch's activations
and SuperLU's factors, which it cannot see, so they must be at least the traced peak.
"""

import importlib
import tracemalloc

import numpy as np
import pytest
from skimage import data

from napari_superres import colorize, denoise, inpaint
from napari_superres.denoise import CLASSICAL


def _estimate_and_peak(monkeypatch, module, run):
    """The largest estimate ``run`` checks against the free memory, and its traced peak."""
    estimates = []
    monkeypatch.setattr(importlib.import_module(module), "check_memory", lambda nbytes, what: estimates.append(nbytes))
    tracemalloc.start()
    try:
        run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(estimates), peak


@pytest.fixture(scope="module")
def photo():
    return data.astronaut()[:256, 128:384]


@pytest.mark.parametrize("method", CLASSICAL)
@pytest.mark.parametrize("colour", [False, True])
def test_denoising_estimate_covers_its_peak(monkeypatch, photo, method, colour):
    image, axis = (photo, -1) if colour else (photo[..., 1], None)
    denoise(image[:32, :32], method=method, channel_axis=axis)  # imports and caches outside the measure
    estimate, peak = _estimate_and_peak(monkeypatch, "napari_superres.denoise",
                                        lambda: denoise(image, method=method, channel_axis=axis))
    assert peak <= estimate < 4 * peak


@pytest.mark.parametrize("hinted", [False, True])
def test_colorizing_estimate_covers_its_peak(monkeypatch, photo, hinted):
    gray = photo[..., 1]
    hints = None
    if hinted:
        hints = np.zeros(gray.shape + (4,))
        hints[100:104, 50:54] = (0.9, 0.1, 0.1, 1.0)
    colorize(gray[:32, :32], None if hints is None else hints[:32, :32])
    estimate, peak = _estimate_and_peak(monkeypatch, "napari_superres.colorize", lambda: colorize(gray, hints))
    assert peak <= estimate


def test_inpainting_estimate_covers_its_peak(monkeypatch, photo):
    mask = np.zeros(photo.shape[:2], bool)
    mask[60:120, 80:140] = True
    inpaint(photo[:32, :32], mask[:32, :32] | np.eye(32, dtype=bool), channel_axis=-1)
    estimate, peak = _estimate_and_peak(monkeypatch, "napari_superres.inpaint",
                                        lambda: inpaint(photo, mask, channel_axis=-1))
    assert peak <= estimate
