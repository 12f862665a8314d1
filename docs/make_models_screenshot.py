"""Screenshot of the Models panel: the published catalogue, the licence of the chosen model, the imported ones.

    xvfb-run -a python docs/make_models_screenshot.py docs/models_panel.png

Nothing is downloaded: the panel only lists the catalogue and the models found in
the weights folders.
"""

import sys

import napari
from qtpy.QtWidgets import QApplication

from napari_superres._widgets.models import ModelsWidget


def main(path):
    viewer = napari.Viewer(show=True)
    widget = ModelsWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Models")
    dock.setMinimumWidth(420)
    viewer.window._qt_window.resize(1100, 620)
    for _ in range(20):
        QApplication.processEvents()
    widget.native.grab().save(str(path))
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/models_panel.png")
