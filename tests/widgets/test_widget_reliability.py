"""Widgets never change their input (finished, cancelled or failed runs) and do not interfere when run at once."""

import hashlib

import numpy as np

from napari_superres import fit_dip, upscale
from napari_superres._widgets.dip import DIPWidget
from napari_superres._widgets.upscale import UpscaleWidget


def _digest(layer):
    return hashlib.sha256(np.ascontiguousarray(layer.data).tobytes()).hexdigest()


def _wait(qtbot, *widgets):
    qtbot.waitUntil(lambda: all(w.worker is None for w in widgets), timeout=180_000)


def test_failed_run_changes_nothing_and_says_why(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    data = np.full((16, 16), 0.5)
    data[3, 4] = np.nan
    layer = viewer.add_image(data)
    before = _digest(layer)
    for widget in (UpscaleWidget(viewer), DIPWidget(viewer)):
        widget.image.value = layer
        widget.run()
        _wait(qtbot, widget)
        assert widget.status.value.startswith("Failed:") and "NaN" in widget.status.value
        assert widget.run_button.enabled
    assert len(viewer.layers) == 1
    assert _digest(layer) == before


def test_widgets_running_at_once_do_not_interfere(make_napari_viewer, qtbot, astronaut_small, camera_small):
    viewer = make_napari_viewer()
    rgb = viewer.add_image(astronaut_small, name="rgb")
    gray = viewer.add_image(camera_small, name="gray")
    digests = {layer.name: _digest(layer) for layer in (rgb, gray)}
    first, second, dip = UpscaleWidget(viewer), UpscaleWidget(viewer), DIPWidget(viewer)
    first.image.value, first.method.value, first.scale.value = rgb, "espcn", 4
    second.image.value, second.method.value, second.scale.value = gray, "espcn", 4
    dip.image.value, dip.iterations.value, dip.early_stopping.value = gray, 20, False
    for widget in (first, second, dip):
        widget.run()
    first.run()  # a second press while running is refused, not a second job
    assert "Already running" in first.status.value
    _wait(qtbot, first, second, dip)

    results = {layer.name: layer.data for layer in viewer.layers[2:]}
    assert sorted(results) == ["gray (DIP denoise)", "gray (espcn x4)", "rgb (espcn x4)"]
    np.testing.assert_array_equal(results["rgb (espcn x4)"],
                                  upscale(astronaut_small, 4, method="espcn", channel_axis=-1))
    np.testing.assert_array_equal(results["gray (espcn x4)"], upscale(camera_small, 4, method="espcn"))
    np.testing.assert_array_equal(results["gray (DIP denoise)"],
                                  fit_dip(camera_small, iterations=20, early_stopping=False))
    assert {layer.name: _digest(layer) for layer in (rgb, gray)} == digests
