"""Progress that moves (issue 20 items 2, 4): within one plane, Cancel within seconds, iteration, loss, time left."""

import time

import numpy as np
import pytest

from napari_superres._fitting import FitStep
from napari_superres._widgets import base
from napari_superres._widgets import dip as dip_widget
from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres._widgets.dip import DIPWidget
from napari_superres._widgets.upscale import UpscaleWidget, auto_tile
from napari_superres._widgets.video_prior import VideoPriorWidget


def _wait(qtbot, widget, timeout=300_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


def _record(field):
    seen = []
    field.changed.connect(seen.append)
    return seen


def test_one_plane_reports_progress_block_by_block(make_napari_viewer, qtbot, rng):
    viewer = make_napari_viewer()
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(rng.integers(0, 256, (384, 384, 3), dtype=np.uint8))
    widget.method.value = "espcn"
    values = _record(widget.progress)
    widget.run()
    _wait(qtbot, widget)
    assert len({v for v in values if 0 < v < 100}) >= 3, values  # was 0 then 100: the plane was one block
    assert viewer.layers[-1].data.shape == (1536, 1536, 3)


def test_cancel_acts_within_a_plane(make_napari_viewer, qtbot, rng):
    viewer = make_napari_viewer()
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8))
    widget.method.value = "edsr"
    widget.run()
    qtbot.waitUntil(lambda: 0 < widget.progress.value < 100, timeout=120_000)
    cancelled = time.perf_counter()
    widget.cancel()
    _wait(qtbot, widget)
    # Cancel waits for the block under way, about as long as the first block took (was the whole plane).
    assert time.perf_counter() - cancelled < 1.5 * (cancelled - widget._started)
    assert widget.status.value == "Cancelled." and len(viewer.layers) == 1


def test_auto_tile_splits_every_plane():
    assert auto_tile((512, 512)) == 256 and auto_tile((100, 60)) == 128 and auto_tile((8000, 300)) == 512


def test_a_refused_run_clears_the_last_runs_100_percent(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(camera_small)
    widget.method.value = "bicubic"
    widget.run()
    _wait(qtbot, widget)
    assert widget.progress.value == 100
    viewer.layers.clear()
    widget.run()
    assert widget.progress.value == 0 and "Open or select" in widget.status.value


@pytest.fixture
def eta_at_once(monkeypatch):
    """The time left told from the first step on, and the status rewritten at every step."""
    monkeypatch.setattr(base, "ETA_AFTER_S", 0.0)
    monkeypatch.setattr(base, "STATUS_EVERY_S", 0.0)


def _fit_statuses(qtbot, widget):
    statuses, show_step = [], widget._show_step

    def recorded(*args):
        show_step(*args)
        statuses.append(widget.status.value)

    widget._show_step = recorded
    widget.run()
    _wait(qtbot, widget)
    return statuses


def test_dip_shows_iteration_loss_and_time_left(make_napari_viewer, qtbot, camera_small, eta_at_once):
    viewer = make_napari_viewer()
    widget = DIPWidget(viewer)
    widget.image.value = viewer.add_image(camera_small[:32, :32])
    widget.iterations.value, widget.early_stopping.value = 12, False
    statuses = _fit_statuses(qtbot, widget)
    running = [s for s in statuses if "iteration" in s]
    assert any("loss" in s and " left" in s and "/12" in s for s in running), statuses


def test_noise2void_shows_iteration_loss_and_time_left(make_napari_viewer, qtbot, camera_small, eta_at_once):
    viewer = make_napari_viewer()
    widget = DenoiseWidget(viewer)
    widget.image.value = viewer.add_image(camera_small)
    widget.method.value = "n2v"
    widget.iterations.value = 8
    statuses = _fit_statuses(qtbot, widget)
    assert any("iteration" in s and "loss" in s and " left" in s for s in statuses), statuses


def test_video_prior_shows_iteration_loss_and_time_left(make_napari_viewer, qtbot, moving_scene, eta_at_once):
    viewer = make_napari_viewer()
    clean, _ = moving_scene(frames=3, side=32)
    viewer.add_image(clean, name="frames")
    viewer.add_image(clean // 2, name="processed")
    widget = VideoPriorWidget(viewer)
    widget.epochs.value = 3
    statuses = _fit_statuses(qtbot, widget)
    assert any("iteration" in s and "loss" in s and " left" in s for s in statuses), statuses


def test_a_long_upscale_says_how_long_it_has_left(make_napari_viewer, qtbot, rng, eta_at_once):
    viewer = make_napari_viewer()
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(rng.integers(0, 256, (384, 384, 3), dtype=np.uint8))
    statuses = _fit_statuses(qtbot, widget)
    assert any(s.endswith(" left") for s in statuses), statuses


def _fast_fit(image, task, iterations=2000, **_):
    """A fit of ``iterations`` quick steps (some 1 ms each), as a small image gives."""
    for i in range(1, iterations + 1):
        time.sleep(0.001)
        yield FitStep(i, iterations, 0, 1, 1.0 / i)
    return image


def test_the_status_is_rewritten_a_few_times_a_second(make_napari_viewer, qtbot, camera_small, monkeypatch):
    monkeypatch.setattr(dip_widget, "iter_fit_dip", _fast_fit)
    viewer = make_napari_viewer()
    widget = DIPWidget(viewer)
    widget.image.value = viewer.add_image(camera_small[:16, :16])
    label, texts = widget.status.native, []
    set_text = label.setText
    label.setText = lambda text: texts.append(text) or set_text(text)
    started = time.perf_counter()
    widget.run()
    _wait(qtbot, widget)
    seconds = time.perf_counter() - started
    # Each step rewrote it (2000 times) before.
    assert texts[-1].startswith("Done") and len(texts) <= min(100, 3 + seconds / base.STATUS_EVERY_S), len(texts)


def test_eta_waits_for_enough_work():
    assert base.eta_seconds(1.0, 0.5, 0.5) is None  # too early to tell
    assert base.eta_seconds(10.0, 0.25, 0.75) == pytest.approx(30.0)
