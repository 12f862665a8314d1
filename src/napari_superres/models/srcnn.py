"""SRCNN: Dong et al., "Image Super-Resolution Using Deep Convolutional Networks" (ECCV 2014).

Three convolutions (9-5-5, 64 and 32 filters) on the bicubic-enlarged image.
"""

from torch import nn

from .common import bicubic_upsample


class SRCNN(nn.Module):
    """SRCNN: three convolutions on the bicubic enlargement by ``scale``."""

    def __init__(self, scale, channels=1, features=64, hidden=32):
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(
            nn.Conv2d(channels, features, 9, padding=4), nn.ReLU(inplace=True),
            nn.Conv2d(features, hidden, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 5, padding=2),
        )

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.body(bicubic_upsample(x, self.scale))
