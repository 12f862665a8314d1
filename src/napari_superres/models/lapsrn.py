"""LapSRN: Lai et al., "Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution" (CVPR 2017).

A pyramid of x2 levels: each level refines the features of the level below on
its grid, enlarges them x2 and predicts the residual (the Laplacian band) that
turns the x2 enlargement of the level's input image into the next image of the
pyramid. Trained with the Charbonnier loss on every level at once, each level
against the high-resolution image shrunk to its size, so one x8 network also
makes x2 and x4 images from its lower levels.

Where this differs from the paper: the features are enlarged by a sub-pixel
convolution and the image by MATLAB bicubic, instead of transposed convolutions
(the image's initialised bilinear and learned): the same x2 steps without the
transposed convolutions' checkerboard.
"""

import math

from torch import nn

from .common import bicubic_upsample, conv3x3


def _lrelu():
    return nn.LeakyReLU(0.2, inplace=True)


class PyramidLevel(nn.Module):
    """One x2 level: ``depth`` convolutions, a x2 sub-pixel enlargement, the residual image at the new size."""

    def __init__(self, channels, features, depth):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [conv3x3(features, features), _lrelu()]
        self.body = nn.Sequential(*layers, conv3x3(features, 4 * features), nn.PixelShuffle(2), _lrelu())
        self.residual = conv3x3(features, channels)

    def forward(self, features, image):
        """``(features, image)`` of the next level, twice the size."""
        features = self.body(features)
        return features, bicubic_upsample(image, 2) + self.residual(features)


class LapSRN(nn.Module):
    """LapSRN with ``levels`` x2 levels; ``scale`` (2, 4, ... up to ``2**levels``) picks the level returned.

    Every level's weights exist whatever ``scale`` is, so one weights file makes each
    scale of its pyramid.
    """

    def __init__(self, scale, channels=1, features=64, depth=10, levels=3):
        super().__init__()
        if scale < 2 or scale & (scale - 1) or scale > 2**levels:
            raise ValueError(f"a LapSRN of {levels} levels upscales x2 to x{2**levels} by powers of two, not x{scale}")
        self.scale = scale
        self.head = nn.Sequential(conv3x3(channels, features), _lrelu())
        self.levels = nn.ModuleList(PyramidLevel(channels, features, depth) for _ in range(levels))

    def supervised_outputs(self, x):
        """The images of the pyramid up to ``scale``: x2, x4, ... of ``x``, each supervised in training."""
        features, image, outputs = self.head(x), x, []
        for level in self.levels[: int(math.log2(self.scale))]:
            features, image = level(features, image)
            outputs.append(image)
        return outputs

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.supervised_outputs(x)[-1]
