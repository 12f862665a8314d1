"""MDSR: the multi-scale network of Lim et al., "Enhanced Deep Residual Networks..." (CVPRW 2017).

One body of residual blocks shared by every scale, with a small scale-specific
module before it (two residual blocks of 5x5 convolutions) and a scale-specific
sub-pixel upsampler after it. Trained on batches of one random scale each, so
that one weights file makes x2, x3 and x4.
"""

from torch import nn

from .common import ResidualBlock, SubPixelUpsampler, conv3x3


class MDSR(nn.Module):
    """MDSR for ``scales``; ``scale`` is the one ``forward`` makes unless told another."""

    def __init__(self, scale, channels=1, features=64, blocks=16, scales=(2, 3, 4), res_scale=1.0):
        super().__init__()
        if scale not in scales:
            raise ValueError(f"this MDSR has heads for scales {list(scales)}, not x{scale}")
        self.scale = scale
        self.head = conv3x3(channels, features)
        self.pre = nn.ModuleDict({str(s): nn.Sequential(*[ResidualBlock(features, kernel_size=5) for _ in range(2)])
                                  for s in scales})
        self.body = nn.Sequential(*[ResidualBlock(features, res_scale) for _ in range(blocks)],
                                  conv3x3(features, features))
        self.tails = nn.ModuleDict({str(s): nn.Sequential(SubPixelUpsampler(s, features), conv3x3(features, channels))
                                    for s in scales})

    def forward(self, x, scale=None):
        """The ``scale``-times (default: the model's scale) larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        key = str(scale or self.scale)
        features = self.pre[key](self.head(x))
        return self.tails[key](features + self.body(features))
