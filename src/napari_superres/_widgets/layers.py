"""napari layers to the core's numpy inputs (no Qt here)."""

from __future__ import annotations

import numpy as np
from napari.layers import Labels, Points, Shapes


def layer_mask(mask_layer, image_layer):
    """Boolean mask on ``image_layer``'s pixel grid from a Labels or Shapes layer.

    Labels: every non-zero label, on the same grid as the image (its plane or its
    whole spatial shape). Shapes: every shape filled, its vertices carried through
    world coordinates onto the image's last two axes, so a rectangle drawn over
    the image covers the pixels it is drawn over whatever the layers' scales.
    """
    return mask_maker(mask_layer, image_layer)()


def mask_maker(mask_layer, image_layer):
    """:func:`layer_mask` in two steps: the checks now, and a function of no argument that makes the mask.

    The checks are quick, for the GUI thread; making the mask reads the labels or
    fills the shapes (seconds for a large plane), for a worker.
    """
    spatial = image_layer.data.shape[:-1] if image_layer.rgb else image_layer.data.shape
    plane = tuple(spatial[-2:])
    if isinstance(mask_layer, Labels):
        data = mask_layer.data
        if data.shape not in (plane, tuple(spatial)):
            raise ValueError(f"the labels layer {mask_layer.name!r} has shape {data.shape}; "
                             f"it must match the image's plane {plane} or its shape {tuple(spatial)}")
        return lambda: np.asarray(data) != 0
    if isinstance(mask_layer, Shapes):
        if not len(mask_layer.data):
            raise ValueError(f"the shapes layer {mask_layer.name!r} has no shapes; draw the region to fill")
        vertices = [_on_image_grid(v, mask_layer, image_layer) for v in mask_layer.data]
        on_image = Shapes(vertices, shape_type=list(mask_layer.shape_type))
        return lambda: np.asarray(on_image.to_masks(mask_shape=plane)).any(axis=0)
    raise ValueError(f"{mask_layer.name!r} is neither a Labels nor a Shapes layer")


def _on_image_grid(coordinates, layer, image_layer):
    """``(N, 2)`` positions on ``image_layer``'s last two pixel axes of ``layer``'s data coordinates (via world)."""
    s_layer, t_layer = np.asarray(layer.scale[-2:]), np.asarray(layer.translate[-2:])
    s_image, t_image = np.asarray(image_layer.scale[-2:]), np.asarray(image_layer.translate[-2:])
    return ((np.asarray(coordinates)[:, -2:] * s_layer + t_layer) - t_image) / s_image


def layer_hints(hints_layer, image_layer, radius=1):
    """RGBA colour hints ``(H, W, 4)`` on ``image_layer``'s plane from a Points or Labels layer.

    Points: a ``(2 radius + 1)``-pixel square of each point's face colour. Labels:
    every labelled pixel in its label's colour (the labels must be on the image's plane).
    """
    return hints_maker(hints_layer, image_layer, radius)()


def hints_maker(hints_layer, image_layer, radius=1):
    """:func:`layer_hints` in two steps: the checks now, and a function that paints the hints later.

    The checks run at once (GUI thread); the returned function of no argument paints the hints (a pass over a
    Labels layer: for a worker).
    """
    plane = tuple((image_layer.data.shape[:-1] if image_layer.rgb else image_layer.data.shape)[-2:])
    if isinstance(hints_layer, Points):
        if not len(hints_layer.data):
            raise ValueError(f"the points layer {hints_layer.name!r} has no points; add points with colours")
        positions = np.round(_on_image_grid(hints_layer.data, hints_layer, image_layer)).astype(int)
        colours = np.array(hints_layer.face_color)
        return lambda: _square_hints(plane, positions, colours, radius)
    if isinstance(hints_layer, Labels):
        labels = hints_layer.data
        if labels.shape != plane:
            raise ValueError(f"the labels layer {hints_layer.name!r} has shape {labels.shape}, not the image's "
                             f"plane {plane}")
        return lambda: _label_hints(np.asarray(labels), hints_layer.get_color)
    raise ValueError(f"{hints_layer.name!r} is neither a Points nor a Labels layer")


def _square_hints(plane, positions, colours, radius):
    hints = np.zeros(plane + (4,))
    for (row, col), colour in zip(positions, colours, strict=False):
        if 0 <= row < plane[0] and 0 <= col < plane[1]:
            hints[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1] = colour
    return hints


def _label_hints(labels, colour_of):
    hints = np.zeros(labels.shape + (4,))
    for label in np.unique(labels[labels != 0]):
        hints[labels == label] = colour_of(label)
    return hints
