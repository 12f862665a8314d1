"""Screenshots of the trust map of the Super-resolution widget and of the Quality widget's table and error map.

A 1280×800 window, as ``make_widget_screenshots.py``. Run it as::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_quality_screenshots.py docs/widgets
"""

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication
from skimage import data

from napari_superres import imresize
from napari_superres._widgets.quality import QualityWidget
from napari_superres._widgets.upscale import SPREAD, UpscaleWidget


def pump(seconds=0.3):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def show(viewer):
    pump(1.0)  # the canvas takes its size from the docks first
    viewer.reset_view()
    pump()


def upscale_with(widget, layer, method, trust):
    widget.image.value, widget.method.value, widget.scale.value = layer, method, 4
    widget.uncertainty.value = trust
    widget.run()
    while widget.worker is not None:
        pump(0.1)


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    truth = data.astronaut()[96:352, 96:352]  # the face and the flag: detail that x4 loses
    viewer.add_image(truth, name="truth")
    # On the truth's grid: each low-resolution pixel covers 4x4 of the truth's, centred on them.
    lowres = viewer.add_image(imresize(truth, 1 / 4, channel_axis=-1), name="x4 low-res", scale=(4, 4),
                              translate=(1.5, 1.5))
    upscaler = UpscaleWidget(viewer)
    dock = viewer.window.add_dock_widget(upscaler, name="Super-resolution")
    upscale_with(upscaler, lowres, "bicubic", "none")
    upscale_with(upscaler, lowres, "edsr", SPREAD)
    for layer in viewer.layers:  # side by side: the result and where it is unsure
        layer.visible = "x4 low-res (edsr" in layer.name
    viewer.canvas.grid.enabled = True
    show(viewer)
    viewer.screenshot(str(folder / "upscale_trust_map.png"), canvas_only=False)

    viewer.window.remove_dock_widget(dock)
    viewer.canvas.grid.enabled = False
    quality = QualityWidget(viewer)
    viewer.window.add_dock_widget(quality, name="Quality")
    quality.reference.value = viewer.layers["truth"]
    quality.results.value = [layer for layer in viewer.layers if "(bicubic" in layer.name or "mean of 8" in layer.name]
    quality.y_channel.value, quality.border.value = True, 4
    quality.compare()
    for layer in viewer.layers:
        layer.visible = "mean of 8" in layer.name and layer.name.endswith("error vs truth")
    show(viewer)
    viewer.screenshot(str(folder / "quality.png"), canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/widgets")
