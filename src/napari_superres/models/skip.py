"""The "skip" encoder-decoder of Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018).

An hourglass: each level halves the resolution with a strided convolution, the
deeper levels come back up by bilinear upsampling, and a thin 1x1 branch carries
each level's features across to the decoder. Batch norm, LeakyReLU, reflection
padding, a sigmoid at the end so that outputs lie in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(c_in, c_out, kernel, stride=1):
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect")


def _conv_bn_act(c_in, c_out, kernel, stride=1):
    return [_conv(c_in, c_out, kernel, stride), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]


class _Level(nn.Module):
    """One level of the hourglass; ``inner`` is the next level down (or None at the bottom)."""

    def __init__(self, c_in, down, up, skip, inner, inner_out):
        super().__init__()
        self.skip = nn.Sequential(*_conv_bn_act(c_in, skip, 1)) if skip else None
        self.down = nn.Sequential(*_conv_bn_act(c_in, down, 3, stride=2), *_conv_bn_act(down, down, 3))
        self.inner = inner
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        merged = skip + (inner_out if inner is not None else down)
        self.merge = nn.Sequential(nn.BatchNorm2d(merged), *_conv_bn_act(merged, up, 3), *_conv_bn_act(up, up, 1))

    def forward(self, x):
        deep = self.down(x)
        if self.inner is not None:
            deep = self.inner(deep)
        deep = self.upsample(deep)
        if self.skip is not None:
            deep = torch.cat([self.skip(x), deep], dim=1)
        return self.merge(deep)


class SkipNet(nn.Module):
    """Deep Image Prior's hourglass; the paper's default is ``SkipNet(32, 3)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the noise input ``z`` and of the image.
    down, up, skip : sequence of int
        Channels per level, top level first: encoder, decoder and skip branch
        (0 = no skip at that level). Their length is the depth; inputs must be a
        multiple of ``2 ** depth`` a side.
    """

    def __init__(self, in_channels=32, out_channels=3, down=(128,) * 5, up=(128,) * 5, skip=(4,) * 5):
        super().__init__()
        if not len(down) == len(up) == len(skip):
            raise ValueError("down, up and skip need one entry per level")
        inner, inner_out = None, None
        for level in reversed(range(len(down))):
            c_in = in_channels if level == 0 else down[level - 1]
            inner = _Level(c_in, down[level], up[level], skip[level], inner, inner_out)
            inner_out = up[level]
        self.body = inner
        self.head = nn.Sequential(nn.Conv2d(up[0], out_channels, 1), nn.Sigmoid())
        self.depth = len(down)
        self.multiple = 2**self.depth  # input sides must be multiples of this

    def forward(self, z):
        return self.head(self.body(z))
