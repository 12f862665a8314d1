"""The Colorize widget: point hints become colour hints, the result a new RGB layer."""

import numpy as np
from skimage import data

from napari_superres._widgets.colorize import ColorizeWidget
from napari_superres._widgets.layers import layer_hints


def test_widget_colorizes_with_point_hints(tiny_colorizer, make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    gray = data.camera()[::4, ::4]
    layer = viewer.add_image(gray, scale=(2.0, 2.0))
    points = viewer.add_points([[20.0, 30.0]], face_color="red", size=4)  # world (20, 30): pixel (10, 15) at scale 2
    hints = layer_hints(points, layer)
    assert hints[..., 3].sum() == 9 and tuple(hints[10, 15]) == (1.0, 0.0, 0.0, 1.0)
    widget = ColorizeWidget(viewer)
    assert widget.look.value == "natural" and list(widget.look.choices) == ["natural", "colourful", "vivid", "faithful"]
    widget.image.value = layer
    widget.hints.value = points
    widget.method.value = tiny_colorizer
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.rgb and result.data.shape == gray.shape + (3,), widget.status.value
    np.testing.assert_allclose(result.scale, [2.0, 2.0])
    record = result.metadata["napari_superres"]
    assert record["quantitative"] is False and record["hints"] == points.name and "not a measurement" in record["note"]
