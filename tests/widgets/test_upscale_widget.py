import dask.array as da
import numpy as np
import pytest

from napari_superres import upscale
from napari_superres._widgets.upscale import UpscaleWidget
from napari_superres.lazy import is_lazy
from napari_superres.models import find_model


@pytest.fixture
def viewer_with_sample(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-superres", "astronaut_lowres")
    return viewer


def _dock(viewer):
    widget = UpscaleWidget(viewer)
    viewer.window.add_dock_widget(widget)
    return widget


def _wait_idle(qtbot, widget, timeout=120_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


@pytest.mark.parametrize("method", ["bicubic", "espcn"])
def test_widget_adds_aligned_layer(viewer_with_sample, qtbot, method):
    viewer = viewer_with_sample
    layer = viewer.layers[0]
    layer.scale = (2.0, 3.0)
    layer.translate = (5.0, 7.0)
    before = layer.data.copy()
    widget = _dock(viewer)
    widget.image.value = layer
    widget.method.value = method
    widget.scale.value = 4
    widget.run()
    _wait_idle(qtbot, widget)

    assert len(viewer.layers) == 2, widget.status.value
    result = viewer.layers[1]
    assert result.name == f"{layer.name} ({method} x4)"
    assert result.data.shape == (512, 512, 3) and result.data.dtype == np.uint8 and result.rgb
    np.testing.assert_allclose(result.scale, [0.5, 0.75])
    # The new pixel grid starts at the old grid's edge: pixel centres line up.
    np.testing.assert_allclose(result.translate, [5.0 - 0.75, 7.0 - 1.125])
    np.testing.assert_allclose(result.data_to_world([1.5, 1.5]), layer.data_to_world([0, 0]))
    assert widget.progress.value == 100
    np.testing.assert_array_equal(layer.data, before)
    record = result.metadata["napari_superres"]
    assert record["method"] == method and record["scale"] == 4 and record["napari_superres"]
    if method == "espcn":  # a learned model names its weights and the device it ran on
        assert record["model"]["weights_sha256"] == find_model("espcn", 4).sha256 and record["device"] == "cpu"
    else:
        assert "model" not in record


def test_widget_on_a_grayscale_stack(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    stack = np.stack([camera_small, camera_small[::-1]]).astype(np.uint16) * 100
    layer = viewer.add_image(stack, scale=(3.0, 1.0, 1.0), colormap="magma")
    widget = _dock(viewer)
    widget.image.value = layer
    widget.scale.value = 2
    widget.run()
    _wait_idle(qtbot, widget)
    result = viewer.layers[1]
    assert result.data.shape == (2, 128, 128) and result.data.dtype == np.uint16
    np.testing.assert_allclose(result.scale, [3.0, 0.5, 0.5])
    np.testing.assert_allclose(result.translate, [0.0, -0.25, -0.25])
    assert result.colormap.name == "magma"


def test_cancel_leaves_no_layer_and_input_untouched(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    layer = viewer.add_image(rng.random((40, 256, 256)).astype(np.float32))
    before = layer.data.copy()
    widget = _dock(viewer)
    widget.image.value = layer
    widget.method.value = "lanczos"
    widget.run()
    assert widget.cancel_button.enabled and not widget.run_button.enabled
    qtbot.waitUntil(lambda: widget.progress.value > 0, timeout=60_000)
    widget.cancel()
    _wait_idle(qtbot, widget)
    assert widget.progress.value < 100
    assert len(viewer.layers) == 1
    assert widget.status.value == "Cancelled."
    np.testing.assert_array_equal(layer.data, before)
    assert widget.run_button.enabled and not widget.cancel_button.enabled


def test_scale_without_weights_disables_run(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = _dock(viewer)
    widget.method.value = "espcn"
    widget.scale.value = 7
    assert not widget.run_button.enabled
    assert "trained for" in widget.status.value
    widget.scale.value = 4
    assert widget.run_button.enabled


def test_layer_choices_follow_the_viewer(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    widget = _dock(viewer)
    assert widget.image.value is None
    layer = viewer.add_image(camera_small, name="cam")
    assert widget.image.value is layer
    viewer.add_labels(np.zeros((4, 4), int))
    assert [name for name, _ in widget._image_layers()] == ["cam"]


def test_widget_makes_voxels_isotropic_along_z(make_napari_viewer, qtbot, camera_small):
    viewer = make_napari_viewer()
    stack = np.stack([camera_small, camera_small // 2, camera_small[::-1]]).astype(np.uint16) * 100
    layer = viewer.add_image(stack, scale=(4.0, 1.0, 1.0), translate=(10.0, 0.0, 0.0))
    widget = _dock(viewer)
    widget.image.value = layer
    widget.method.value = "espcn"
    widget.axes.value = "Z"
    assert not widget.run_button.enabled and "interpolation" in widget.status.value
    widget.method.value = "bicubic"
    widget.scale.value = 4
    assert widget.run_button.enabled, widget.status.value
    widget.run()
    _wait_idle(qtbot, widget)
    result = viewer.layers[-1]
    assert result.data.shape == (12,) + camera_small.shape and result.data.dtype == np.uint16, widget.status.value
    np.testing.assert_allclose(result.scale, [1.0, 1.0, 1.0])
    # Four new slices tile each old one: their mean position is the old slice's centre.
    np.testing.assert_allclose(result.data_to_world([1.5, 0, 0]), layer.data_to_world([0, 0, 0]))
    assert tuple(result.metadata["napari_superres"]["scale"]) == (4, 1, 1)


def test_widget_on_a_dask_stack_adds_a_lazy_layer(make_napari_viewer, qtbot, stack):
    viewer = make_napari_viewer()
    layer = viewer.add_image(da.from_array(stack[..., 0], chunks=(1, 70, 103)), scale=(4.0, 1.0, 1.0),
                             units=("s", "µm", "µm"), axis_labels=("t", "y", "x"))
    widget = UpscaleWidget(viewer)
    widget.image.value = layer
    widget.method.value = "bicubic"
    widget.scale.value = 2
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert is_lazy(result.data) and result.data.shape == (3, 140, 206), widget.status.value
    assert "lazy" in widget.status.value and widget.progress.value == 100
    assert tuple(map(str, result.units)) == tuple(map(str, layer.units)) and result.axis_labels == ("t", "y", "x")
    np.testing.assert_allclose(result.scale, [4.0, 0.5, 0.5])
    np.testing.assert_array_equal(np.asarray(result.data[1]), upscale(stack[1, ..., 0], 2, method="bicubic"))


def test_widget_tells_the_user_out_of_memory(espcn_with_little_memory, make_napari_viewer, qtbot, astronaut_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(astronaut_small)
    widget = UpscaleWidget(viewer)
    widget.image.value = layer
    widget.method.value = "espcn"
    widget.scale.value = 2
    widget.tile.value = 64
    messages = []
    widget.run()
    widget.worker.warned.connect(lambda args: messages.append(widget.status.value))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert any("retrying with 36-pixel tiles" in m for m in messages), messages
    assert viewer.layers[-1].data.shape == (128, 128, 3)
