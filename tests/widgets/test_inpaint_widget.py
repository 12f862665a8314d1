"""The Inpaint widget: a Labels mask or the image's NaN pixels are filled into a new layer."""

import numpy as np

from napari_superres._widgets.inpaint import InpaintWidget


def test_widget_fills_a_labels_mask_into_a_new_layer(make_napari_viewer, qtbot, dropped):
    clean, mask = dropped
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.where(mask, 0, clean).astype(np.uint8), name="holes", scale=(2.0, 2.0))
    labels = viewer.add_labels(mask.astype(np.uint8), name="missing", scale=(2.0, 2.0))
    widget = InpaintWidget(viewer)
    widget.image.value, widget.mask.value = layer, labels
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.name == "holes (auto inpaint)", widget.status.value  # auto is the default
    np.testing.assert_allclose(result.scale, [2.0, 2.0])
    np.testing.assert_array_equal(result.data[~mask], clean[~mask])
    assert result.metadata["napari_superres"]["mask"] == "missing"


def test_widget_takes_nan_from_the_image_and_reports_bad_values(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    image = camera_small / 255.0
    image[3:6, 3:6] = np.nan
    layer = viewer.add_image(image, name="nan")
    widget = InpaintWidget(viewer)
    widget.image.value = layer
    widget.missing_value.value = "dead"
    widget.run()
    assert widget.worker is None and "must be a number" in widget.status.value
    widget.missing_value.value = "nan"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert np.isfinite(viewer.layers[-1].data).all()


def shown(field):
    """Not hidden by the widget (the dock itself is not on screen in tests)."""
    return not field.native.isHidden()


def test_widget_defaults_to_auto_and_passes_the_large_hole_method(make_napari_viewer, qtbot, register_untrained):
    from napari_superres import inpaint

    method = register_untrained("gatedunet", "tinyholes", {"features": 4, "depth": 2}, channels=3, task="inpaint")
    image = np.ascontiguousarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8))
    mask = np.zeros((64, 64), np.uint8)
    mask[2, :] = 1  # a scratch: biharmonic
    mask[20:50, 20:50] = 1  # a box: the network, averaged with biharmonic
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="holes", rgb=True)
    labels = viewer.add_labels(mask, name="missing")
    widget = InpaintWidget(viewer)
    assert widget.method.value == "auto" and shown(widget.large_holes)
    assert method in widget.large_holes.choices and "auto" not in widget.large_holes.choices
    assert not shown(widget.iterations)
    widget.large_holes.value = "dip"
    assert shown(widget.iterations)  # DIP's settings show when it fills the large holes
    widget.large_holes.value = method
    widget.method.value = "biharmonic"
    assert not shown(widget.large_holes)
    widget.method.value = "auto"
    widget.image.value, widget.mask.value = layer, labels
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.name == "holes (auto inpaint)", widget.status.value
    assert result.metadata["napari_superres"]["large_holes"] == method
    expected = inpaint(image, mask, method="auto", channel_axis=-1, large_holes=method)
    np.testing.assert_array_equal(result.data, expected)
