"""napari layers to the core's numpy inputs (no Qt here)."""

from __future__ import annotations

import numpy as np
from napari.layers import Labels, Shapes


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
        s_shapes, t_shapes = np.asarray(mask_layer.scale[-2:]), np.asarray(mask_layer.translate[-2:])
        s_image, t_image = np.asarray(image_layer.scale[-2:]), np.asarray(image_layer.translate[-2:])
        vertices = [((v[:, -2:] * s_shapes + t_shapes) - t_image) / s_image for v in mask_layer.data]
        on_image = Shapes(vertices, shape_type=list(mask_layer.shape_type))
        return np.asarray(on_image.to_masks(mask_shape=plane)).any(axis=0)
    raise ValueError(f"{mask_layer.name!r} is neither a Labels nor a Shapes layer")
