"""A new user's first hour (issue 20 items 5-7): docks that stay compact, findable widgets, guidance, defaults."""

import numpy as np
import pytest
from magicgui.widgets import Container
from qtpy.QtWidgets import QApplication

from napari_superres._widgets.colorize import ColorizeWidget
from napari_superres._widgets.deblur import DeblurWidget
from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres._widgets.dip import DIPWidget
from napari_superres._widgets.inpaint import InpaintWidget
from napari_superres._widgets.upscale import UpscaleWidget
from napari_superres._widgets.video_prior import VideoPriorWidget

WIDGETS = [UpscaleWidget, DIPWidget, DenoiseWidget, InpaintWidget, ColorizeWidget, VideoPriorWidget]
WINDOW = (1280, 800)


def _fields(container):
    for widget in container:
        if isinstance(widget, Container):
            yield from _fields(widget)
        else:
            yield widget


@pytest.mark.parametrize("widget_class", [*WIDGETS, DeblurWidget])
def test_every_field_says_what_it_does(make_napari_viewer, widget_class):
    widget = widget_class(make_napari_viewer())
    untold = [f.label or f.text for f in _fields(widget) if len(f.tooltip or "") < 20]
    assert not untold


def _window_with_all_docks(viewer):
    viewer.window._qt_window.resize(*WINDOW)
    viewer.window._qt_window.show()
    docks = []
    for widget_class in WIDGETS:
        widget = widget_class(viewer)
        docks.append((widget, viewer.window.add_dock_widget(widget, name=widget_class.__name__)))
    for _ in range(3):
        QApplication.processEvents()
    return docks


def test_six_docks_fit_a_1280x800_window_and_a_long_status_wraps(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 64), np.uint8))
    docks = _window_with_all_docks(viewer)
    widget, dock = docks[0]
    widget.status.value = "Failed: " + "a long explanation of what went wrong " * 20
    for _ in range(3):
        QApplication.processEvents()
    canvas = viewer.window._qt_viewer.canvas.native
    assert all(d.width() < 500 for _, d in docks), [d.width() for _, d in docks]
    assert canvas.width() > 600
    assert viewer.window._qt_window.height() <= WINDOW[1] + 50  # the docks scroll: they do not grow the window


def test_advanced_options_are_folded(make_napari_viewer):
    widget = DIPWidget(make_napari_viewer())
    assert widget.advanced.native.isHidden()
    assert widget.advanced.native.isAncestorOf(widget.learning_rate.native)  # folded with the box
    widget.show_advanced.value = True
    assert not widget.advanced.native.isHidden()


def test_layers_menu_offers_the_tasks():
    from napari._app_model import get_app_model

    app = get_app_model()
    from napari.plugins import _initialize_plugins

    _initialize_plugins()

    def commands(menu):
        return {getattr(item, "command", None) and item.command.id for item in app.menus.get_menu(menu)}

    filters = commands("napari/layers/filter")
    assert {"napari-superres.denoise_widget", "napari-superres.inpaint_widget",
            "napari-superres.colorize_widget"} <= filters
    assert "napari-superres.upscale_widget" in commands("napari/layers/transform")


def test_display_name_says_what_the_plugin_does():
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest("napari-superres")
    assert manifest.display_name == "Image restoration"


def test_upscale_starts_with_a_learned_model(make_napari_viewer):
    widget = UpscaleWidget(make_napari_viewer())
    assert widget.method.value == "espcn" and widget.run_button.enabled


def test_video_prior_never_starts_with_one_layer_twice(make_napari_viewer, moving_scene):
    viewer = make_napari_viewer()
    clean, _ = moving_scene(frames=3, side=16)
    frames = viewer.add_image(clean, name="frames")
    widget = VideoPriorWidget(viewer)
    assert widget.image.value is frames and not widget.run_button.enabled and "processed" in widget.status.value
    processed = viewer.add_image(clean // 2, name="processed")
    assert widget.image.value is frames and widget.processed.value is processed and widget.run_button.enabled


@pytest.mark.parametrize("widget_class", [InpaintWidget, DIPWidget])
def test_the_only_labels_layer_is_the_mask(make_napari_viewer, widget_class):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32)))
    widget = widget_class(viewer)
    assert widget.mask.value is None
    labels = viewer.add_labels(np.zeros((32, 32), np.uint8))
    assert widget.mask.value is labels
    second = widget_class(viewer)  # opened after the labels exist
    assert second.mask.value is labels


def test_colorize_offers_gray_layers_only(make_napari_viewer, astronaut_small, camera_small):
    viewer = make_napari_viewer()
    viewer.add_image(astronaut_small, name="rgb")
    gray = viewer.add_image(camera_small, name="gray")
    widget = ColorizeWidget(viewer)
    assert [layer.name for layer in widget.image.choices] == ["gray"] and widget.image.value is gray
