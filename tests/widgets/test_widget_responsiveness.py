"""Widgets keep the GUI thread free: heavy set-up runs in the worker, Cancel acts within one block."""

import importlib
import threading
import time

import dask.array as da
import numpy as np
import pytest
from napari.layers import Image, Labels, Shapes

from napari_superres._widgets import denoise as denoise_widget
from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres._widgets.inpaint import InpaintWidget
from napari_superres._widgets.layers import hints_maker, mask_maker
from napari_superres._widgets.upscale import UpscaleWidget

SLOW = 2.0  # seconds a monkeypatched estimate or a dask chunk takes
GUI_BUDGET = 0.5  # seconds the GUI thread may spend starting a job


def _wait(qtbot, widget, attribute="worker", timeout=60_000):
    qtbot.waitUntil(lambda: getattr(widget, attribute, None) is None, timeout=timeout)


def _timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@pytest.fixture
def slow_estimate(monkeypatch):
    """``estimate_noise`` made to take SLOW seconds and return ``value[0]``; records the threads it ran on."""
    threads, value = [], [20.0]

    def estimate(image, *, channel_axis=None):
        threads.append(threading.current_thread())
        time.sleep(SLOW)
        return value[0]

    for module in (denoise_widget, importlib.import_module("napari_superres.denoise")):
        monkeypatch.setattr(module, "estimate_noise", estimate)
    return threads, value


def _denoise_widget_on(viewer, image, method="tv"):
    widget = DenoiseWidget(viewer)
    widget.image.value = viewer.add_image(image, name="noisy")
    widget.method.value = method
    return widget


def test_denoise_estimates_sigma_in_the_worker(make_napari_viewer, qtbot, slow_estimate, noisy_camera):
    threads, _ = slow_estimate
    widget = _denoise_widget_on(make_napari_viewer(), noisy_camera[1])
    assert widget.sigma.value == 0  # σ to be estimated
    assert _timed(widget.run) < GUI_BUDGET
    assert widget.worker is not None and "σ = estimated" in widget.status.value
    _wait(qtbot, widget)
    result = widget._viewer.layers[-1]
    assert result.name == "noisy (tv denoise)", widget.status.value
    assert result.metadata["napari_superres"]["sigma"] == 20.0 and "σ = 20" in widget.status.value
    assert threads and threading.main_thread() not in threads


def test_estimate_button_fills_the_field_without_freezing(make_napari_viewer, qtbot, slow_estimate, noisy_camera):
    threads, _ = slow_estimate
    widget = _denoise_widget_on(make_napari_viewer(), noisy_camera[1])
    assert _timed(widget.estimate_button.native.click) < GUI_BUDGET
    assert widget.sigma.value == 0 and not widget.estimate_button.enabled and "Estimating" in widget.status.value
    _wait(qtbot, widget, "estimate_worker")
    assert widget.sigma.value == 20.0 and "Estimated noise σ of noisy = 20" in widget.status.value
    assert widget.estimate_button.enabled and threading.main_thread() not in threads


def test_estimate_of_an_image_with_an_empty_channel_is_finite(make_napari_viewer, qtbot, astronaut_small):
    rgb = astronaut_small.copy()
    rgb[..., 1] = 0
    widget = _denoise_widget_on(make_napari_viewer(), rgb)
    widget.estimate()
    _wait(qtbot, widget, "estimate_worker")
    assert np.isfinite(widget.sigma.value) and widget.sigma.value < widget.sigma.max, widget.status.value
    assert "Estimated" in widget.status.value
    for sigma in (widget.sigma.value, 0):  # the estimate in the field, then estimated by the run
        widget.sigma.value = sigma
        widget.run()
        _wait(qtbot, widget)
        result = widget._viewer.layers[-1].data
        assert result.shape == rgb.shape and not result[..., 1].any(), widget.status.value


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_estimate_never_lands_in_the_field(make_napari_viewer, qtbot, slow_estimate, noisy_camera,
                                                       bad):
    _, value = slow_estimate
    value[0] = bad
    widget = _denoise_widget_on(make_napari_viewer(), noisy_camera[1])
    widget.sigma.value = 3.0
    widget.estimate()
    _wait(qtbot, widget, "estimate_worker")
    assert widget.sigma.value == 3.0 and "cannot be estimated" in widget.status.value
    widget.sigma.value = 0
    widget.run()
    _wait(qtbot, widget)
    assert "cannot be estimated" in widget.status.value and "enter σ" in widget.status.value
    assert len(widget._viewer.layers) == 1


