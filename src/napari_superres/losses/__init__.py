"""Training losses.

Pixel losses live in :mod:`napari_superres.losses.pixel`; the perceptual loss,
re-exported here, in :mod:`napari_superres.losses.perceptual`. Its feature
network is :mod:`napari_superres.losses.squeezenet`, whose Caffe weights
:mod:`napari_superres.losses.caffe` reads.
"""

from .perceptual import PerceptualLoss, perceptual_network
from .squeezenet import SqueezeNetFeatures, load_squeezenet_weights

__all__ = ["PerceptualLoss", "SqueezeNetFeatures", "load_squeezenet_weights", "perceptual_network"]
