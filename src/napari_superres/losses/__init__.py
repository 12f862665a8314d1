"""Training losses.

Pixel losses live in :mod:`napari_superres.losses.pixel`; the SqueezeNet
perceptual loss, re-exported here, in :mod:`napari_superres.losses.perceptual`.
"""

from .perceptual import (
    PerceptualLoss,
    SqueezeNetFeatures,
    load_squeezenet_weights,
    perceptual_network,
)

__all__ = ["PerceptualLoss", "SqueezeNetFeatures", "load_squeezenet_weights", "perceptual_network"]
