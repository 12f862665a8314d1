"""The Super-resolution widget's uncertainty map: a colormapped layer aligned with the result."""

import numpy as np
import pytest

from napari_superres import upscale
from napari_superres._widgets.upscale import DRAWS, RESIDUAL, SPREAD, UNCERTAINTY_COLORMAP, UpscaleWidget
from napari_superres.uncertainty import augmentation_spread, backprojection_residual, sample_spread


def _run(viewer, qtbot, layer, method, kind):
    widget = UpscaleWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = layer
    widget.method.value = method
    widget.scale.value = 4 if method in ("bicubic", "vae_sr") else 2
    widget.uncertainty.value = kind
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert len(viewer.layers) == 3, widget.status.value
    return viewer.layers[1], viewer.layers[2]


def test_backprojection_residual_overlays_the_input(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small[::2, ::2], scale=(2.0, 3.0), translate=(5.0, 7.0))
    result, residual = _run(viewer, qtbot, layer, "bicubic", RESIDUAL)
    np.testing.assert_array_equal(result.data, upscale(layer.data, 4, method="bicubic"))
    np.testing.assert_allclose(residual.data, backprojection_residual(result.data, layer.data, 4))
    np.testing.assert_allclose(residual.scale, layer.scale)
    np.testing.assert_allclose(residual.translate, layer.translate)
    assert residual.colormap.name == UNCERTAINTY_COLORMAP and residual.contrast_limits[0] == 0


@pytest.mark.parametrize("rgb", [False, True])
def test_flips_turns_spread_overlays_the_result(make_napari_viewer, qtbot, astronaut_small, camera_small, rgb):
    viewer = make_napari_viewer()
    image = astronaut_small[:32, :48] if rgb else camera_small[:32, :48]
    layer = viewer.add_image(image, scale=(2.0, 3.0), translate=(5.0, 7.0))
    result, spread = _run(viewer, qtbot, layer, "espcn", SPREAD)
    axis = -1 if rgb else None
    mean, expected = augmentation_spread(image, lambda x: upscale(x, 2, method="espcn", channel_axis=axis),
                                         channel_axis=axis)
    assert spread.data.shape == (64, 96) and not spread.rgb
    np.testing.assert_allclose(spread.data, expected, atol=1e-6)
    assert np.abs(result.data.astype(int) - mean).max() <= 1  # bf16 or thread counts may move a level
    np.testing.assert_allclose(spread.scale, result.scale[:2])
    np.testing.assert_allclose(spread.translate, result.translate[:2])
    assert spread.data.max() > 0


def test_uncertainty_needs_yx_planes(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    viewer.add_image(np.stack([camera_small] * 3))
    widget = UpscaleWidget(viewer)
    widget.method.value = "bicubic"
    widget.axes.value = "Z"
    widget.uncertainty.value = RESIDUAL
    assert not widget.run_button.enabled and "(Y, X) planes" in widget.status.value


def test_spread_of_draws_of_the_variational_model(make_napari_viewer, qtbot, astronaut_small):
    viewer = make_napari_viewer()
    image = astronaut_small[:32, :40]  # napari takes a last axis of 3 for colour from 30 pixels a side
    layer = viewer.add_image(image, scale=(2.0, 3.0))
    result, spread = _run(viewer, qtbot, layer, "vae_sr", DRAWS)
    mean, expected = sample_spread(image, 4, method="vae_sr", samples=8, channel_axis=-1)
    assert layer.rgb and spread.data.shape == (128, 160) and spread.data.max() > 0
    np.testing.assert_allclose(spread.data, expected, atol=1e-6)
    assert np.abs(result.data.astype(int) - mean).max() <= 1
    np.testing.assert_allclose(spread.scale, result.scale[:2])


def test_spread_of_draws_needs_a_variational_model(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    viewer.add_image(camera_small)
    widget = UpscaleWidget(viewer)
    widget.method.value = "espcn"
    widget.uncertainty.value = DRAWS
    assert not widget.run_button.enabled and "draws no samples" in widget.status.value