def test_estimate_keeps_small_and_refuses_huge_values(make_napari_viewer, qtbot, slow_estimate, noisy_camera):
    _, value = slow_estimate
    widget = _denoise_widget_on(make_napari_viewer(), noisy_camera[1])
    value[0] = 0.01234  # a float image in [0, 1]: σ of a hundredth must not be rounded to 0.01
    widget.estimate()
    _wait(qtbot, widget, "estimate_worker")
    assert widget.sigma.value == pytest.approx(0.0123)
    value[0] = 1e12  # beyond the field: not clamped to its maximum
    widget.estimate()
    _wait(qtbot, widget, "estimate_worker")
    assert widget.sigma.value == pytest.approx(0.0123) and "beyond this field" in widget.status.value


def _slow_chunk(block):
    time.sleep(SLOW)
    return block


def test_upscale_along_z_loads_a_dask_layer_in_the_worker(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    stack = np.stack([camera_small, camera_small[::-1], camera_small // 2])
    lazy = da.from_array(stack, chunks=stack.shape).map_blocks(_slow_chunk, dtype=stack.dtype)
    layer = viewer.add_image(lazy, contrast_limits=(0, 255))
    widget = UpscaleWidget(viewer)
    widget.image.value, widget.method.value, widget.axes.value, widget.scale.value = layer, "bicubic", "Z", 2
    assert _timed(widget.run) < GUI_BUDGET
    assert widget.worker is not None
    _wait(qtbot, widget)
    assert viewer.layers[-1].data.shape == (6, 64, 64), widget.status.value


def test_cancel_of_an_upscale_along_z_acts_within_a_block(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    stack = np.random.default_rng(0).integers(0, 256, (64, 512, 512), dtype=np.uint8)  # some 4 s of Lanczos
    widget = UpscaleWidget(viewer)
    widget.image.value = viewer.add_image(stack, contrast_limits=(0, 255))
    widget.method.value, widget.axes.value, widget.scale.value = "lanczos", "Z", 4
    widget.run()
    qtbot.waitUntil(lambda: widget.progress.value > 0, timeout=30_000)
    cancelled = time.perf_counter()
    widget.cancel()
    _wait(qtbot, widget)
    assert time.perf_counter() - cancelled < 1.5
    assert widget.status.value == "Cancelled." and widget.progress.value < 50
    assert len(viewer.layers) == 1


def test_inpaint_fills_the_shapes_mask_in_the_worker(make_napari_viewer, qtbot, monkeypatch, camera_small):
    fill, threads = Shapes.to_masks, []

    def slow_fill(self, *args, **kwargs):  # filling shapes on a large plane takes seconds
        threads.append(threading.current_thread())
        time.sleep(SLOW)
        return fill(self, *args, **kwargs)

    monkeypatch.setattr(Shapes, "to_masks", slow_fill)
    viewer = make_napari_viewer()
    widget = InpaintWidget(viewer)
    widget.image.value = viewer.add_image(camera_small, name="cam")
    widget.mask.value = viewer.add_shapes([[[10, 10], [10, 20], [20, 20], [20, 10]]], shape_type="rectangle")
    assert _timed(widget.run) < GUI_BUDGET
    _wait(qtbot, widget)
    assert viewer.layers[-1].name == "cam (auto inpaint)", widget.status.value
    assert threads and threading.main_thread() not in threads


@pytest.mark.parametrize("maker", [mask_maker, hints_maker])
def test_masks_and_hints_from_labels_are_read_when_made(maker, camera_small):
    labels = np.zeros(camera_small.shape, np.uint8)
    labels[5:9, 5:9] = 1
    slow = da.from_array(labels, chunks=labels.shape).map_blocks(_slow_chunk, dtype=labels.dtype)
    labels_layer, image_layer = Labels(slow), Image(camera_small)
    make = None

    def check():
        nonlocal make
        make = maker(labels_layer, image_layer)

    assert _timed(check) < GUI_BUDGET  # the checks only: no pass over the labels
    made = make()
    assert made.shape[:2] == labels.shape and np.count_nonzero(made.reshape(64, 64, -1).any(-1)) == 16
