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
    assert result.name == "holes (biharmonic inpaint)", widget.status.value
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
