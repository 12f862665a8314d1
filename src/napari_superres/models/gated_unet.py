"""A U-Net of gated convolutions for free-form inpainting.

After Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019.

Every convolution computes features and, from the same input, a gate in [0, 1]
that says per pixel and channel how much of those features to let through, so the
network learns where the hole is and how far in the known pixels should reach
(the fixed mask rule of partial convolutions, learnt). Input: the image with its
holes zeroed and the mask as an extra channel; output: the whole image, of which
the caller keeps only the hole.
"""

import torch
from torch import nn
from torch.nn import functional as F


class GatedConv(nn.Module):
    """A 3x3 convolution whose ELU features are multiplied by a learnt sigmoid gate."""

    def __init__(self, c_in, c_out, stride=1, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, 2 * c_out, 3, stride, padding=dilation, dilation=dilation)

    def forward(self, x):
        """The gated features of ``x``."""
        features, gate = self.conv(x).chunk(2, dim=1)
        return F.elu(features) * torch.sigmoid(gate)


class GatedUNet(nn.Module):
    """``(N, C + 1, H, W)`` (holes zeroed, mask) → ``(N, C, H, W)``; sides multiples of ``2**depth``."""

    def __init__(self, scale=1, channels=3, features=32, depth=4):
        super().__init__()
        if scale != 1:
            raise ValueError("an inpainting network keeps the image's size: scale 1")
        widths = [min(features * 2**i, 8 * features) for i in range(depth + 1)]
        self.stem = GatedConv(channels + 1, widths[0])
        self.downs = nn.ModuleList([GatedConv(widths[i], widths[i + 1], stride=2) for i in range(depth)])
        # Dilated gated convolutions at the bottom reach across large holes.
        self.middle = nn.Sequential(*[GatedConv(widths[-1], widths[-1], dilation=d) for d in (2, 4, 8)])
        self.ups = nn.ModuleList([GatedConv(widths[i + 1] + widths[i], widths[i]) for i in range(depth)])
        self.head = nn.Conv2d(widths[0], channels, 3, padding=1)

    def forward(self, x):
        """The restored image ``(N, C, H, W)`` of ``x`` ``(N, C + 1, H, W)``."""
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = self.middle(skips.pop())
        for up in reversed(self.ups):
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="nearest")
            y = up(torch.cat([y, skip], dim=1))
        return torch.sigmoid(self.head(y))
