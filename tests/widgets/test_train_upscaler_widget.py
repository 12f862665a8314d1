"""Train (super-resolution): an upscaler trained on a folder in a worker; Stop keeps it, the same name resumes."""

import json

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from napari_superres._widgets import train_upscaler
from napari_superres._widgets.train_upscaler import TrainUpscalerWidget
from napari_superres._widgets.upscale import UpscaleWidget
from napari_superres.models.registry import find_model


@pytest.fixture
def photographs(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, image in enumerate([data.astronaut(), data.chelsea(), data.coffee()]):
        iio.imwrite(folder / f"{i}.png", image[:96, :96])
    return folder


def _widget(make_napari_viewer, tmp_path, monkeypatch, photographs):
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path / "weights"))
    viewer = make_napari_viewer()
    layer = viewer.add_image(data.astronaut()[:40, :48], name="astronaut", rgb=True, scale=(0.5, 0.5))
    widget = TrainUpscalerWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value, widget.folder.value = layer, photographs
    widget.batch_size.value, widget.patch.value = 2, 12
    return viewer, widget


def _run(widget, qtbot, steps):
    widget.steps.value = steps
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)


def test_a_run_saves_the_model_lists_it_and_tries_it_on_the_layer(make_napari_viewer, qtbot, tmp_path, monkeypatch,
                                                                   photographs):
    viewer, widget = _widget(make_napari_viewer, tmp_path, monkeypatch, photographs)
    upscaler = UpscaleWidget(viewer)
    widget.model_name.value = "photos"
    _run(widget, qtbot, 4)
    assert [i for i, _ in widget.plot.points] == [1, 2, 3, 4] and "saved after 4 steps" in widget.status.value
    card = find_model("photos", 2)
    assert card.architecture == "espcn" and card.scale == 2
    assert "photos" in upscaler.method.choices  # listed at once in the open widget
    result = viewer.layers[-1]
    assert result.name == "astronaut (photos x2)" and result.data.shape == (80, 96, 3)
    np.testing.assert_allclose(result.scale, (0.25, 0.25))
    assert result.metadata["napari_superres"]["trained_steps"] == 4


def test_stop_keeps_the_model_and_the_same_name_resumes(make_napari_viewer, qtbot, tmp_path, monkeypatch,
                                                         photographs):
    _, widget = _widget(make_napari_viewer, tmp_path, monkeypatch, photographs)
    widget.model_name.value, widget.steps.value = "resumed", 100_000
    widget.run()
    qtbot.waitUntil(lambda: len(widget.plot.points) >= 3, timeout=120_000)
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    stopped_at = widget.plot.points[-1][0]
    assert 3 <= stopped_at < 100_000 and find_model("resumed", 2).weights.exists()
    _run(widget, qtbot, stopped_at + 2)  # the same name: goes on from the checkpoint
    assert [i for i, _ in widget.plot.points] == [stopped_at + 1, stopped_at + 2]
    assert json.loads((tmp_path / "weights" / "resumed_x2.json").read_text())["training"]["steps"] == stopped_at + 2


def test_cancel_keeps_no_model_but_the_run_resumes(tmp_path, monkeypatch, photographs):
    import threading

    from napari_superres.train import TrainConfig

    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path / "weights"))
    cfg = TrainConfig(architecture="espcn", scale=2, train_dirs=[str(photographs)], out_dir=str(tmp_path / "run"),
                      steps=50, batch_size=2, lr_patch=12)
    steps = train_upscaler.iter_train_and_try(cfg, threading.Event(), "dropped", np.zeros((8, 8)), None)
    next(steps)
    steps.close()
    assert (tmp_path / "run" / "checkpoint.pt").exists() and not (tmp_path / "weights").exists()


def test_a_different_model_under_a_used_name_is_refused(make_napari_viewer, tmp_path, monkeypatch, photographs):
    # The runs lie beside the user weights folder (here tmp_path / "weights").
    (tmp_path / "runs" / "taken_x2").mkdir(parents=True)
    (tmp_path / "runs" / "taken_x2" / "config.json").write_text(json.dumps({"architecture": "edsr", "scale": 2}))
    _, widget = _widget(make_napari_viewer, tmp_path, monkeypatch, photographs)
    widget.model_name.value = "taken"
    widget.run()
    assert widget.worker is None and "trained a edsr x2" in widget.status.value
    widget.model_name.value, widget.architecture.value, widget.scale.value = "fresh", "mdsr", 8
    widget.run()
    assert widget.worker is None and "mdsr learns x2, x3, x4, not x8" in widget.status.value
    widget.architecture.value = "espcn"
    widget.folder.value = tmp_path / "missing"
    widget.model_name.value = "fresh"
    widget.run()
    assert widget.worker is None and "choose a folder of photographs" in widget.status.value
