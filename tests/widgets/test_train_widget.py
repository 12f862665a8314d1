"""The Train widget: Noise2Void trained on a layer with a live loss plot; Stop keeps the model; lists update at once."""

import numpy as np

from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres._widgets.train import TrainWidget
from napari_superres.noise2void import read_noise2void_card


def _viewer_with_noise(make_napari_viewer, noisy_camera, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    viewer = make_napari_viewer()
    layer = viewer.add_image(noisy_camera[1][:48, :48], name="noisy", scale=(0.2, 0.2))
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = layer
    widget.features.value, widget.patch_size.value = 8, 32
    return viewer, widget


def test_stop_keeps_the_model_trained_so_far(make_napari_viewer, qtbot, noisy_camera, tmp_path, monkeypatch):
    viewer, widget = _viewer_with_noise(make_napari_viewer, noisy_camera, tmp_path, monkeypatch)
    denoiser = DenoiseWidget(viewer)
    widget.model_name.value, widget.iterations.value = "scope_b", 100_000
    widget.run()
    qtbot.waitUntil(lambda: len(widget.plot.points) >= 5, timeout=120_000)
    assert widget.stop_button.enabled and widget.worker is not None  # the GUI thread is free while it trains
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    card = read_noise2void_card("scope_b")
    assert 5 <= card["training"]["iterations"] < card["training"]["planned_iterations"] == 100_000
    assert card["data"]["pixel_size"] == [0.2, 0.2] and "Stopped at iteration" in widget.status.value
    assert "scope_b" in denoiser.method.choices and len(viewer.layers) == 1  # no result layer when stopped
    assert not widget.stop_button.enabled


def test_a_full_run_adds_its_result_and_plots_every_step(make_napari_viewer, qtbot, noisy_camera, tmp_path,
                                                         monkeypatch):
    viewer, widget = _viewer_with_noise(make_napari_viewer, noisy_camera, tmp_path, monkeypatch)
    widget.model_name.value, widget.iterations.value, widget.description.value = "scope_c", 6, "camera, σ 20"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert [i for i, _ in widget.plot.points] == list(range(1, 7))
    assert np.isclose(widget.plot.smoothed[0], widget.plot.points[0][1])
    result = viewer.layers[-1]
    assert result.name == "noisy (scope_c training result)" and result.data.shape == (48, 48)
    card = read_noise2void_card("scope_c")
    assert card["training"]["iterations"] == 6 and card["data"]["description"].startswith("camera, σ 20")
    widget.plot.grab()  # paints the curve without error


def test_a_name_is_needed(make_napari_viewer, noisy_camera, tmp_path, monkeypatch):
    _, widget = _viewer_with_noise(make_napari_viewer, noisy_camera, tmp_path, monkeypatch)
    widget.run()
    assert widget.worker is None and "give the model a name" in widget.status.value


def test_cancel_keeps_no_model(tmp_path, noisy_camera):
    import threading

    from napari_superres._widgets.train import iter_train_until_stopped

    steps = iter_train_until_stopped(noisy_camera[1][:32, :32], threading.Event(), iterations=100,
                                     save_to=str(tmp_path / "dropped"), features=8)
    next(steps)
    steps.close()
    assert not list(tmp_path.iterdir())
