"""FSRCNN: Dong, Loy, Tang, "Accelerating the Super-Resolution Convolutional Neural Network" (ECCV 2016).

Feature extraction, shrinking, ``m`` mapping layers, expanding, all on the
low-resolution grid with PReLU. The paper's final 9x9 transposed convolution is
replaced by a sub-pixel convolution, which cannot make checkerboard artefacts.
"""

from torch import nn

from .common import SubPixelUpsampler


class FSRCNN(nn.Module):
    """FSRCNN: feature extraction ``d``, shrinking to ``s``, ``m`` mapping layers, then upsampling by ``scale``."""

    def __init__(self, scale, channels=1, d=56, s=12, m=4):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.upsample = SubPixelUpsampler(scale, d, channels, single_stage=True)

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.upsample(self.body(x))
