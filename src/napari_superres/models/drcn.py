"""DRCN: Kim, Lee, Lee, "Deeply-Recursive Convolutional Network for Image Super-Resolution" (CVPR 2016).

On the bicubic enlargement: an embedding network, then one convolution applied
``recursions`` times with the same weights, each recursion's features turned into
an image by one shared reconstruction network and added to the enlargement (the
skip). The output is a learned weighted sum of those predictions. Training
supervises every recursion's prediction as well as the sum (recursive
supervision), which keeps the gradients of the deep recursion alive.
Depth costs no parameters: only one ensemble weight per recursion.
"""

import torch
from torch import nn

from .common import bicubic_upsample, conv3x3


class DRCN(nn.Module):
    """DRCN: one recursive convolution of shared weights between an embedding and a reconstruction network."""

    def __init__(self, scale, channels=1, features=256, recursions=16):
        super().__init__()
        self.scale = scale
        self.embed = nn.Sequential(conv3x3(channels, features), nn.ReLU(inplace=True),
                                   conv3x3(features, features), nn.ReLU(inplace=True))
        self.recursive = nn.Sequential(conv3x3(features, features), nn.ReLU(inplace=True))
        self.reconstruct = nn.Sequential(conv3x3(features, features), nn.ReLU(inplace=True),
                                         conv3x3(features, channels))
        self.ensemble = nn.Parameter(torch.full((recursions,), 1 / recursions))

    def supervised_outputs(self, x):
        """Each recursion's prediction, then their weighted sum (the output), all supervised in training."""
        enlarged = bicubic_upsample(x, self.scale)
        hidden, predictions = self.embed(enlarged), []
        for _ in range(len(self.ensemble)):
            hidden = self.recursive(hidden)
            predictions.append(enlarged + self.reconstruct(hidden))
        return [*predictions, torch.einsum("d,dnchw->nchw", self.ensemble, torch.stack(predictions))]

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.supervised_outputs(x)[-1]
