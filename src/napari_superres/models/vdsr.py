"""VDSR: Kim, Lee, Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional Networks" (CVPR 2016).

20 3x3 convolutions on the bicubic-enlarged image, learning only the residual
(global skip connection).
"""

from torch import nn

from .common import bicubic_upsample


class VDSR(nn.Module):
    """VDSR: a deep stack of 3x3 convolutions adding a residual to the bicubic enlargement."""

    def __init__(self, scale, channels=1, features=64, depth=20):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        up = bicubic_upsample(x, self.scale)
        return up + self.body(up)
