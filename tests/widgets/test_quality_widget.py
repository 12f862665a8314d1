"""The Quality widget: PSNR/SSIM of result layers against a reference, a table across them, error maps."""

import numpy as np
import pytest

from napari_superres import psnr, ssim
from napari_superres._widgets.quality import ERROR_COLORMAP, QualityWidget


@pytest.fixture
def scored(make_napari_viewer, camera_small):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    viewer.add_image(camera_small, name="truth")
    noisy = np.clip(camera_small + rng.normal(0, 20, camera_small.shape), 0, 255).astype(np.uint8)
    viewer.add_image(noisy, name="noisy", scale=(2, 2), translate=(1, 3))
    viewer.add_image(np.clip(camera_small.astype(int) + 3, 0, 255).astype(np.uint8), name="shifted")
    viewer.add_image(camera_small[:32], name="crop")
    widget = QualityWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.reference.value = viewer.layers["truth"]
    return viewer, widget


def test_table_across_results_matches_the_metrics(scored, camera_small):
    viewer, widget = scored
    widget.results.value = [viewer.layers[name] for name in ("noisy", "shifted", "crop")]
    widget.compare()
    table = widget.table.to_dict("split")
    assert list(table["index"]) == ["noisy", "shifted"] and "crop" in widget.status.value
    noisy = viewer.layers["noisy"].data
    assert table["data"][0][:2] == [f"{psnr(camera_small, noisy, data_range=255):.2f}",
                                    f"{ssim(camera_small, noisy, data_range=255):.4f}"]
    shifted = viewer.layers["shifted"].data
    assert table["data"][1][0] == f"{psnr(camera_small, shifted, data_range=255):.2f}"
    assert 2.5 < float(table["data"][1][2]) <= 3  # 3 levels brighter, less where 255 clipped it


def test_error_maps_overlay_their_result_and_are_updated(scored, camera_small):
    viewer, widget = scored
    widget.results.value = [viewer.layers["noisy"]]
    widget.compare()
    errors = viewer.layers["noisy error vs truth"]
    noisy = viewer.layers["noisy"]
    np.testing.assert_allclose(errors.data, np.abs(noisy.data.astype(float) - camera_small), atol=1e-4)
    np.testing.assert_allclose(errors.scale, noisy.scale)
    np.testing.assert_allclose(errors.translate, noisy.translate)
    assert errors.colormap.name == ERROR_COLORMAP
    count = len(viewer.layers)
    noisy.data = camera_small
    widget.results.value = [viewer.layers["noisy"]]
    widget.compare()
    assert len(viewer.layers) == count and errors.data.max() == 0


def test_rgb_y_channel_and_border(make_napari_viewer, astronaut_small):
    viewer = make_napari_viewer()
    truth = viewer.add_image(astronaut_small, name="truth")
    dimmer = viewer.add_image((astronaut_small * 0.9).astype(np.uint8), name="dimmer")
    widget = QualityWidget(viewer)
    widget.reference.value, widget.results.value = truth, [dimmer]
    widget.y_channel.value, widget.border.value = True, 4
    widget.compare()
    expected = psnr(astronaut_small, dimmer.data, crop_border=4, y_channel=True, channel_axis=-1)
    assert widget.table.to_dict("split")["data"][0][0] == f"{expected:.2f}"
    assert viewer.layers["dimmer error vs truth"].data.shape == (64, 64)


def test_nothing_to_compare_says_so(scored):
    _, widget = scored
    widget.results.value = [widget.reference.value]
    widget.compare()
    assert "at least one other" in widget.status.value
