"""The Denoise widget: a classical method with an estimated σ, and Noise2Void with its previews."""

import numpy as np

from napari_superres._widgets.denoise import DenoiseWidget


def test_widget_estimates_sigma_and_adds_a_layer(make_napari_viewer, qtbot, noisy_camera):
    viewer = make_napari_viewer()
    layer = viewer.add_image(noisy_camera[1], name="noisy", scale=(0.5, 0.5))
    before = layer.data.copy()
    widget = DenoiseWidget(viewer)
    widget.image.value = layer
    widget.estimate()  # in a worker: the GUI stays responsive
    qtbot.waitUntil(lambda: widget.estimate_worker is None, timeout=60_000)
    assert 17 < widget.sigma.value < 23 and "Estimated" in widget.status.value
    widget.method.value = "tv"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.name == "noisy (tv denoise)" and result.data.dtype == np.uint8
    np.testing.assert_allclose(result.scale, [0.5, 0.5])
    assert result.metadata["napari_superres"]["sigma"] == widget.sigma.value
    np.testing.assert_array_equal(layer.data, before)


def test_widget_shows_a_preview_then_the_result(make_napari_viewer, qtbot, noisy_camera):
    viewer = make_napari_viewer()
    layer = viewer.add_image(noisy_camera[1], name="noisy", scale=(0.5, 0.5))
    widget = DenoiseWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = layer
    widget.method.value = "n2v"
    assert widget.sigma.native.isHidden() and not widget.iterations.native.isHidden()
    widget.iterations.value, widget.preview_every.value = 30, 10
    seen = []
    widget.run()
    widget.worker.yielded.connect(lambda step: seen.append([lay.name for lay in viewer.layers]))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert any("noisy (Noise2Void preview)" in names for names in seen), seen
    assert [lay.name for lay in viewer.layers] == ["noisy", "noisy (n2v denoise)"], widget.status.value
    result = viewer.layers[1]
    np.testing.assert_allclose(result.scale, [0.5, 0.5])
    assert result.metadata["napari_superres"]["method"] == "n2v" and widget.progress.value == 100
