"""The Denoise widget keeps a Noise2Void model under a name, lists it at once, and applies it to other layers."""

import numpy as np

from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres.noise2void import apply_noise2void, read_noise2void_card
from napari_superres.uncertainty import augmentation_spread


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

    assert not other.trust_map.native.isHidden() and widget.trust_map.native.isHidden()
    other.trust_map.value = True
    other.run()
    qtbot.waitUntil(lambda: other.worker is None, timeout=60_000)
    mean, spread = viewer.layers[-2], viewer.layers[-1]
    assert mean.name == "second (scope_a denoise, mean of 8 flips/turns)", other.status.value
    expected_mean, expected_spread = augmentation_spread(second.data, lambda x: apply_noise2void(x, "scope_a"))
    np.testing.assert_array_equal(mean.data, expected_mean)
    np.testing.assert_allclose(spread.data, expected_spread)
    np.testing.assert_allclose(spread.scale, [0.5, 0.5])
    assert spread.colormap.name == "inferno" and spread.data.max() > 0


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
