"""A small colorization network after Zhang, Isola, Efros (ECCV 2016), with user hints (Zhang et al. 2017).

Input: the lightness L and, optionally, user hints as extra channels (hint a, b and
a hint mask), at full resolution. Output: logits over the quantised ab bins at a
quarter of the resolution, as in the paper (colour varies slowly; the full-resolution
L carries the detail). The encoder reaches 1/8 resolution and widens its view with
dilated residual blocks; the paper's network is a 32 M-parameter VGG, this one
about 1 M, so that it trains on a CPU.
"""

import torch
from torch import nn
from torch.nn import functional as F


def _conv(c_in, c_out, stride=1, dilation=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, padding=dilation, dilation=dilation),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _DilatedBlock(nn.Module):
    def __init__(self, channels, dilation):
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels, dilation=dilation),
                                  nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
                                  nn.BatchNorm2d(channels))

    def forward(self, x):
        return F.relu(x + self.body(x))


class Colorizer(nn.Module):
    """``(N, 4, H, W)`` (L, hint a, hint b, hint mask) → ``(N, bins, H/4, W/4)`` logits.

    ``H`` and ``W`` must be multiples of 8.
    """

    def __init__(self, scale=1, channels=1, bins=261, features=32, blocks=6):
        super().__init__()
        if scale != 1 or channels != 1:
            raise ValueError("a colorizer maps gray (L) to colours at the same size: scale 1, 1 channel")
        f = features
        self.encoder = nn.Sequential(
            _conv(4, f), _conv(f, 2 * f, stride=2),           # 1/2
            _conv(2 * f, 2 * f), _conv(2 * f, 4 * f, stride=2),  # 1/4
            _conv(4 * f, 4 * f), _conv(4 * f, 8 * f, stride=2),  # 1/8
        )
        self.context = nn.Sequential(*[_DilatedBlock(8 * f, d) for d in (1, 2, 4, 8, 4, 2)[:blocks]])
        self.skip = nn.Conv2d(4 * f, 4 * f, 1)
        self.decoder = nn.Sequential(_conv(8 * f + 4 * f, 4 * f), _conv(4 * f, 4 * f), nn.Conv2d(4 * f, bins, 1))

    def forward(self, x):
        """Logits ``(N, bins, H/4, W/4)`` of ``x`` ``(N, 4, H, W)``."""
        quarter = self.encoder[:4](x)
        deep = self.context(self.encoder[4:](quarter))
        deep = F.interpolate(deep, size=quarter.shape[-2:], mode="bilinear", align_corners=False)
        return self.decoder(torch.cat([deep, self.skip(quarter)], dim=1))
