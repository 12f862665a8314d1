"""A U-Net for super-resolution (Ronneberger et al. 2015, adapted): an encoder-decoder
on the low-resolution grid with skip connections, resize-convolution on the way
up, a sub-pixel upsampler and a global bicubic skip. The usual partner of a
perceptual loss.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .common import SubPixelUpsampler, bicubic_upsample


def _double_conv(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(inplace=True),
    )


class UNetSR(nn.Module):
    def __init__(self, scale, channels=1, features=32, depth=3):
        super().__init__()
        self.scale, self.depth = scale, depth
        widths = [features * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(
            [_double_conv(channels, widths[0])] + [_double_conv(widths[i], widths[i + 1]) for i in range(depth)]
        )
        self.ups = nn.ModuleList([nn.Conv2d(widths[i + 1], widths[i], 3, padding=1) for i in range(depth)])
        self.decoders = nn.ModuleList([_double_conv(2 * widths[i], widths[i]) for i in range(depth)])
        self.upsample = SubPixelUpsampler(scale, widths[0], channels)
        # Context grows with depth; a multiple of 2**depth keeps tiles on the pooling grid.
        self.halo = 8 * 2**depth

    def forward(self, x):
        h, w = x.shape[-2:]
        multiple = 2**self.depth
        padded = F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")
        skips, y = [], padded
        for i, encoder in enumerate(self.encoders):
            y = encoder(y if i == 0 else F.avg_pool2d(y, 2))
            skips.append(y)
        for i in reversed(range(self.depth)):
            y = self.ups[i](F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))
            y = self.decoders[i](torch.cat([y, skips[i]], dim=1))
        out = self.upsample(y)[..., : h * self.scale, : w * self.scale]
        return out + bicubic_upsample(x, self.scale)
