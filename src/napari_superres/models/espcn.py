"""ESPCN, a super-resolution network that upsamples last, by sub-pixel convolution.

Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network" (CVPR 2016).

Three convolutions on the low-resolution grid, then a sub-pixel shuffle that
rearranges ``scale**2`` channels into a ``scale``-times larger image.
"""

import torch
from torch import nn


class Tanh(nn.Module):
    """tanh, in place when no gradient is recorded: at inference the activation needs no new tensor.

    A new tensor of a large tile costs more than the tanh itself (fresh pages from the system).
    """

    def forward(self, x):
        """``tanh(x)``, written over ``x`` (a convolution's fresh output here) at inference."""
        return torch.tanh(x) if torch.is_grad_enabled() else x.tanh_()


class ESPCN(nn.Module):
    """ESPCN: three convolutions on the low-resolution grid, then a sub-pixel shuffle by ``scale``."""

    def __init__(self, scale, channels=1, features=64, hidden=32):
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(
            nn.Conv2d(channels, features, 5, padding=2),
            Tanh(),
            nn.Conv2d(features, hidden, 3, padding=1),
            Tanh(),
            nn.Conv2d(hidden, channels * scale**2, 3, padding=1),
            nn.PixelShuffle(scale),
        )

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.body(x)
