"""Screenshot of a 3D stack result: Z made isotropic by the Super-resolution widget (run under xvfb-run -a).

A synthetic volume of blobs is sampled every fourth slice (Z step 4x the pixel size,
as a coarse confocal stack); the widget enlarges Z only, x4, and both volumes are
rendered in 3D side by side on the same world grid.

    xvfb-run -a python docs/make_stack_figure.py docs/stack_3d.png
"""

import sys

import napari
import numpy as np
from qtpy.QtWidgets import QApplication
from scipy import ndimage
from skimage import data

from napari_superres._widgets.upscale import UpscaleWidget


def coarse_stack():
    blobs = data.binary_blobs(length=128, n_dim=3, volume_fraction=0.04, blob_size_fraction=0.12, rng=3)
    volume = ndimage.gaussian_filter(blobs.astype(np.float32), 1.5)
    return (volume[::4] * 60000).astype(np.uint16)


def main(path):
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 760)
    layer = viewer.add_image(coarse_stack(), name="stack (Z step 4 µm)", scale=(4.0, 1.0, 1.0),
                             units=("µm", "µm", "µm"), axis_labels=("z", "y", "x"), colormap="magma",
                             rendering="mip")
    widget = UpscaleWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Super-resolution")
    widget.image.value = layer
    widget.method.value = "lanczos"
    widget.axes.value = "Z"
    widget.scale.value = 4
    widget.run()
    while widget.worker is not None:
        QApplication.processEvents()
    for shown in viewer.layers:  # voxels as they are: the coarse stack's Z steps show
        shown.rendering, shown.interpolation3d = "mip", "nearest"
    viewer.dims.ndisplay = 3
    viewer.canvas.grid.enabled = True
    for _ in range(5):
        QApplication.processEvents()
    viewer.reset_view()
    viewer.camera.angles = (0, 70, 80)
    QApplication.processEvents()
    viewer.screenshot(path, canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/stack_3d.png")
