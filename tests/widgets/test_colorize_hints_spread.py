"""Issue 20 item 8: a colour hint colours the region it sits in, not a disc around it, and stops at its edges."""

import numpy as np
from skimage import color

from napari_superres._widgets.colorize import ColorizeWidget


def _two_regions():
    """A bright disc with a faint texture on a dark background: two regions with one edge between them."""
    rows, cols = np.mgrid[:256, :256]
    disc = (rows - 128) ** 2 + (cols - 110) ** 2 < 90**2
    texture = 6 * np.sin(rows / 3.0) * np.cos(cols / 4.0)
    return np.where(disc, 190 + texture, 40 + texture).astype(np.uint8), disc


def _hue_distance(rgb, reference):
    ab = color.rgb2lab(rgb / 255.0)[..., 1:]
    return np.linalg.norm(ab - reference, axis=-1)


def test_one_point_colours_its_whole_region(tiny_colorizer, make_napari_viewer, qtbot):
    gray, disc = _two_regions()
    viewer = make_napari_viewer()
    layer = viewer.add_image(gray)
    points = viewer.add_points([[128.0, 110.0]], face_color=[1.0, 0.5, 0.0, 1.0], size=3)
    widget = ColorizeWidget(viewer)
    assert widget.hints.value is points  # the only hints layer is picked
    widget.image.value, widget.method.value = layer, tiny_colorizer
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1].data.astype(float)
    hint_ab = color.rgb2lab(np.array([[[1.0, 0.5, 0.0]]]))[0, 0, 1:]
    far = _hue_distance(result, hint_ab)
    # The hint's colour (within 20 ab units: orange at the disc's lightness is out of gamut, clipped) on the
    # disc's pixels, 80 pixels away from the click too; a correction that fades with the distance tinted a
    # small disc around the point.
    assert np.mean(far[disc] < 20) > 0.9, np.mean(far[disc] < 20)
    assert np.mean(far[~disc] < 20) < 0.1, np.mean(far[~disc] < 20)
