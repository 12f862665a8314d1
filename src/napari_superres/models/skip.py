"""The "skip" encoder-decoder of Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018).

An hourglass: each level halves the resolution with a strided convolution, the
deeper levels come back up by bilinear upsampling, and a thin 1x1 branch carries
each level's features across to the decoder. Batch norm, LeakyReLU, reflection
padding, a sigmoid at the end so that outputs lie in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(c_in, c_out, kernel, stride=1, dims=2):
    conv = nn.Conv2d if dims == 2 else nn.Conv3d
    stride = stride if dims == 2 else (1, stride, stride)  # volumes keep their depth (Z)
    return conv(c_in, c_out, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect")


def _batch_norm(channels, dims):
    return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm3d(channels)


def _conv_bn_act(c_in, c_out, kernel, stride=1, dims=2):
    return [_conv(c_in, c_out, kernel, stride, dims), _batch_norm(c_out, dims), nn.LeakyReLU(0.2, inplace=True)]


class _Level(nn.Module):
    """One level of the hourglass; ``inner`` is the next level down (or None at the bottom)."""

    def __init__(self, c_in, down, up, skip, inner, inner_out, dims=2):
        super().__init__()
        self.skip = nn.Sequential(*_conv_bn_act(c_in, skip, 1, dims=dims)) if skip else None
        self.down = nn.Sequential(*_conv_bn_act(c_in, down, 3, stride=2, dims=dims),
                                  *_conv_bn_act(down, down, 3, dims=dims))
        self.inner = inner
        self.upsample = (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False) if dims == 2 else
                         nn.Upsample(scale_factor=(1, 2, 2), mode="trilinear", align_corners=False))
        merged = skip + (inner_out if inner is not None else down)
        self.merge = nn.Sequential(_batch_norm(merged, dims), *_conv_bn_act(merged, up, 3, dims=dims),
                                   *_conv_bn_act(up, up, 1, dims=dims))

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
    dims : {2, 3}
        3: volumes ``(N, C, Z, H, W)`` with 3x3x3 convolutions; the levels halve H
        and W only (microscopy stacks are often thin along Z).
    """

    def __init__(self, in_channels=32, out_channels=3, down=(128,) * 5, up=(128,) * 5, skip=(4,) * 5, dims=2):
        super().__init__()
        if not len(down) == len(up) == len(skip):
            raise ValueError("down, up and skip need one entry per level")
        inner, inner_out = None, None
        for level in reversed(range(len(down))):
            c_in = in_channels if level == 0 else down[level - 1]
            inner = _Level(c_in, down[level], up[level], skip[level], inner, inner_out, dims)
            inner_out = up[level]
        self.body = inner
        self.head = nn.Sequential((nn.Conv2d if dims == 2 else nn.Conv3d)(up[0], out_channels, 1), nn.Sigmoid())
        self.depth = len(down)
        self.multiple = 2**self.depth  # input sides must be multiples of this

    def forward(self, z):
        """The output ``(N, out_channels, ...)`` of the hourglass for the input code ``z``."""
        return self.head(self.body(z))
