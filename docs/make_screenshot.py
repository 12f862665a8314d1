"""Screenshot of the Super-resolution widget in a real viewer (run under xvfb-run -a).

Run it as::

    xvfb-run -a python docs/make_screenshot.py docs/widget.png
"""

import sys

import napari
from qtpy.QtWidgets import QApplication

from napari_superres._widgets.upscale import UpscaleWidget


def main(path):
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 720)
    viewer.open_sample("napari-superres", "astronaut_lowres")
    widget = UpscaleWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Super-resolution")
    widget.method.value = "espcn"
    widget.scale.value = 4
    widget.run()
    while widget.worker is not None:
        QApplication.processEvents()
    screenshot_in_grid(viewer, path)
    viewer.close()


def screenshot_in_grid(viewer, path):
    """Save the whole window with the layers side by side, on the same world grid."""
    viewer.canvas.grid.enabled = True
    for _ in range(5):
        QApplication.processEvents()
    viewer.reset_view()
    QApplication.processEvents()
    viewer.screenshot(path, canvas_only=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/widget.png")
