"""The Deblur / JPEG widget: a deconvolution by the blur set in it, or a trained model, into a new layer."""

import numpy as np
from skimage import data

from napari_superres import psnr
from napari_superres._widgets.deblur import DeblurWidget
from napari_superres.blur import blur, motion_kernel


def test_widget_deconvolves_by_its_blur_and_runs_trained_models(register_untrained, make_napari_viewer, qtbot):
    register_untrained("dncnn", "tinyblind", {"features": 4, "depth": 3}, task="deblur", input="gray")
    register_untrained("dncnn", "tinyjpeg", {"features": 4, "depth": 3}, task="jpeg", input="gray")
    viewer = make_napari_viewer()
    clean = data.camera()[100:196, 100:196]
    blurred = np.round(blur(clean, motion_kernel(7, 45))).astype(np.uint8)
    layer = viewer.add_image(blurred)
    widget = DeblurWidget(viewer)
    assert widget.method.choices[:2] == ("richardson-lucy", "wiener") and "tinyblind" in widget.method.choices
    widget.image.value = layer
    widget.method.value = "wiener"
    assert not widget.blur.native.isHidden() and widget.angle.native.isHidden()
    widget.blur.value = "motion"
    widget.blur_size.value, widget.angle.value = 7.0, 45.0
    assert not widget.angle.native.isHidden()
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    inner = (slice(8, -8), slice(8, -8))
    assert psnr(clean[inner], result.data[inner], data_range=255) > psnr(clean[inner], blurred[inner],
                                                                        data_range=255) + 1, widget.status.value
    assert result.metadata["napari_superres"]["blur"] == "motion"
    widget.method.value = "tinyblind"
    assert widget.blur.native.isHidden()  # blind: no blur to set
    widget.task.value = "JPEG artefacts"
    assert "tinyjpeg" in widget.method.choices and "dip" not in widget.method.choices
    widget.method.value = "tinyjpeg"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.data.shape == blurred.shape and result.data.dtype == np.uint8, widget.status.value
    assert result.metadata["napari_superres"]["task"] == "jpeg"
