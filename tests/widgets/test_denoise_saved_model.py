"""The Denoise widget keeps a Noise2Void model under a name, lists it at once, and applies it to other layers."""

import numpy as np

from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres.noise2void import apply_noise2void, read_noise2void_card


def test_save_list_and_apply_a_noise2void_model(make_napari_viewer, qtbot, noisy_camera, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    viewer = make_napari_viewer()
    first = viewer.add_image(noisy_camera[1][:48, :48], name="first")
    second = viewer.add_image(noisy_camera[1][16:64, 16:64], name="second", scale=(0.5, 0.5))
    widget, other = DenoiseWidget(viewer), DenoiseWidget(viewer)
    widget.image.value, widget.method.value = first, "n2v"
    assert not widget.save_as.native.isHidden()
    widget.iterations.value, widget.save_as.value = 5, "scope_a"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert "Saved as 'scope_a'" in widget.status.value, widget.status.value
    assert read_noise2void_card("scope_a")["training"]["iterations"] == 5
    assert "scope_a" in widget.method.choices and "scope_a" in other.method.choices  # at once, in every widget

    other.image.value, other.method.value = second, "scope_a"
    assert other.save_as.native.isHidden() and other.sigma.native.isHidden()
    other.run()
    qtbot.waitUntil(lambda: other.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.name == "second (scope_a denoise)", other.status.value
    np.testing.assert_array_equal(result.data, apply_noise2void(second.data, "scope_a"))
    np.testing.assert_allclose(result.scale, [0.5, 0.5])


def test_a_model_name_that_is_no_file_name_is_refused(make_napari_viewer, noisy_camera, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    viewer = make_napari_viewer()
    viewer.add_image(noisy_camera[1][:32, :32])
    widget = DenoiseWidget(viewer)
    widget.method.value, widget.save_as.value = "n2v", "../elsewhere"
    widget.run()
    assert widget.worker is None and "plain file name" in widget.status.value
    widget.save_as.value = "tv"
    widget.run()
    assert "built-in method" in widget.status.value
