"""U-Nets (Ronneberger et al. 2015, adapted): an encoder-decoder with skip connections.

:class:`UNet` is the plain network, 2D or 3D, used by the self-supervised denoiser;
:class:`UNetSR` puts it on the low-resolution grid of a super-resolution model,
with a sub-pixel upsampler and a global bicubic skip, the usual partner of a
perceptual loss. Upsampling is resize-convolution, never transposed convolution.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .common import SubPixelUpsampler, bicubic_upsample


def _double_conv(conv, c_in, c_out):
    return nn.Sequential(
        conv(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True),
        conv(c_out, c_out, 3, padding=1), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net on ``(N, C, H, W)`` (``dims=2``) or ``(N, C, D, H, W)`` (``dims=3``).

    Pooling and upsampling act on H and W only, also in 3D: microscopy stacks are
    often thin and coarse along Z, so Z keeps its size and is seen through the 3x3x3
    convolutions. H and W must be multiples of ``2**depth`` (the pooling grid;
    :func:`~napari_superres.models.inference.on_grid` pads other sizes). With
    ``out_channels=None`` the network ends at its top decoder's ``features`` maps.
    """

    def __init__(self, in_channels, out_channels=None, features=32, depth=2, dims=2):
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.depth, self.dims = depth, dims
        widths = [features * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(
            [_double_conv(conv, in_channels, widths[0])]
            + [_double_conv(conv, widths[i], widths[i + 1]) for i in range(depth)]
        )
        self.ups = nn.ModuleList([conv(widths[i + 1], widths[i], 3, padding=1) for i in range(depth)])
        self.decoders = nn.ModuleList([_double_conv(conv, 2 * widths[i], widths[i]) for i in range(depth)])
        self.head = conv(widths[0], out_channels, 1) if out_channels else nn.Identity()

    def _pool(self, y):
        return F.avg_pool2d(y, 2) if self.dims == 2 else F.avg_pool3d(y, (1, 2, 2))

    def _upsample(self, y):
        if self.dims == 2:
            return F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        return F.interpolate(y, scale_factor=(1, 2, 2), mode="trilinear", align_corners=False)

    def forward(self, x):
        """The output of ``x``, same spatial shape."""
        y, skips = x, []
        for i, encoder in enumerate(self.encoders):
            y = encoder(y if i == 0 else self._pool(y))
            skips.append(y)
        for i in reversed(range(self.depth)):
            y = self.ups[i](self._upsample(y))
            y = self.decoders[i](torch.cat([y, skips[i]], dim=1))
        return self.head(y)


class UNetSR(nn.Module):
    """Super-resolution U-Net: :class:`UNet` features, sub-pixel upsampler, bicubic skip."""

    def __init__(self, scale, channels=1, features=32, depth=3):
        super().__init__()
        self.scale = scale
        self.body = UNet(channels, None, features, depth)
        self.upsample = SubPixelUpsampler(scale, features, channels)

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.upsample(self.body(x)) + bicubic_upsample(x, self.scale)
