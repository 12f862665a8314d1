"""Screenshots of every dock widget in its default state, and of a fit and a training mid-run.

A 1280×800 window with every dock open (tabbed, so that each one shows whole
when raised). Run it as::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_widget_screenshots.py docs/widgets
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import napari
import numpy as np
from qtpy.QtWidgets import QApplication
from skimage import color, data

from napari_superres._widgets.colorize import ColorizeWidget
from napari_superres._widgets.deblur import DeblurWidget
from napari_superres._widgets.denoise import DenoiseWidget
from napari_superres._widgets.dip import DIPWidget
from napari_superres._widgets.inpaint import InpaintWidget
from napari_superres._widgets.models import ModelsWidget
from napari_superres._widgets.quality import QualityWidget
from napari_superres._widgets.train import TrainWidget
from napari_superres._widgets.train_upscaler import TrainUpscalerWidget
from napari_superres._widgets.upscale import UpscaleWidget
from napari_superres._widgets.video_prior import VideoPriorWidget

# File name: (widget, its title in napari's menus)
WIDGETS = {"upscale": (UpscaleWidget, "Super-resolution"), "dip": (DIPWidget, "Deep Image Prior"),
           "denoise": (DenoiseWidget, "Denoise"), "inpaint": (InpaintWidget, "Inpaint"),
           "colorize": (ColorizeWidget, "Colorize"), "video_prior": (VideoPriorWidget, "Deep Video Prior"),
           "deblur": (DeblurWidget, "Deblur / JPEG"), "quality": (QualityWidget, "Quality"),
           "models": (ModelsWidget, "Models"), "train": (TrainWidget, "Train (Noise2Void)"),
           "train_upscaler": (TrainUpscalerWidget, "Train (super-resolution)")}


def pump(seconds=0.3):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1280, 800)
    viewer.open_sample("napari-superres", "astronaut_lowres")
    gray = (color.rgb2gray(data.astronaut()[::4, ::4]) * 255).astype(np.uint8)
    viewer.add_image(gray, name="astronaut (gray)")
    docks = {}
    for name, (widget_class, title) in WIDGETS.items():
        widget = widget_class(viewer)
        docks[name] = (widget, viewer.window.add_dock_widget(widget, name=title))
    first = docks["upscale"][1]
    for _, dock in list(docks.values())[1:]:
        window.tabifyDockWidget(first, dock)
    for name, (_, dock) in docks.items():
        dock.raise_()
        pump()
        viewer.screenshot(str(folder / f"{name}.png"), canvas_only=False)
    widget, dock = docks["dip"]
    dock.raise_()
    widget.image.value = viewer.layers["astronaut (gray)"]
    widget.run()
    while widget.worker is not None and not widget.status.value.endswith(" left"):
        pump(0.1)
    pump(10.0)  # a few more iterations: the time left is measured on them
    viewer.screenshot(str(folder / "dip_running.png"), canvas_only=False)
    widget.cancel()
    while widget.worker is not None:
        pump(0.1)
    train_upscaler_mid_run(viewer, *docks["train_upscaler"], folder)
    viewer.close()


def train_upscaler_mid_run(viewer, widget, dock, folder):
    """ESPCN x2 learning from four of scikit-image's photographs; the model is not kept."""
    photos = Path(tempfile.mkdtemp())
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        iio.imwrite(photos / f"{name}.png", getattr(data, name)())
    widget.model_name.value, widget.folder.value, widget.steps.value = "photos_espcn", photos, 300
    widget.image.value = viewer.layers[0]
    with tempfile.TemporaryDirectory() as weights:
        os.environ["NAPARI_SUPERRES_WEIGHTS"] = weights
        dock.raise_()
        widget.run()
        while widget.worker is not None and len(widget.plot.points) < 60:
            pump(0.1)
        pump(2.0)
        viewer.screenshot(str(folder / "train_upscaler_running.png"), canvas_only=False)
        widget.cancel()
        while widget.worker is not None:
            pump(0.1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/widgets")
