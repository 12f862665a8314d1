"""The device row's precision choice (issue 19): shown where learned models run, passed to them."""

import numpy as np

from napari_superres import upscale
from napari_superres._widgets.upscale import UpscaleWidget


def test_upscale_runs_at_the_precision_picked_under_the_device(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image = (np.add.outer(np.arange(24), np.arange(24)) * 5 % 256).astype(np.uint8)
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(image)
    assert widget.precision in widget.advanced and widget.precision.value == "auto"
    widget.method.value, widget.scale.value, widget.precision.value = "espcn", 2, "bf16"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    expected = upscale(image, 2, method="espcn", precision="bf16", tile=widget.tile.value or None)
    np.testing.assert_array_equal(viewer.layers[-1].data, expected)
    assert not np.array_equal(expected, upscale(image, 2, method="espcn", precision="fp32"))  # bf16 did run


def test_fit_widgets_pass_the_precision_picked_under_the_device(make_napari_viewer, qtbot, monkeypatch):
    from napari_superres._widgets.denoise import DenoiseWidget
    from napari_superres._widgets.dip import DIPWidget
    from napari_superres._widgets.video_prior import VideoPriorWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.random.default_rng(0).integers(0, 256, (3, 24, 24)).astype(np.uint8))
    flat = viewer.add_image(stack.data[0].copy())
    for widget, layer, method_field in [(DIPWidget(viewer), flat, None), (DenoiseWidget(viewer), flat, "dip"),
                                        (VideoPriorWidget(viewer), stack, None)]:
        widget.image.value = layer
        if method_field:
            widget.method.value = method_field
        assert widget.precision in widget.advanced and widget.precision.value == "auto"
        widget.precision.value = "bf16"
        job = widget._job(layer)
        assert job.kwargs["precision"] == "bf16"
