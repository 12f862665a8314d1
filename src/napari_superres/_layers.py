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
    spatial = image_layer.data.shape[:-1] if image_layer.rgb else image_layer.data.shape
    plane = tuple(spatial[-2:])
    if isinstance(mask_layer, Labels):
        data = np.asarray(mask_layer.data)
        if data.shape not in (plane, tuple(spatial)):
            raise ValueError(f"the labels layer {mask_layer.name!r} has shape {data.shape}; "
                             f"it must match the image's plane {plane} or its shape {tuple(spatial)}")
        return data != 0
    if isinstance(mask_layer, Shapes):
        if not len(mask_layer.data):
            raise ValueError(f"the shapes layer {mask_layer.name!r} has no shapes; draw the region to fill")
        vertices = [_on_image_grid(v, mask_layer, image_layer) for v in mask_layer.data]
        on_image = Shapes(vertices, shape_type=list(mask_layer.shape_type))
        return np.asarray(on_image.to_masks(mask_shape=plane)).any(axis=0)
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
    plane = tuple((image_layer.data.shape[:-1] if image_layer.rgb else image_layer.data.shape)[-2:])
    hints = np.zeros(plane + (4,))
    if isinstance(hints_layer, Points):
        if not len(hints_layer.data):
            raise ValueError(f"the points layer {hints_layer.name!r} has no points; add points with colours")
        positions = np.round(_on_image_grid(hints_layer.data, hints_layer, image_layer)).astype(int)
        for (row, col), colour in zip(positions, hints_layer.face_color):
            if 0 <= row < plane[0] and 0 <= col < plane[1]:
                hints[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1] = colour
        return hints
    if isinstance(hints_layer, Labels):
        labels = np.asarray(hints_layer.data)
        if labels.shape != plane:
            raise ValueError(f"the labels layer {hints_layer.name!r} has shape {labels.shape}, not the image's "
                             f"plane {plane}")
        for label in np.unique(labels[labels != 0]):
            hints[labels == label] = hints_layer.get_color(label)
        return hints
    raise ValueError(f"{hints_layer.name!r} is neither a Points nor a Labels layer")
