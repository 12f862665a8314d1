"""Screenshot of the Deep Image Prior widget mid-run, its preview layer beside the noisy input.

    xvfb-run -a python docs/make_dip_screenshot.py docs/dip_widget.png

Denoises a noisy crop of scikit-image's astronaut (σ = 25) and takes the picture
after ``ITERATIONS_BEFORE_SHOT`` iterations, while the fit is still running.
"""

import sys

import napari
import numpy as np
from make_screenshot import screenshot_in_grid  # noqa: E402 (docs/ is on the path when run as a script)
from qtpy.QtWidgets import QApplication
from skimage import data

from napari_superres._widgets.dip import DIPWidget

ITERATIONS_BEFORE_SHOT = 400


def main(path):
    rng = np.random.default_rng(0)
    clean = data.astronaut()[30:286, 130:386]
    noisy = np.clip(np.round(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 760)
    layer = viewer.add_image(noisy, name="astronaut (noisy)")
    widget = DIPWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Deep Image Prior")
    widget.image.value = layer
    widget.preview_every.value = 25
    widget.run()
    shot_at = 100 * ITERATIONS_BEFORE_SHOT / widget.iterations.value
    while widget.worker is not None and widget.progress.value < shot_at:
        QApplication.processEvents()
    screenshot_in_grid(viewer, path)
    widget.cancel()
    while widget.worker is not None:
        QApplication.processEvents()
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/dip_widget.png")
