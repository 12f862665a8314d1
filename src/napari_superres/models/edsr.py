"""EDSR: Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution" (CVPRW 2017).

The baseline: 16 residual blocks of 64 channels without batch norm, residual
scaling, a long skip over the body, sub-pixel upsampling at the end.
"""

from torch import nn

from .common import ResidualBlock, SubPixelUpsampler


class EDSR(nn.Module):
    """EDSR: residual blocks without batch norm, then a sub-pixel upsampler by ``scale``."""

    def __init__(self, scale, channels=1, features=64, blocks=16, res_scale=1.0):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.body = nn.Sequential(
            *[ResidualBlock(features, res_scale) for _ in range(blocks)],
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.tail = nn.Sequential(SubPixelUpsampler(scale, features), nn.Conv2d(features, channels, 3, padding=1))

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        features = self.head(x)
        return self.tail(features + self.body(features))
