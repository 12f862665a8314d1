import numpy as np
import pytest

from napari_superres._widgets.dip import DIPWidget
from napari_superres._widgets.layers import layer_mask


def _dock(viewer, **values):
    widget = DIPWidget(viewer)
    viewer.window.add_dock_widget(widget)
    for name, value in values.items():
        getattr(widget, name).value = value
    return widget


def _run_and_watch(qtbot, widget):
    """Run; record at every yield the names of the layers in the viewer."""
    seen = []
    widget.run()
    widget.worker.yielded.connect(lambda step: seen.append([layer.name for layer in widget._viewer.layers]))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    return seen


def test_denoise_shows_a_live_preview_then_the_result(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small, name="cam", scale=(2.0, 2.0), colormap="viridis")
    before = layer.data.copy()
    widget = _dock(viewer, image=layer, iterations=40, preview_every=10, early_stopping=False)
    seen = _run_and_watch(qtbot, widget)

    assert any("cam (DIP preview)" in names for names in seen), seen
    assert [lay.name for lay in viewer.layers] == ["cam", "cam (DIP denoise)"], widget.status.value
    result = viewer.layers[1]
    assert result.data.shape == camera_small.shape and result.data.dtype == np.uint8
    np.testing.assert_allclose(result.scale, [2.0, 2.0])
    np.testing.assert_allclose(result.translate, [0.0, 0.0])
    assert result.colormap.name == "viridis"
    assert result.metadata["napari_superres"]["task"] == "dip-denoise"
    assert widget.progress.value == 100
    np.testing.assert_array_equal(layer.data, before)


def test_super_resolution_result_overlays_the_input(make_napari_viewer, qtbot, astronaut_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(astronaut_small[:32, :32], translate=(10.0, 20.0))
    widget = _dock(viewer, image=layer, task="super-resolve", iterations=5)
    widget.scale.value = 2
    _run_and_watch(qtbot, widget)
    result = viewer.layers[-1]
    assert result.data.shape == (64, 64, 3) and result.rgb
    np.testing.assert_allclose(result.scale, [0.5, 0.5])
    np.testing.assert_allclose(result.data_to_world([0.5, 0.5]), layer.data_to_world([0, 0]))


def test_deblur_fits_through_the_chosen_blur(make_napari_viewer, qtbot, camera_small):
    from napari_superres.blur import motion_kernel

    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small, name="cam")
    widget = _dock(viewer, image=layer, task="deblur")
    def shown(control):  # hidden or not by the widget, whether or not the window is on screen
        return not control.native.isHidden()

    assert shown(widget.blur) and shown(widget.blur_size) and not shown(widget.angle)
    widget.blur.value = "motion"
    assert shown(widget.angle) and not shown(widget.scale) and not shown(widget.mask)
    widget.blur_size.value, widget.angle.value, widget.iterations.value = 7.0, 30.0, 5
    np.testing.assert_array_equal(widget._job(layer).kwargs["kernel"], motion_kernel(7, 30))
    _run_and_watch(qtbot, widget)
    result = viewer.layers[-1]
    assert result.name == "cam (DIP deblur)" and result.data.shape == camera_small.shape
    settings = result.metadata["napari_superres"]
    assert (settings["task"], settings["blur"], settings["blur_size"], settings["angle"]) == (
        "dip-deblur", "motion", 7.0, 30.0)


@pytest.mark.parametrize("kind", ["labels", "shapes"])
def test_inpaint_with_a_mask_layer_keeps_known_pixels(make_napari_viewer, qtbot, astronaut_small, kind):
    viewer = make_napari_viewer()
    layer = viewer.add_image(astronaut_small, scale=(0.5, 0.5))
    if kind == "labels":
        labels = np.zeros(astronaut_small.shape[:2], int)
        labels[10:20, 30:40] = 3
        mask_layer = viewer.add_labels(labels, scale=(0.5, 0.5))
    else:  # a rectangle in world coordinates over pixels 10..20 x 30..40 of the image
        mask_layer = viewer.add_shapes([[[5, 15], [5, 20], [10, 20], [10, 15]]], shape_type="rectangle")
    missing = layer_mask(mask_layer, layer)
    assert missing.shape == (64, 64) and missing[12:18, 32:38].all() and missing.sum() < 200
    widget = _dock(viewer, image=layer, task="inpaint", iterations=5)
    widget.mask.value = mask_layer
    _run_and_watch(qtbot, widget)
    result = viewer.layers[-1]
    assert result.name.endswith("(DIP inpaint)")
    np.testing.assert_array_equal(result.data[~missing], astronaut_small[~missing])


def test_inpaint_without_a_mask_says_so(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small)
    widget = _dock(viewer, image=layer, task="inpaint")
    widget.run()
    assert widget.worker is None and "needs a mask" in widget.status.value
    assert len(viewer.layers) == 1


def test_cancel_removes_the_preview_and_adds_nothing(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small)
    before = layer.data.copy()
    widget = _dock(viewer, image=layer, iterations=100_000, preview_every=2)
    widget.run()
    qtbot.waitUntil(lambda: widget.preview_layer is not None, timeout=60_000)
    widget.cancel()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert [lay.name for lay in viewer.layers] == [layer.name]
    assert widget.status.value == "Cancelled."
    np.testing.assert_array_equal(layer.data, before)
    assert widget.run_button.enabled and not widget.cancel_button.enabled


def test_mask_choices_follow_the_viewer(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    widget = _dock(viewer, task="inpaint")
    assert widget.mask.native.isVisibleTo(widget.native) and not widget.scale.native.isVisibleTo(widget.native)
    viewer.add_image(camera_small, name="cam")
    labels = viewer.add_labels(np.zeros((64, 64), int), name="holes")
    shapes = viewer.add_shapes(name="box")
    assert [name for name, _ in widget._mask_layers()] == ["holes", "box"]
    widget.mask.value = labels
    widget.mask.value = shapes
    assert widget.mask.value is shapes


def test_unusable_mask_layers_are_explained(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(camera_small)
    widget = _dock(viewer, image=layer, task="inpaint")
    for mask_layer, words in [(viewer.add_labels(np.ones((10, 10), int)), "must match the image"),
                              (viewer.add_shapes(), "has no shapes")]:
        widget.mask.value = mask_layer
        widget.run()
        assert widget.worker is None and words in widget.status.value
    assert len(viewer.layers) == 3
